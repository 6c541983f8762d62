"""`archiver disclose`: one message version handed over, provable without any key
(archiver.core.erasure.disclosures), and recorded in the audit trail before it goes out.

The version's stored bytes are read once: an envelope is opened with the archive's keys
for its document and salt, a plain version is its own document. The citation is the
thread's newest seal's, which covers every blob the thread holds; a version no seal
covers yet is refused (NotSealed), since nothing in the file could prove it. A version
whose key was destroyed is refused as Erased. Every refusal is recorded too, with its
reason; no record ever holds the text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from archiver.core.erasure.disclosures import disclosure_of
from archiver.core.errors import Erased, InvalidQuery, NotSealed, UnknownThread
from archiver.core.evidence.seals import Covered, parse_seal
from archiver.core.governance.principals import Principal
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import MESSAGES_PREFIX, content_sha256
from archiver.core.search.citations import citation_of
from archiver.governance.trail import AuditTrail
from archiver.retrieval.readback import key_of, thread_of
from archiver.sealing.holdings import newest_seal_blob
from archiver.storage.ports import Storage
from archiver.storage.versions import is_envelope

ACTION = "disclose"


async def disclose(
    storage: Storage,
    trail: AuditTrail,
    principal: Principal,
    *,
    thread_id: str,
    message_id: str,
    version: int,
    file: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """The disclosure of `version` of the message; recorded (with `file`, where it goes)
    before it is returned. UnknownThread when the archive holds no such version."""
    target = {"threadId": thread_id, "messageId": message_id, "version": str(version), "file": file}
    prefix = f"{MESSAGES_PREFIX}{key_of(thread_id)}/{key_of(message_id, 'messageId')}/"
    try:
        blob = await _version(storage, prefix, thread_id, message_id, version)
        disclosure = await _disclosure(storage, blob, clock())
    except (UnknownThread, Erased, NotSealed) as exc:
        why = {"reason": str(exc)}
        await trail.record(ACTION, principal, outcome="refused", target=target, details=why)
        raise
    citation = disclosure["citation"]
    details: dict[str, Any] = {
        "blob": blob.name,
        "sha256": citation["sha256"],
        "seal": citation["seal"]["name"],
        "envelope": disclosure["envelope"] is not None,
    }
    await trail.record(ACTION, principal, outcome="allowed", target=target, details=details)
    return disclosure


async def _version(
    storage: Storage, prefix: str, thread_id: str, message_id: str, version: int
) -> MessageBlob:
    blobs = [
        found
        async for name in storage.blobs.names(prefix)
        if isinstance(found := entry(name), MessageBlob)
    ]
    if not blobs:
        await thread_of(storage, thread_id)  # UnknownThread when it holds nothing of it
        raise UnknownThread(f"the archive holds no message {message_id!r} in {thread_id!r}")
    chosen = [blob for blob in blobs if blob.version == version]
    if not chosen:
        held = ", ".join(str(blob.version) for blob in blobs)
        raise UnknownThread(
            f"message {message_id!r} in {thread_id!r} has no version {version} (it has {held})"
        )
    if len(chosen) > 1:  # two actions at one version: ACS never sends it
        names = ", ".join(blob.name for blob in chosen)
        raise InvalidQuery(f"version {version} of message {message_id!r} is two blobs: {names}")
    return chosen[0]


async def _disclosure(storage: Storage, blob: MessageBlob, at: datetime) -> dict[str, Any]:
    stored = await storage.blobs.read(blob.name)
    try:
        opened = (
            await storage.versions.open(stored, name=blob.name) if is_envelope(stored) else None
        )
    except Erased as exc:
        raise Erased(
            f"version {blob.version} of message {blob.message_id!r} was erased ({exc}): "
            "nothing of its text can be disclosed; its envelope and seals remain"
        ) from None
    covered = Covered(name=blob.name, size=len(stored), sha256=content_sha256(stored))
    newest = await newest_seal_blob(storage, key_of(blob.thread_id))
    seal = None if newest is None else parse_seal(newest[1], name=newest[0])
    if newest is None or seal is None or covered not in seal.blobs:
        raise NotSealed(
            f"no seal covers version {blob.version} of message {blob.message_id!r} yet, so "
            f"nothing could prove it: run `archiver seal --thread {blob.thread_id}` first"
        )
    citation = citation_of(covered, blob.thread_id, seal, seal_sha256=content_sha256(newest[1]))
    return disclosure_of(
        blob, stored=stored, opened=opened, citation=citation, seal=newest[1], at=at
    )
