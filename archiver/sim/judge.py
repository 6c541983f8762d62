"""Judging an archive against the ground truth of a simulation. Pure, but for `verify`.

Every expected version, change, latest row and thread row must be present and right,
and nothing else in the judged threads (or in the whole archive, with `exact`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from archiver.core.fields import parse_timestamp
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import LISTED_EVENT_TYPE
from archiver.core.threads import ACTIVITY_RESOLUTION
from archiver.sim.truth import ExpectedChange, ExpectedThread, ExpectedVersion, GroundTruth
from archiver.storage.ports import Storage
from archiver.verification.consistency import consistency
from archiver.verification.findings import Findings, Snapshot, compare, message_of, short
from archiver.verification.snapshot import snapshot

_VersionKey = tuple[str, str, int, str]
_ChangeKey = tuple[str, int, str, str | None]


async def verify(storage: Storage, truth: GroundTruth | None, *, exact: bool = False) -> Findings:
    """Judge the archive against `truth`, or for consistency when there is none."""
    if truth is None:
        return consistency(await snapshot(storage))
    scope = None if exact else truth.threads
    return against_truth(truth, await snapshot(storage, threads=scope), exact=exact)


def against_truth(truth: GroundTruth, snapshot: Snapshot, *, exact: bool) -> Findings:
    """Every expected version, change and latest row present and right, nothing else.

    Only the truth's threads are judged unless `exact`, which judges the whole archive.
    """
    threads = set(truth.threads)
    scoped = (lambda thread: True) if exact else threads.__contains__
    findings = Findings(stray=[f"outside the storage contract: {n}" for n in snapshot.strays])
    _versions(truth.versions, snapshot, scoped, findings)
    _changes(truth.changes, snapshot, scoped, findings)
    _rows(truth.latest, snapshot, scoped, findings)
    _thread_rows(truth.thread_rows, snapshot, scoped, findings)
    for name, text in snapshot.quarantine.items():
        if exact or any(thread in text for thread in threads):
            findings.extra.append(f"quarantined event {name}: {_reason(text)}")
    return findings


def _versions(
    expected: Iterable[ExpectedVersion], snapshot: Snapshot, scoped: Any, findings: Findings
) -> None:
    wanted: dict[_VersionKey, ExpectedVersion] = {
        (v.thread_id, v.message_id, v.version, v.action): v for v in expected
    }
    found = {
        (blob.thread_id, blob.message_id, blob.version, str(blob.action)): (blob, document)
        for blob, document in snapshot.messages.values()
        if scoped(blob.thread_id)
    }
    findings.checked["versions"] += len(wanted)
    for key in wanted.keys() - found.keys():
        findings.missing.append(f"version blob of message {message_of(key[:2])} v{key[2]} {key[3]}")
    for key in found.keys() - wanted.keys():
        findings.extra.append(f"unexpected version blob {found[key][0].name}")
    for key in wanted.keys() & found.keys():
        blob, document = found[key]
        want = wanted[key]
        fields = {
            "threadId": want.thread_id,
            "messageId": want.message_id,
            "version": want.version,
            "action": want.action,
            "senderId": want.sender_id,
            "type": want.type,
            "body": want.body,
            "metadata": want.metadata,
        }
        compare(blob.name, document, fields, findings)
        if document is not None and _kept_id(document) != want.message_id:
            findings.wrong.append(f"blob {blob.name}: the original event is not kept with it")


def _changes(
    expected: Iterable[ExpectedChange], snapshot: Snapshot, scoped: Any, findings: Findings
) -> None:
    wanted: dict[_ChangeKey, ExpectedChange] = {
        (c.thread_id, c.version, c.change, c.participant_id): c for c in expected
    }
    found = {
        (blob.thread_id, blob.version, str(blob.change), blob.participant_id): (blob, document)
        for blob, document in snapshot.threads.values()
        if scoped(blob.thread_id)
    }
    findings.checked["changes"] += len(wanted)
    for key in wanted.keys() - found.keys():
        who = f" of {key[3]}" if key[3] else ""
        findings.missing.append(f"thread change {key[2]}{who} in {key[0]} v{key[1]}")
    for key in found.keys() - wanted.keys():
        findings.extra.append(f"unexpected thread change blob {found[key][0].name}")
    for key in wanted.keys() & found.keys():
        blob, document = found[key]
        participant = (document or {}).get("participant") or {}
        fields = {"threadId": key[0], "version": key[1], "change": key[2]}
        compare(blob.name, document, fields, findings)
        if key[3] is not None and participant.get("id") != key[3]:
            findings.wrong.append(f"blob {blob.name}: participant is {participant.get('id')!r}")


def _rows(
    latest: Iterable[ExpectedVersion], snapshot: Snapshot, scoped: Any, findings: Findings
) -> None:
    wanted = {(v.thread_id, v.message_id): v for v in latest}
    rows = {(r.thread_id, r.message_id): r for r in snapshot.rows if scoped(r.thread_id)}
    findings.checked["rows"] += len(wanted)
    for key in wanted.keys() - rows.keys():
        findings.missing.append(f"latest row of message {message_of(key)}")
    for key in rows.keys() - wanted.keys():
        findings.extra.append(f"unexpected row for message {message_of(key)}")
    for key in wanted.keys() & rows.keys():
        want, row = wanted[key], rows[key]
        pointed = entry(row.blob_name)
        problems = [
            f"{name} is {short(got)!r}, expected {short(expected)!r}"
            for name, got, expected in (
                ("version", row.version, want.version),
                ("action", str(row.action), want.action),
                ("senderId", row.sender_id, want.sender_id),
                ("body", row.body, want.body),
            )
            if got != expected
            and not (name == "body" and row.truncated and (want.body or "").startswith(str(got)))
        ]
        if not isinstance(pointed, MessageBlob) or (pointed.version, str(pointed.action)) != (
            want.version,
            want.action,
        ):
            problems.append(f"blobName is {row.blob_name!r}")
        if problems:
            findings.wrong.append(f"row of message {message_of(key)}: {'; '.join(problems)}")


def _thread_rows(
    expected: Iterable[ExpectedThread], snapshot: Snapshot, scoped: Any, findings: Findings
) -> None:
    wanted = {t.thread_id: t for t in expected}
    rows = {r.thread_id: r for r in snapshot.thread_rows if scoped(r.thread_id)}
    if wanted:
        findings.checked["thread rows"] += len(wanted)
    for thread in wanted.keys() - rows.keys():
        findings.missing.append(f"thread row of {thread}")
    for thread in rows.keys() - wanted.keys():
        findings.extra.append(f"unexpected thread row for {thread}")
    for thread in wanted.keys() & rows.keys():
        want, row = wanted[thread], rows[thread]
        newest = parse_timestamp(want.last_activity)
        problems = [
            f"{name} is {short(got)!r}, expected {short(value)!r}"
            for name, got, value in (
                ("topic", row.topic, want.topic),
                ("createdBy", row.created_by, want.created_by),
                ("deleted", row.delete_time is not None, want.deleted),
                ("participants", tuple(m.raw_id for m in row.participants), want.participants),
                (
                    "formerParticipants",
                    tuple(m.raw_id for m in row.former_participants),
                    want.former_participants,
                ),
            )
            if got != value
        ]
        activity = row.last_activity
        if activity is None or not newest - ACTIVITY_RESOLUTION < activity <= newest:
            problems.append(
                f"lastActivity is {activity}, expected within {ACTIVITY_RESOLUTION} "
                f"before {want.last_activity}"
            )
        if problems:
            findings.wrong.append(f"thread row of {thread}: {'; '.join(problems)}")


def _kept_id(document: dict[str, Any]) -> Any:
    """The message id the kept original names: an event's data, or a listed message."""
    event = document.get("event")
    if not isinstance(event, dict):
        return None
    if document.get("eventType") == LISTED_EVENT_TYPE:
        return event.get("id")
    data = event.get("data")
    return data.get("messageId") if isinstance(data, dict) else None


def _reason(text: str) -> str:
    try:
        reason = json.loads(text).get("reason")
    except (ValueError, AttributeError):
        return "(unreadable quarantine entry)"
    reason = str(reason)
    return reason if len(reason) <= 300 else f"{reason[:297]}..."
