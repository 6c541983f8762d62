"""Proving a handed-over RSMF file against the sealed archive, everything it asserts.

An RSMF file exported from a sealed thread carries the seal that covered it and its
scope (provenance). `check_rsmf` proves the file: the seal is there, verifies, and is
a seal of the file's thread; then the file the export would make of that scope from
the blobs the seal covers alone (the thread changes and the row they make,
sealedthread; every version of the messages composed in the window) is made again by
the export's own `files_of`, and the file must say exactly what it says. A covered blob
that is gone or changed is named, and then nothing is compared: what the seal's blobs
make is not known. So every
message (each version: body, edits, deletion), every join, leave and history event
(creation, creator, topic changes, deletion), the topic, the conversation's type and
participants, each participant's name, and the headers and summary made from them are
proved, and no sealed event of the scope is left out.
"""

from __future__ import annotations

import email
import zipfile
from collections import Counter
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from archiver.core.errors import DamagedArchive, InvalidQuery
from archiver.core.evidence.seals import Seal
from archiver.core.evidence.signatures import PublicKey
from archiver.core.fields import parse_timestamp
from archiver.core.inventory import MessageBlob, entry
from archiver.core.versions import Stamp
from archiver.retrieval.evidence import Proof, proven_seal
from archiver.retrieval.rsmf.export import RsmfFile, Thread, files_of
from archiver.retrieval.rsmf.file import pack, read_manifest
from archiver.retrieval.rsmf.provenance import Scope, evidence_of, scope_of, seal_pairs
from archiver.retrieval.sealedthread import covered, document_of, read_many, sealed_thread
from archiver.retrieval.transcript import document_entry
from archiver.storage.ports import Storage, Window

HEADERS = ("To", "Subject", "Date", "X-RSMF-Version", "X-RSMF-BeginDate", "X-RSMF-EndDate")
COUNT = "X-RSMF-EventCount"


async def check_rsmf(storage: Storage, content: bytes, keys: Mapping[str, PublicKey]) -> Proof:
    """Prove an RSMF file against the sealed archive (see the module's rules)."""
    manifest, thread_id, properties = _opened(content)
    scope = scope_of(properties)
    proof = Proof()
    proof.checked["threads"] += 1
    events = manifest.get("events")
    proof.checked["entries"] += len(events) if isinstance(events, list) else 0
    evidence = evidence_of(properties)
    seal = await proven_seal(storage, {"threadId": thread_id, "seal": evidence}, keys, proof)
    if seal is None:
        return proof
    sealed = await sealed_thread(storage, seal, proof.problems)
    versions = await _versions(storage, seal, scope.window, proof.problems)
    if proof.problems:
        return proof  # a blob the file is made from is damaged: what it makes is not known
    thread = Thread(id=thread_id, topic=sealed.row.topic, versions=versions, changes=sealed.changes)
    made = files_of(
        thread,
        window=scope.window,
        by_day=scope.day is not None,
        limit=scope.part_size,
        evidence=seal_pairs(seal.evidence()),
    )
    expected = next((f for f in made if f.day == scope.day and f.part == scope.part), None)
    if expected is None:
        proof.problems.append(
            f"thread {thread_id}: {seal.name} covers no event of the file's scope"
        )
    proof.problems += _differences(manifest, expected, seal)
    proof.problems += _packing(content, manifest, scope, thread_id)
    return proof


def _opened(content: bytes) -> tuple[dict[str, Any], str, list[Any]]:
    """The file's manifest, thread id and conversation custom properties; raise
    InvalidQuery when it is not an RSMF file of this archiver."""
    try:
        manifest = read_manifest(content)
        [talk] = manifest["conversations"]
        thread_id, properties = talk["id"], talk.get("custom") or []
    except (DamagedArchive, zipfile.BadZipFile, KeyError, TypeError, ValueError) as exc:
        raise InvalidQuery(f"not an RSMF file of this archiver ({exc})") from None
    if not isinstance(thread_id, str) or not isinstance(properties, list):
        raise InvalidQuery("not an RSMF file of this archiver (its conversation is not one)")
    return manifest, thread_id, properties


async def _versions(
    storage: Storage, seal: Seal, window: Window, problems: list[str]
) -> list[dict[str, Any]]:
    """Every sealed version of the messages composed in `window` (as the export picks
    them: by each message's newest version), in name order, as transcript entries; a
    blob that cannot be read as sealed is a problem, and the versions are then unknown."""
    folders: dict[str, list[MessageBlob]] = {}
    for sealed in seal.blobs:
        found = entry(sealed.name)
        if isinstance(found, MessageBlob) and found.thread_id == seal.thread_id:
            folders.setdefault(found.name.rsplit("/", 1)[0], []).append(found)
    hashes = covered(seal)
    contents: dict[MessageBlob, bytes | None] = {}

    async def read(blobs: list[MessageBlob]) -> None:
        what = [
            (b.name, hashes[b.name], f"message {b.message_id} of {seal.thread_id}") for b in blobs
        ]
        contents.update(zip(blobs, await read_many(storage, what, problems), strict=True))

    newest = {key: max(folder, key=_stamp) for key, folder in folders.items()}
    if window.since is not None or window.until is not None:
        await read(list(newest.values()))  # when each message was composed, first
        folders = {
            key: folder
            for key, folder in folders.items()
            if contents[newest[key]] is None
            or _composed_in(document_of(contents[newest[key]]), window)
        }
    await read([blob for folder in folders.values() for blob in folder if blob not in contents])
    return [
        document_entry(document_of(contents[blob]))
        for folder in folders.values()
        for blob in folder
    ]


def _stamp(blob: MessageBlob) -> Stamp:
    return Stamp.of(blob.version, blob.action)


def _composed_in(document: Mapping[str, Any], window: Window) -> bool:
    composed = _moment(document.get("composeTime"))
    return (
        composed is not None
        and (window.since is None or composed >= window.since)
        and (window.until is None or composed < window.until)
    )


def _moment(value: Any) -> Any:
    try:
        return None if value is None else parse_timestamp(value)
    except ValueError:
        return None


def _differences(shown: Mapping[str, Any], expected: RsmfFile | None, seal: Seal) -> list[str]:
    """Every way the file's manifest says otherwise than the sealed one."""
    what = f"thread {seal.thread_id}"
    if expected is None:
        return _events(what, shown.get("events"), [], seal)
    made = expected.manifest
    found: list[str] = []
    [talk], [sealed_talk] = shown["conversations"], made["conversations"]
    for key in sorted(set(talk) | set(sealed_talk)):
        if key != "participants" and talk.get(key) != sealed_talk.get(key):
            found.append(
                f"{what}: the conversation's {key} says {talk.get(key)!r}, "
                f"its sealed thread {sealed_talk.get(key)!r}"
            )
    found += _listed(what, talk.get("participants"), sealed_talk["participants"])
    found += _people(what, shown.get("participants"), made["participants"])
    found += _events(what, shown.get("events"), made["events"], seal)
    if not found and dict(shown) != made:
        found.append(f"{what}: the file's manifest says otherwise than its sealed thread")
    return found


def _listed(what: str, shown: Any, sealed: list[str]) -> list[str]:
    if not isinstance(shown, list):
        return [f"{what}: the conversation lists no participants"]
    found = [
        f"{what}: the conversation leaves out participant {p}" for p in sealed if p not in shown
    ]
    found += [
        f"{what}: the conversation lists participant {p}, whom its sealed thread does not"
        for p in shown
        if p not in sealed
    ]
    if not found and shown != sealed:
        found.append(f"{what}: the conversation lists its participants twice, or out of order")
    return found


def _people(what: str, shown: Any, sealed: list[dict[str, Any]]) -> list[str]:
    if not isinstance(shown, list) or not all(isinstance(p, dict) for p in shown):
        return [f"{what}: the manifest's participants are not a list of participants"]
    mine = {str(p.get("id")): p for p in shown}
    theirs = {p["id"]: p for p in sealed}
    found = [f"{what}: participant {p} is sealed and left out" for p in theirs if p not in mine]
    for person, said in mine.items():
        if person not in theirs:
            found.append(f"{what}: participant {person} is not in its sealed thread")
        elif said != theirs[person]:
            found.append(
                f"{what}: participant {person} is {said.get('display')!r} "
                f"({said.get('account_id')}), its sealed thread says "
                f"{theirs[person].get('display')!r} ({theirs[person].get('account_id')})"
            )
    return found


def _events(what: str, shown: Any, sealed: list[dict[str, Any]], seal: Seal) -> list[str]:
    if not isinstance(shown, list) or not all(isinstance(e, dict) for e in shown):
        return [f"{what}: the manifest's events are not a list of events"]
    mine = {str(e.get("id")): e for e in shown}
    theirs = {str(e["id"]): e for e in sealed}
    counts = Counter(str(e.get("id")) for e in shown)
    found = [
        f"{_event(mine[event_id], what)}: shown {count} times"
        for event_id, count in counts.items()
        if count > 1
    ]
    for event_id, event in mine.items():
        if event_id not in theirs:
            covers = "message" if event.get("type") == "message" else "change"
            found.append(f"{_event(event, what)}: not a {covers} {seal.name} covers")
        elif event != theirs[event_id]:
            versions = "versions" if event.get("type") == "message" else "change"
            found.append(
                f"{_event(event, what)}: the file says otherwise than its sealed {versions}"
            )
    found += [
        f"{_event(event, what)}: sealed, within the file's scope, and left out"
        for event_id, event in theirs.items()
        if event_id not in mine
    ]
    if not found and shown != sealed:
        found.append(f"{what}: the file's events are not in the order of its sealed thread")
    return found


def _event(event: Mapping[str, Any], what: str) -> str:
    kind = event.get("type")
    label = "message" if kind == "message" else f"{kind} event"
    return f"{label} {event.get('id')} of {what.removeprefix('thread ')}"


def _packing(content: bytes, manifest: dict[str, Any], scope: Scope, thread_id: str) -> list[str]:
    """How the file's headers and summary differ from what its own manifest makes."""
    what = f"thread {thread_id}"
    [talk] = manifest["conversations"]
    title = str(talk.get("display") or thread_id)
    subject = title + (f" ({scope.day.isoformat()})" if scope.day is not None else "")
    try:
        packed = pack(manifest, subject=subject)
    except (KeyError, TypeError, ValueError, AttributeError):
        return [f"{what}: the file's manifest is not one this archiver makes"]
    mine, theirs = _message(content), _message(packed)
    found = [
        f"{what}: its {name} header says {mine.get(name)!r}, "
        f"its manifest makes {theirs.get(name)!r}"
        for name in (*HEADERS, COUNT)
        if str(mine.get(name)) != str(theirs.get(name))
    ]
    if _summary(mine) != _summary(theirs):
        found.append(f"{what}: its summary says otherwise than its manifest")
    return found


def _message(content: bytes) -> EmailMessage:
    return email.message_from_bytes(content, _class=EmailMessage, policy=SMTP)


def _summary(message: EmailMessage) -> str | None:
    body = message.get_body(("plain",))
    return None if body is None else str(body.get_content())
