"""Judging an archive: against a ground truth, or for internal consistency. Pure.

The verifier reads a Snapshot of storage; these functions compare and return
Findings, each a sentence a person can act on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from archiver.fields import parse_timestamp
from archiver.inventory import MessageBlob, ThreadBlob, entry
from archiver.layout import LatestRow
from archiver.listing import LISTED
from archiver.threads import ACTIVITY_RESOLUTION, ThreadRow
from archiver.truth import ExpectedChange, ExpectedThread, ExpectedVersion, GroundTruth
from archiver.versions import Stamp

_VersionKey = tuple[str, str, int, str]
_ChangeKey = tuple[str, int, str, str | None]


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """What storage holds: parsed blobs with their documents, strays and rows."""

    messages: dict[str, tuple[MessageBlob, dict[str, Any] | None]]
    threads: dict[str, tuple[ThreadBlob, dict[str, Any] | None]]
    quarantine: dict[str, str]  # name -> document text
    strays: list[str]
    rows: list[LatestRow]
    thread_rows: list[ThreadRow] = field(default_factory=list)


@dataclass
class Findings:
    """What is missing, extra, wrong, or outside the storage contract."""

    checked: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing at all was found wrong."""
        return not (self.missing or self.extra or self.wrong or self.stray)


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


def consistency(snapshot: Snapshot) -> Findings:
    """Every row points at a blob of its version, and no row is older than its newest blob."""
    findings = Findings(stray=[f"outside the storage contract: {n}" for n in snapshot.strays])
    newest: dict[tuple[str, str], MessageBlob] = {}
    for blob, document in snapshot.messages.values():
        findings.checked["versions"] += 1
        _document_matches_name(blob, document, findings)
        key = (blob.thread_id, blob.message_id)
        if key not in newest or _stamp(blob) > _stamp(newest[key]):
            newest[key] = blob
    rows = {(row.thread_id, row.message_id): row for row in snapshot.rows}
    for key, row in rows.items():
        findings.checked["rows"] += 1
        pointed = snapshot.messages.get(row.blob_name)
        if pointed is None:
            findings.wrong.append(f"row {_message(key)} points at a missing blob {row.blob_name}")
            continue
        blob = pointed[0]
        if (blob.version, blob.action) != (row.version, row.action):
            findings.wrong.append(
                f"row {_message(key)} has v{row.version} but its blob is v{blob.version}"
            )
        if key in newest and _stamp(newest[key]) > row.stamp:
            findings.wrong.append(
                f"row {_message(key)} holds v{row.version} {row.action}, older than its newest "
                f"blob {newest[key].name}"
            )
    for key, blob in newest.items():
        if key not in rows:
            findings.missing.append(f"no row for message {_message(key)} (newest blob {blob.name})")
    threads = {row.thread_id for row in snapshot.thread_rows}
    if threads:
        findings.checked["thread rows"] += len(threads)
    for thread in sorted({key[0] for key in newest} - threads):
        findings.missing.append(f"no thread row for thread {thread}")
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
        findings.missing.append(f"version blob of message {_message(key[:2])} v{key[2]} {key[3]}")
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
        _compare(blob.name, document, fields, findings)
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
        _compare(blob.name, document, fields, findings)
        if key[3] is not None and participant.get("id") != key[3]:
            findings.wrong.append(f"blob {blob.name}: participant is {participant.get('id')!r}")


def _rows(
    latest: Iterable[ExpectedVersion], snapshot: Snapshot, scoped: Any, findings: Findings
) -> None:
    wanted = {(v.thread_id, v.message_id): v for v in latest}
    rows = {(r.thread_id, r.message_id): r for r in snapshot.rows if scoped(r.thread_id)}
    findings.checked["rows"] += len(wanted)
    for key in wanted.keys() - rows.keys():
        findings.missing.append(f"latest row of message {_message(key)}")
    for key in rows.keys() - wanted.keys():
        findings.extra.append(f"unexpected row for message {_message(key)}")
    for key in wanted.keys() & rows.keys():
        want, row = wanted[key], rows[key]
        pointed = entry(row.blob_name)
        problems = [
            f"{name} is {_short(got)!r}, expected {_short(expected)!r}"
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
            findings.wrong.append(f"row of message {_message(key)}: {'; '.join(problems)}")


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
            f"{name} is {_short(got)!r}, expected {_short(value)!r}"
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


def _compare(
    name: str, document: dict[str, Any] | None, fields: dict[str, Any], findings: Findings
) -> None:
    if document is None:
        findings.wrong.append(f"blob {name} is not a JSON object")
        return
    for field_name, expected in fields.items():
        if document.get(field_name) != expected:
            findings.wrong.append(
                f"blob {name}: {field_name} is {_short(document.get(field_name))!r}, "
                f"expected {_short(expected)!r}"
            )


def _document_matches_name(
    blob: MessageBlob, document: dict[str, Any] | None, findings: Findings
) -> None:
    fields = {
        "threadId": blob.thread_id,
        "messageId": blob.message_id,
        "version": blob.version,
        "action": str(blob.action),
    }
    _compare(blob.name, document, fields, findings)


def _kept_id(document: dict[str, Any]) -> Any:
    """The message id the kept original names: an event's data, or a listed message."""
    event = document.get("event")
    if not isinstance(event, dict):
        return None
    if document.get("eventType") == LISTED:
        return event.get("id")
    data = event.get("data")
    return data.get("messageId") if isinstance(data, dict) else None


def _stamp(blob: MessageBlob) -> Stamp:
    return Stamp.of(blob.version, blob.action)


def _message(key: tuple[str, str]) -> str:
    return f"{key[1]} in {key[0]}"


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:57]}..."
    return value


def _reason(text: str) -> str:
    try:
        reason = json.loads(text).get("reason")
    except (ValueError, AttributeError):
        return "(unreadable quarantine entry)"
    reason = str(reason)
    return reason if len(reason) <= 300 else f"{reason[:297]}..."
