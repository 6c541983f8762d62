"""RSMF files that carry their evidence, and proving a handed-over RSMF file.

An RSMF file exported from a sealed thread carries the seal that covered it as custom
properties of its conversation (`seal.seal`, `seal.sealSha256`, `seal.rootHash`, ...:
the same evidence a JSON transcript carries). `check_rsmf` proves the file against the
archive: the seal is there and verifies, every message event is exactly what the
sealed versions of that message make (body, every edit, deletion), and no sealed
message composed within the file's dates was left out.
"""

from __future__ import annotations

import binascii
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from archiver.core.errors import DamagedArchive, InvalidEvent, InvalidQuery, NotFound
from archiver.core.fields import parse_timestamp
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, content_sha256
from archiver.core.seals import Seal
from archiver.core.signatures import PublicKey
from archiver.retrieval.evidence import Proof, proven_seal
from archiver.retrieval.rsmf.file import headers, read_manifest
from archiver.retrieval.rsmf.manifest import message_events
from archiver.retrieval.transcript import document_entry
from archiver.storage.ports import Storage

PREFIX = "seal."


def rsmf_evidence(evidence: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """A seal's evidence as RSMF custom name/value pairs (values are text in RSMF)."""
    if evidence is None:
        return ()
    return tuple((f"{PREFIX}{name}", str(value)) for name, value in evidence.items())


async def check_rsmf(storage: Storage, content: bytes, keys: Mapping[str, PublicKey]) -> Proof:
    """Prove an RSMF file against the sealed archive (see the module's rules)."""
    try:
        manifest = read_manifest(content)
        dates = headers(content)
        [talk] = manifest["conversations"]
    except (DamagedArchive, zipfile.BadZipFile, KeyError, ValueError, binascii.Error) as exc:
        raise InvalidQuery(f"not an RSMF file of this archiver ({exc})") from None
    proof = Proof()
    proof.checked["threads"] += 1
    thread_id = str(talk.get("id"))
    evidence: dict[str, Any] | None = {
        item["name"][len(PREFIX) :]: item["value"]
        for item in talk.get("custom") or []
        if isinstance(item, dict) and str(item.get("name", "")).startswith(PREFIX)
    } or None
    if evidence is not None and str(evidence.get("treeSize", "")).isdigit():
        evidence["treeSize"] = int(evidence["treeSize"])
    seal = await proven_seal(storage, {"threadId": thread_id, "seal": evidence}, keys, proof)
    if seal is None:
        return proof
    shown = set()
    for event in manifest.get("events") or []:
        if isinstance(event, dict) and event.get("type") == "message":
            proof.checked["entries"] += 1
            shown.add(str(event.get("id")))
            await _message(storage, seal, thread_id, event, proof)
    await _omitted(storage, seal, thread_id, shown, dates, proof)
    return proof


async def _message(
    storage: Storage, seal: Seal, thread_id: str, event: dict[str, Any], proof: Proof
) -> None:
    what = f"message {event.get('id')} of {thread_id}"
    names = _versions(seal, thread_id, str(event.get("id")))
    if not names:
        proof.problems.append(f"{what}: not a message {seal.name} covers")
        return
    covered = {blob.name: blob.sha256 for blob in seal.blobs}
    entries = []
    for name in names:
        try:
            content = await storage.blobs.read(name)
        except NotFound:
            proof.problems.append(f"{what}: its blob {name} is gone from the archive")
            return
        if content_sha256(content) != covered[name]:
            proof.problems.append(f"{what}: its blob {name} no longer hashes as sealed")
            return
        entries.append(document_entry(json.loads(content)))
    [expected] = message_events(thread_id, entries)
    if json.loads(json.dumps(expected.document)) != event:
        proof.problems.append(f"{what}: the file says otherwise than its sealed versions")


async def _omitted(
    storage: Storage,
    seal: Seal,
    thread_id: str,
    shown: set[str],
    dates: Mapping[str, str],
    proof: Proof,
) -> None:
    """Sealed messages composed within the file's dates that it leaves out."""
    try:
        begin = parse_timestamp(dates.get("X-RSMF-BeginDate"))
        end = parse_timestamp(dates.get("X-RSMF-EndDate"))
    except ValueError:
        proof.problems.append(f"{thread_id}: the file names no begin and end dates")
        return
    messages = {
        name.split("/")[2] for name in _versions(seal, thread_id, None)
    }  # the message keys the seal covers
    for message_key in sorted(messages):
        names = _versions(seal, thread_id, None, message_key=message_key)
        first = json.loads(await storage.blobs.read(names[0]))
        message_id = str(first.get("messageId"))
        composed = first.get("composeTime")
        if message_id in shown or composed is None:
            continue
        if begin <= parse_timestamp(composed) <= end:
            proof.problems.append(
                f"message {message_id} of {thread_id}: sealed, within the "
                "file's dates, and left out"
            )


def _versions(
    seal: Seal, thread_id: str, message_id: str | None, *, message_key: str | None = None
) -> list[str]:
    """The sealed version blobs of one message (or of every message), in name order."""
    try:
        thread_key = encode_key(thread_id, field="threadId")
        if message_id is not None:
            message_key = encode_key(message_id, field="messageId")
    except InvalidEvent:
        return []
    prefix = f"{MESSAGES_PREFIX}{thread_key}/" + (f"{message_key}/" if message_key else "")
    return sorted(blob.name for blob in seal.blobs if blob.name.startswith(prefix))
