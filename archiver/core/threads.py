"""The `ChatThreads` row: what is known of one thread, and how two accounts of it merge.

Every field is decided by a rule that does not depend on the order in which events
arrive: the topic and metadata of the newest-versioned properties change, each
participant's state from the newest-versioned event about them (at equal versions a
removal wins), the earliest creation and deletion facts, the newest activity. So
merging is a join: `join(a, b) == join(b, a)`, and joining what is already known
changes nothing. A row written from any order of deliveries, by any number of
concurrent writers retrying on ETag conflicts, ends the same. Pure, no I/O.

Message events only move `lastActivity`, and only when it advances by at least
ACTIVITY_RESOLUTION: a busy thread costs one row write per quarter hour, not one per
message. Thread and participant events record their time exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from archiver.core.jsontext import dumps
from archiver.core.layout import MAX_ROW_TEXT_UNITS, fit_text
from archiver.core.records import Action, MessageVersion, Party, Record, ThreadChange, ThreadEvent

ACTIVITY_RESOLUTION = timedelta(minutes=15)
# Bounds that keep a row inside a Table entity (1 MiB) whatever an event claims. ACS
# itself allows 250 participants at a time and display names of 256 characters.
MAX_MEMBERS = 500
MAX_ID_UNITS = 256
MAX_NAME_UNITS = 256
MAX_TOPIC_UNITS = 4_000
_T = TypeVar("_T")
_Versioned = tuple[_T | None, int | None]


_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Member:
    """A participant as the newest event about them left them: present or removed."""

    raw_id: str
    display_name: str | None
    version: int
    present: bool

    @property
    def rank(self) -> tuple[int, int]:
        """Order of two accounts of one participant; a removal wins a tie."""
        return (self.version, 0 if self.present else 1)


@dataclass(frozen=True, kw_only=True)
class ThreadRow:
    """One thread: its properties, participants and activity, as far as events told."""

    thread_key: str
    thread_id: str
    topic: str | None = None
    topic_version: int | None = None
    metadata: dict[str, str] | None = None
    metadata_version: int | None = None
    created_by: str | None = None
    create_time: datetime | None = None
    deleted_by: str | None = None
    delete_time: datetime | None = None
    last_activity: datetime | None = None
    members: tuple[Member, ...] = ()  # sorted by raw id, removed participants included
    transcript_time: datetime | None = None  # the newest transcript written from ACS
    transcript_activity: datetime | None = None  # lastActivity when it was written
    # The last check against ACS's ListMessages (archive-thread): when, whether the archive
    # held every message ACS showed, and the gaps it found (JSON; archiver.acs.completeness).
    verified_at: datetime | None = None
    complete: bool | None = None
    gaps: str | None = None
    # The thread's newest seal (archiver.core.evidence.seals), by name and the SHA-256 of its blob:
    # a second record of the chain's head, so that removing the newest seal shows.
    seal: str | None = None
    seal_sha256: str | None = None
    truncated: bool = False  # a field or the member list was cut to fit; blobs hold all

    @property
    def participants(self) -> tuple[Member, ...]:
        """The current participants."""
        return tuple(m for m in self.members if m.present)

    @property
    def former_participants(self) -> tuple[Member, ...]:
        """Participants who were removed and not added again since."""
        return tuple(m for m in self.members if not m.present)


@dataclass(frozen=True)
class Patch:
    """What one request says about one thread: facts to join, and message activity."""

    row: ThreadRow
    activity: datetime | None = None  # the newest message change; moves lastActivity softly
    creates: bool = field(default=False, compare=False)  # holds the thread's creation


def join(a: ThreadRow, b: ThreadRow) -> ThreadRow:
    """Everything either account knows, each field by its own order-free rule."""
    topic, topic_version = _newest((a.topic, a.topic_version), (b.topic, b.topic_version))
    metadata, metadata_version = _newest(
        (a.metadata, a.metadata_version), (b.metadata, b.metadata_version)
    )
    members, cut = _members(a.members, b.members)
    return ThreadRow(
        thread_key=a.thread_key,
        thread_id=a.thread_id,
        topic=topic,
        topic_version=topic_version,
        metadata=metadata,
        metadata_version=metadata_version,
        created_by=_first(a.created_by, b.created_by),
        create_time=_earliest(a.create_time, b.create_time),
        deleted_by=_first(a.deleted_by, b.deleted_by),
        delete_time=_earliest(a.delete_time, b.delete_time),
        last_activity=_latest(a.last_activity, b.last_activity),
        members=members,
        transcript_time=_latest(a.transcript_time, b.transcript_time),
        transcript_activity=_latest(a.transcript_activity, b.transcript_activity),
        truncated=a.truncated or b.truncated or cut,
        **_verification(a, b),
        **_newest_seal(a, b),
    )


def advance(current: ThreadRow | None, patch: Patch) -> ThreadRow | None:
    """The row to write for `patch`, or None when `current` already says it all."""
    base = current if current is not None else _empty(patch.row)
    joined = join(base, patch.row)
    activity = patch.activity
    if activity is not None and (joined.last_activity is None or activity > joined.last_activity):
        stale = joined.last_activity is None or activity - joined.last_activity >= (
            ACTIVITY_RESOLUTION
        )
        if current is None or joined != current or stale:
            joined = replace(joined, last_activity=activity)
    return None if joined == current else joined


def patches(records: Sequence[Record]) -> list[Patch]:
    """One patch per thread that `records` mention, in order of first mention."""
    rows: dict[str, ThreadRow] = {}
    activity: dict[str, datetime] = {}
    creates: set[str] = set()
    for record in records:
        if isinstance(record, ThreadEvent):
            fact = _fact(record)
            known = rows.get(record.thread_key)
            rows[record.thread_key] = fact if known is None else join(known, fact)
            if record.change is ThreadChange.CREATED:
                creates.add(record.thread_key)
        elif isinstance(record, MessageVersion):
            if record.thread_key not in rows:  # not setdefault: that builds a row every time
                rows[record.thread_key] = ThreadRow(
                    thread_key=record.thread_key, thread_id=record.thread_id
                )
            when = change_time(record)
            if when is not None:
                activity[record.thread_key] = max(activity.get(record.thread_key, when), when)
    return [Patch(row, activity.get(key), creates=key in creates) for key, row in rows.items()]


def change_time(version: MessageVersion) -> datetime | None:
    """When the change a message version records happened."""
    if version.action is Action.DELETED:
        return version.delete_time or version.edit_time or version.compose_time
    if version.action is Action.EDITED:
        return version.edit_time or version.compose_time
    return version.compose_time


def _fact(event: ThreadEvent) -> ThreadRow:
    """What one thread or participant event says about its thread, cut to fit a row."""
    cuts: list[bool] = []

    def fit(text: str | None, units: int) -> str | None:
        fitted, cut = fit_text(text, units=units)
        cuts.append(cut)
        return fitted

    def member(party: Party, *, present: bool) -> Member | None:
        raw_id = fit(party.raw_id, MAX_ID_UNITS)
        if not raw_id:
            return None
        name = fit(party.display_name, MAX_NAME_UNITS)
        return Member(raw_id=raw_id, display_name=name, version=event.version, present=present)

    row = ThreadRow(
        thread_key=event.thread_key,
        thread_id=event.thread_id,
        create_time=event.create_time,
        last_activity=event.time,
    )
    change = event.change
    if change in (ThreadChange.CREATED, ThreadChange.PROPERTIES_UPDATED):
        topic = (event.properties or {}).get("topic")
        if isinstance(topic, str):
            row = replace(row, topic=fit(topic, MAX_TOPIC_UNITS), topic_version=event.version)
        if event.metadata is not None:
            if len(dumps(event.metadata)) * 2 <= MAX_ROW_TEXT_UNITS:
                row = replace(row, metadata=event.metadata, metadata_version=event.version)
            else:
                cuts.append(True)
    if change is ThreadChange.CREATED:
        found = (member(p, present=True) for p in event.participants or ())
        members, cut = _members((), (m for m in found if m is not None))
        row = replace(
            row,
            created_by=fit(event.actor.raw_id, MAX_ID_UNITS),
            create_time=event.create_time or event.time,
            members=members,
        )
        cuts.append(cut)
    elif change is ThreadChange.DELETED:
        row = replace(row, deleted_by=fit(event.actor.raw_id, MAX_ID_UNITS), delete_time=event.time)
    elif event.participant is not None:
        subject = member(event.participant, present=change is ThreadChange.PARTICIPANT_ADDED)
        row = replace(row, members=() if subject is None else (subject,))
    return replace(row, truncated=any(cuts))


def _empty(like: ThreadRow) -> ThreadRow:
    return ThreadRow(thread_key=like.thread_key, thread_id=like.thread_id)


def _members(a: Iterable[Member], b: Iterable[Member]) -> tuple[tuple[Member, ...], bool]:
    """Each participant's newest account, at most MAX_MEMBERS of them; True if cut."""
    merged: dict[str, Member] = {}
    for member in (*a, *b):
        known = merged.get(member.raw_id)
        if known is None or _member_order(member) > _member_order(known):
            merged[member.raw_id] = member
    cut = len(merged) > MAX_MEMBERS
    if cut:
        # Current participants first, then the latest changes: the same set whatever
        # the order the accounts came in.
        kept = sorted(merged.values(), key=lambda m: (not m.present, -m.version, m.raw_id))
        merged = {m.raw_id: m for m in kept[:MAX_MEMBERS]}
    return tuple(merged[key] for key in sorted(merged)), cut


def _member_order(member: Member) -> tuple[int, int, str]:
    # The display name breaks a tie only so that the result never depends on order.
    return (*member.rank, member.display_name or "")


def _newest(a: _Versioned[_T], b: _Versioned[_T]) -> _Versioned[_T]:
    if a[1] is None:
        return b
    if b[1] is None or a[1] > b[1]:
        return a
    if b[1] > a[1]:
        return b
    return max(a, b, key=lambda side: repr(side[0]))


def _verification(a: ThreadRow, b: ThreadRow) -> dict[str, Any]:
    """The newer check against ACS, whole: its time, verdict and gaps go together."""
    newer = max(
        (a, b),
        key=lambda row: (row.verified_at is not None, row.verified_at or _NEVER, row.gaps or ""),
    )
    return {"verified_at": newer.verified_at, "complete": newer.complete, "gaps": newer.gaps}


def _newest_seal(a: ThreadRow, b: ThreadRow) -> dict[str, Any]:
    """The newer seal (names sort by sealing time), with its hash."""
    newer = max((a, b), key=lambda row: (row.seal or "", row.seal_sha256 or ""))
    return {"seal": newer.seal, "seal_sha256": newer.seal_sha256}


def _first(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
