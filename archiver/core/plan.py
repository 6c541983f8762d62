"""Collapse a request's records into the least storage work that archives them all.

Per-user fan-out and redelivered repeats become one write per blob name, and each
message gets one latest-row candidate: its newest version in the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archiver.core.layout import message_blob_name, quarantine_blob_name, thread_blob_name
from archiver.core.records import Ignored, MessageVersion, Quarantined, Record, ThreadEvent
from archiver.core.versions import Stamp

Stored = MessageVersion | ThreadEvent | Quarantined


@dataclass(frozen=True)
class Write:
    """One create-only blob write, standing for every event in `events`."""

    name: str
    record: Stored
    events: tuple[int, ...]


@dataclass(frozen=True)
class MessageWrites:
    """The versions of one message in a request, and the newest among them."""

    writes: tuple[Write, ...]
    newest: MessageVersion


@dataclass(frozen=True)
class Plan:
    """Everything a request asks storage to do, without repeats."""

    messages: tuple[MessageWrites, ...]
    others: tuple[Write, ...]
    ignored: tuple[int, ...]


def plan(records: Sequence[Record]) -> Plan:
    """The plan for `records`, where a record's position is its event's index."""
    by_name: dict[str, tuple[Stored, list[int]]] = {}
    ignored: list[int] = []
    for index, record in enumerate(records):
        if isinstance(record, Ignored):
            ignored.append(index)
            continue
        name = _blob_name(record)
        by_name.setdefault(name, (record, []))[1].append(index)

    messages: dict[tuple[str, str], list[Write]] = {}
    others: list[Write] = []
    for name, (record, indexes) in by_name.items():
        write = Write(name, record, tuple(indexes))
        if isinstance(record, MessageVersion):
            messages.setdefault((record.thread_key, record.message_key), []).append(write)
        else:
            others.append(write)
    return Plan(
        messages=tuple(
            MessageWrites(tuple(writes), _newest(writes)) for writes in messages.values()
        ),
        others=tuple(others),
        ignored=tuple(ignored),
    )


def _blob_name(record: Stored) -> str:
    if isinstance(record, MessageVersion):
        return message_blob_name(record)
    if isinstance(record, ThreadEvent):
        return thread_blob_name(record)
    return quarantine_blob_name(record)


def _newest(writes: list[Write]) -> MessageVersion:
    versions = [w.record for w in writes if isinstance(w.record, MessageVersion)]
    return max(versions, key=lambda v: Stamp.of(v.version, v.action))
