"""Transcripts that carry their evidence, and proving a handed-over transcript.

A JSON transcript exported from the archive carries, in each thread section, the seal
that covered the thread when it was exported (its name and SHA-256, Merkle root,
signature and key id). `check_transcript` proves such a file against the archive: the
seal is there, unchanged, signed by a trusted key, and a seal of that section's thread;
the section's topic, creator, creation and deletion times, participants and former
participants are what the thread changes that seal covers make (sealedthread); every
entry is a version that seal covers, whose blob still hashes as sealed and says what
the entry says (of a transcript of each message's latest version: its newest sealed
version); and no sealed message of the transcript's window was left out.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.core.errors import DamagedArchive, InvalidEvent, InvalidQuery, NotFound
from archiver.core.evidence.seals import Seal, parse_seal
from archiver.core.evidence.signatures import PublicKey
from archiver.core.fields import parse_timestamp
from archiver.core.inventory import MessageBlob, entry
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, content_sha256
from archiver.core.versions import Stamp
from archiver.retrieval.readback import READ_AHEAD
from archiver.retrieval.sealedthread import (
    covered,
    document_of,
    read_sealed,
    sealed_thread,
    section_problems,
)
from archiver.retrieval.transcript import FORMAT, document_entry
from archiver.sealing.holdings import newest_seal, seal_names
from archiver.sealing.judgement import chain_findings
from archiver.storage.ports import Storage

HEADING_FIELDS = ("format", "exportedAt", "source", "versions", "since", "until", "threads")


async def seal_evidence(storage: Storage, thread_id: str) -> dict[str, Any] | None:
    """What a transcript carries of the thread's newest seal (None: never sealed)."""
    seal = await newest_seal(storage, encode_key(thread_id, field="threadId"))
    return None if seal is None else seal.evidence()


@dataclass
class Proof:
    """What checking a transcript found wrong (nothing: it is proved), and what it saw."""

    problems: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)


async def check_transcript(
    storage: Storage, content: bytes, keys: Mapping[str, PublicKey]
) -> Proof:
    """Prove a JSON transcript against the sealed archive (see the module's rules)."""
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidQuery(f"not a JSON transcript of this archiver (format {FORMAT})")
    proof = Proof()
    proof.problems += [
        f"the transcript's {key!r} is not a field of a transcript"
        for key in document
        if key not in HEADING_FIELDS
    ]
    window = (_moment(document.get("since")), _moment(document.get("until")))
    every = document.get("versions") == "all"
    threads = document.get("threads")
    if not isinstance(threads, list) or not threads:
        proof.problems.append("the transcript holds no thread to prove")
        threads = []
    for thread in threads:
        proof.checked["threads"] += 1
        if not isinstance(thread, dict):
            proof.problems.append("a thread of the transcript is not an object")
            continue
        seal = await proven_seal(storage, thread, keys, proof)
        if seal is not None:
            sealed = await sealed_thread(storage, seal, proof.problems)
            proof.problems += section_problems(thread, sealed)
            await _entries(storage, thread, seal, every=every, window=window, proof=proof)
    return proof


async def proven_seal(
    storage: Storage, thread: dict[str, Any], keys: Mapping[str, PublicKey], proof: Proof
) -> Seal | None:
    """The seal a thread section (`threadId`, `seal`: the evidence) names, if it is the
    one in the archive, a seal of that thread, and verifies; else None, with the problem
    in `proof`."""
    thread_id = thread.get("threadId")
    evidence = thread.get("seal")
    if not isinstance(evidence, dict) or not isinstance(evidence.get("seal"), str):
        proof.problems.append(f"thread {thread_id}: the transcript carries no seal")
        return None
    name = evidence["seal"]
    try:
        content = await storage.blobs.read(name)
        seal = parse_seal(content, name=name)
    except (NotFound, DamagedArchive) as exc:
        proof.problems.append(f"thread {thread_id}: its seal {name} is not in the archive ({exc})")
        return None
    if seal.thread_id != thread_id:
        proof.problems.append(
            f"thread {thread_id}: {name} is a seal of thread {seal.thread_id}, not of this one"
        )
        return None
    if content_sha256(content) != evidence.get("sealSha256") or seal.evidence() != evidence:
        proof.problems.append(f"thread {thread_id}: {name} in the archive is not the seal carried")
        return None
    key = keys.get(seal.key_id)
    if key is None or not key.verifies(seal.signed_bytes(), seal.signature, seal.algorithm):
        proof.problems.append(f"thread {thread_id}: {name} is not signed by a trusted key")
        return None
    if unsound := await _chain_to(storage, seal, keys):
        proof.problems.append(
            f"thread {thread_id}: the chain of seals up to {name} is not sound: {unsound}"
        )
        return None
    proof.checked["seals"] += 1
    return seal


async def _chain_to(storage: Storage, seal: Seal, keys: Mapping[str, PublicKey]) -> str | None:
    """Why the chain that ends at `seal` does not hold (every seal before it trusted, each
    extending the one before), or None: a trusted seal laid over a forged one proves
    nothing of what the forged one changed."""
    names = [n for n in await seal_names(storage, seal.thread_key) if n <= seal.name]
    contents = [await storage.blobs.read(n) for n in names]
    found = chain_findings(seal.thread_key, list(zip(names, contents, strict=True)), keys)
    return None if not found else f"{found[0].what}: {found[0].subject} ({found[0].detail})"


async def _entries(
    storage: Storage,
    thread: dict[str, Any],
    seal: Seal,
    *,
    every: bool,
    window: tuple[Any, Any],
    proof: Proof,
) -> None:
    sealed = covered(seal)
    newest = _newest(seal)
    wanted = set(sealed) if every else set(newest.values())
    shown: set[str] = set()
    items = thread.get("messages")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        proof.problems.append(f"thread {thread.get('threadId')}: its messages are not entries")
        items = []
    for start in range(0, len(items), READ_AHEAD):  # read a few blobs at a time, in order
        batch = items[start : start + READ_AHEAD]
        said: list[list[str]] = [[] for _ in batch]
        reads = []
        for item, found in zip(batch, said, strict=True):
            proof.checked["entries"] += 1
            name = _shown(item, thread, seal, sealed, newest, wanted, shown, found)
            if name is not None:
                reads.append(_read(storage, item, name, sealed[name], _what(item, thread), found))
        await asyncio.gather(*reads)
        proof.problems += [problem for found in said for problem in found]
    for name in sorted(wanted - shown):
        if isinstance(entry(name), MessageBlob) and await _in_window(
            storage, sealed, newest[name.rsplit("/", 1)[0]], window, proof
        ):
            proof.problems.append(f"{name}: sealed, in the transcript's window, and left out")


def _shown(
    item: dict[str, Any],
    thread: dict[str, Any],
    seal: Seal,
    sealed: Mapping[str, str],
    newest: Mapping[str, str],
    wanted: set[str],
    shown: set[str],
    found: list[str],
) -> str | None:
    """The sealed blob an entry shows, noted in `shown` (None, with the problem in `found`,
    when it shows none, or one shown before)."""
    name = _blob_name(item)
    what = _what(item, thread)
    if name is None or name not in sealed:
        found.append(f"{what}: not a version {seal.name} covers")
        return None
    if name in shown:
        found.append(f"{what}: shown twice")
        return None
    shown.add(name)
    if name not in wanted:
        folder = name.rsplit("/", 1)[0]
        found.append(f"{what}: not its message's newest sealed version, {newest[folder]}")
        shown.add(newest[folder])  # shown, if wrongly: said once, not twice
    return name


async def _read(
    storage: Storage, item: dict[str, Any], name: str, sha256: str, what: str, found: list[str]
) -> None:
    """Whether the entry says what its sealed blob says (the problem in `found`)."""
    content = await read_sealed(storage, name, sha256, what=what, problems=found)
    if content is not None and document_entry(document_of(content)) != item:
        found.append(f"{what}: the transcript says otherwise than the sealed blob")


def _what(item: dict[str, Any], thread: dict[str, Any]) -> str:
    return f"message {item.get('messageId')} v{item.get('version')} of {thread.get('threadId')}"


def _newest(seal: Seal) -> dict[str, str]:
    """Each sealed message's newest version (core.versions' order), by the message's folder."""
    newest: dict[str, MessageBlob] = {}
    for blob in seal.blobs:
        found = entry(blob.name)
        if not isinstance(found, MessageBlob) or found.thread_id != seal.thread_id:
            continue
        folder = found.name.rsplit("/", 1)[0]
        known = newest.get(folder)
        if known is None or _stamp(found) > _stamp(known):
            newest[folder] = found
    return {folder: found.name for folder, found in newest.items()}


def _stamp(blob: MessageBlob) -> Stamp:
    return Stamp.of(blob.version, blob.action)


async def _in_window(
    storage: Storage, sealed: Mapping[str, str], name: str, window: tuple[Any, Any], proof: Proof
) -> bool:
    """True when the message whose newest version is `name` was composed in `window`,
    as the export decides (by the message's newest version)."""
    since, until = window
    if since is None and until is None:
        return True
    content = await read_sealed(storage, name, sealed[name], what=name, problems=proof.problems)
    composed = _moment(document_of(content).get("composeTime"))
    return (
        composed is not None
        and (since is None or composed >= since)
        and (until is None or composed < until)
    )


def _blob_name(item: Any) -> str | None:
    try:
        thread_key = encode_key(item["threadId"], field="threadId")
        message_key = encode_key(item["messageId"], field="messageId")
        version, action = item["version"], item["action"]
        name = f"{MESSAGES_PREFIX}{thread_key}/{message_key}/{version:020d}-{action}.json"
    except (KeyError, TypeError, ValueError, InvalidEvent):
        return None
    return name


def _moment(value: Any) -> Any:
    try:
        return None if value is None else parse_timestamp(value)
    except ValueError:
        return None
