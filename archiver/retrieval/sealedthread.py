"""A thread as one seal covers it: what its sealed blobs say of the thread itself.

A transcript's thread section (topic, creator, creation and deletion, participants and
former participants) and an RSMF file's conversation are written from the thread row,
and the row is the join (core.threads) of the facts of every thread and participant
event, each archived as a blob under `threads/{threadKey}/`, and of what ACS said of
the thread whenever it was archived from ACS, kept in that run's JSON transcript under
`transcripts/{threadKey}/`. A seal covers those blobs, so the row a seal vouches for is
worked out here from the blobs it covers: each change's event classified again exactly
as it was archived, each ACS transcript's thread section read as ACS's facts (at
version 0, which every event outranks). A covered blob that is gone or no longer hashes
as sealed is a problem, and says nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archiver.core.envelopes import RawEvent
from archiver.core.errors import NotFound
from archiver.core.events import classify
from archiver.core.evidence.seals import Seal
from archiver.core.fields import parse_timestamp
from archiver.core.inventory import ThreadBlob, entry
from archiver.core.layout import TRANSCRIPTS_PREFIX, content_sha256
from archiver.core.records import ThreadEvent
from archiver.core.threads import Member, ThreadRow, join, patches
from archiver.retrieval.readback import READ_AHEAD
from archiver.retrieval.transcript import FORMAT, THREAD_FIELDS, thread_section
from archiver.storage.ports import Storage
from archiver.storage.versions import is_envelope

LISTED = "acs"  # the `source` of a transcript written from ACS's listing


@dataclass(frozen=True, kw_only=True)
class SealedThread:
    """What a seal's blobs say of its thread: its changes in version order, and the row."""

    seal: Seal
    changes: tuple[dict[str, Any], ...]  # thread change documents (layout.thread_document)
    row: ThreadRow


def covered(seal: Seal) -> dict[str, str]:
    """The SHA-256 of every blob `seal` covers, by name."""
    return {blob.name: blob.sha256 for blob in seal.blobs}


async def read_sealed(
    storage: Storage, name: str, sha256: str | None, *, what: str, problems: list[str]
) -> bytes | None:
    """The blob `name`, sealed as `sha256`; None, with the problem, when it is gone or no
    longer hashes as sealed."""
    try:
        content: bytes = await storage.blobs.read(name)
    except NotFound:
        problems.append(f"{what}: its blob {name} is gone from the archive")
        return None
    if content_sha256(content) != sha256:
        problems.append(f"{what}: its blob {name} no longer hashes as sealed")
        return None
    if is_envelope(content):  # the seal covers the envelope; the proof, what it holds
        return await storage.versions.plain(content, name=name)
    return content


async def read_many(
    storage: Storage, wanted: Sequence[tuple[str, str, str]], problems: list[str]
) -> list[bytes | None]:
    """`read_sealed` of each (name, sha256, what), READ_AHEAD at a time, the problems
    in the order asked."""
    contents: list[bytes | None] = []
    for start in range(0, len(wanted), READ_AHEAD):
        batch = wanted[start : start + READ_AHEAD]
        found: list[list[str]] = [[] for _ in batch]
        contents += await asyncio.gather(
            *(
                read_sealed(storage, name, sha256, what=what, problems=said)
                for (name, sha256, what), said in zip(batch, found, strict=True)
            )
        )
        problems += [problem for said in found for problem in said]
    return contents


async def sealed_thread(storage: Storage, seal: Seal, problems: list[str]) -> SealedThread:
    """The thread as `seal` covers it (problems with its blobs appended to `problems`)."""
    what = f"thread {seal.thread_id}"
    runs = re.compile(
        rf"^{re.escape(TRANSCRIPTS_PREFIX + seal.thread_key)}/\d{{8}}T\d{{6}}Z\.json$"
    )
    changes: list[dict[str, Any]] = []
    events: list[ThreadEvent] = []
    listed: list[ThreadRow] = []
    for blob in seal.blobs:  # sorted by name: a thread's changes in version order
        found = entry(blob.name)
        is_change = isinstance(found, ThreadBlob) and found.thread_id == seal.thread_id
        if not is_change and not runs.match(blob.name):
            continue
        content = await read_sealed(storage, blob.name, blob.sha256, what=what, problems=problems)
        document = document_of(content)
        if content is None:
            continue
        if not is_change:
            listed += _listed(seal, document)
            continue
        event = document.get("event")
        record = classify(RawEvent.from_value(event)) if isinstance(event, dict) else None
        if not isinstance(record, ThreadEvent) or record.thread_key != seal.thread_key:
            problems.append(f"{what}: its blob {blob.name} holds no change of the thread")
            continue
        changes.append(document)
        events.append(record)
    row = ThreadRow(thread_key=seal.thread_key, thread_id=seal.thread_id)
    for fact in [patch.row for patch in patches(events)] + listed:
        row = join(row, fact)
    return SealedThread(seal=seal, changes=tuple(changes), row=row)


def section_problems(thread: Mapping[str, Any], sealed: SealedThread) -> list[str]:
    """Every way a transcript's thread section says otherwise than its sealed thread."""
    what = f"thread {sealed.seal.thread_id}"
    expected = thread_section(sealed.seal.thread_id, sealed.row)
    found = [
        f"{what}: {key!r} is not a field of a thread section"
        for key in thread
        if key not in THREAD_FIELDS and key != "messages"
    ]
    for key in ("topic", "createdBy", "createTime", "deleteTime"):
        if thread.get(key) != expected[key]:
            found.append(
                f"{what}: {key} says {thread.get(key)!r}, its sealed changes {expected[key]!r}"
            )
    for key in ("participants", "formerParticipants"):
        found += people_problems(what, key, thread.get(key), expected[key])
    return found


def people_problems(what: str, label: str, shown: Any, expected: list[dict[str, Any]]) -> list[str]:
    """How a list of people (`id`, `displayName`) differs from the sealed one."""
    if not isinstance(shown, list) or not all(
        isinstance(p, dict)
        and set(p) == {"id", "displayName"}
        and isinstance(p["id"], str)
        and isinstance(p["displayName"], str | None)
        for p in shown
    ):
        return [f"{what}: {label} is not a list of people (id and displayName)"]
    names = {p["id"]: p["displayName"] for p in shown}
    sealed = {p["id"]: p["displayName"] for p in expected}
    found = [f"{what}: {label} leaves out {raw_id}" for raw_id in sealed if raw_id not in names]
    for raw_id, name in names.items():
        if raw_id not in sealed:
            found.append(f"{what}: {label} names {raw_id}, whom its sealed changes do not")
        elif name != sealed[raw_id]:
            found.append(
                f"{what}: {label} names {raw_id} {name!r}, its sealed changes {sealed[raw_id]!r}"
            )
    if not found and shown != expected:
        found.append(f"{what}: {label} lists someone twice, or out of order")
    return found


def _listed(seal: Seal, document: Mapping[str, Any]) -> list[ThreadRow]:
    """What a sealed transcript written from ACS says of the thread, as its row facts
    (acs.listing.thread_facts); nothing for any other transcript."""
    if document.get("format") != FORMAT or document.get("source") != LISTED:
        return []
    facts = []
    for thread in document.get("threads") or ():
        if not isinstance(thread, dict) or thread.get("threadId") != seal.thread_id:
            continue
        topic = thread.get("topic")
        members = tuple(
            Member(raw_id=p["id"], display_name=p.get("displayName"), version=0, present=True)
            for p in thread.get("participants") or ()
            if isinstance(p, dict) and isinstance(p.get("id"), str) and p["id"]
        )
        facts.append(
            ThreadRow(
                thread_key=seal.thread_key,
                thread_id=seal.thread_id,
                topic=topic if isinstance(topic, str) else None,
                topic_version=0 if isinstance(topic, str) else None,
                created_by=_text(thread.get("createdBy")),
                create_time=_moment(thread.get("createTime")),
                members=members,
            )
        )
    return facts


def document_of(content: bytes | None) -> dict[str, Any]:
    """A sealed blob's JSON object ({} when it holds none)."""
    try:
        value = json.loads(content) if content is not None else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _moment(value: Any) -> Any:
    try:
        return None if value is None else parse_timestamp(value)
    except ValueError:
        return None
