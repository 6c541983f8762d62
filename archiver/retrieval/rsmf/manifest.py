"""A thread as RSMF 2.0 (Relativity Short Message Format): its manifest's events,
participants and conversation, and the slices a review platform takes.

Each message is one `message` event: the body of its first archived version, its
compose time and sender, every later edit in version order (`previous`, `new`, edit
time) and `deleted: true` with the last known body when it was deleted. Participants
added and removed are `join` and `leave` events; creation, topic changes and deletion
of the thread are `history` events. Every ACS identity is a participant whose id is a
short hash of its raw id (the raw id itself is its `account_id`). A thread is a
`direct` conversation when exactly two identities ever appear in it, else a `channel`
whose listed participants are those present at the slice's first event. Pure, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

from archiver.core.records import ThreadChange
from archiver.retrieval.rsmf.rules import VERSION

PLATFORM = "Azure Communication Services"
MAX_EVENTS = 10_000  # what review platforms take in one file
_EARLIEST = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One manifest event, with when it happened and the raw ids of everyone it names."""

    at: datetime
    document: Mapping[str, Any]
    people: tuple[str | None, ...]


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """What the whole thread says of itself: topic, names, who was in it when."""

    thread_id: str
    topic: str | None
    names: Mapping[str | None, str | None]  # raw id → the newest display name seen
    changes: tuple[tuple[datetime, str, bool], ...]  # (when, raw id, present), in order
    direct: bool


@dataclass(frozen=True, kw_only=True)
class Slice:
    """The events of one file: a day's (or all), at most MAX_EVENTS of them."""

    day: date | None
    number: int | None  # 1, 2, ... when the day (or the whole) needed several files
    events: tuple[Event, ...]


def participant_id(raw_id: str | None) -> str:
    """A participant's id in a manifest: short, stable, the same for the same raw id."""
    if raw_id is None:
        return "p-unknown"
    return "p-" + hashlib.sha256(raw_id.encode("utf-8")).hexdigest()[:16]


def conversation(
    thread_id: str,
    topic: str | None,
    versions: Sequence[Mapping[str, Any]],
    changes: Sequence[Mapping[str, Any]],
) -> Conversation:
    """What `versions` (transcript entries) and `changes` (thread documents) say of the
    thread as a whole."""
    names: dict[str | None, str | None] = {}
    timeline: list[tuple[datetime, str, bool]] = []
    for version in versions:
        _name(names, version.get("senderId"), version.get("senderDisplayName"))
    for change in changes:
        _name(names, *_party(change.get("actor")))
        kind, when = change.get("change"), _moment(change.get("time")) or _EARLIEST
        if kind == ThreadChange.CREATED:
            for party in change.get("participants") or ():
                raw_id, _ = _party(party)
                _name(names, *_party(party))
                if raw_id is not None:
                    timeline.append((when, raw_id, True))
        elif kind in (ThreadChange.PARTICIPANT_ADDED, ThreadChange.PARTICIPANT_REMOVED):
            raw_id, display = _party(change.get("participant"))
            _name(names, raw_id, display)
            if raw_id is not None:
                timeline.append((when, raw_id, kind == ThreadChange.PARTICIPANT_ADDED))
    return Conversation(
        thread_id=thread_id,
        topic=topic,
        names=names,
        changes=tuple(timeline),
        direct=len(names) == 2 and None not in names,
    )


def message_events(thread_id: str, versions: Iterable[Mapping[str, Any]]) -> list[Event]:
    """One `message` event per message of `versions` (every version, grouped by message)."""
    ordered = sorted(versions, key=lambda v: (str(v.get("messageId")), int(v["version"])))
    return [
        _message(thread_id, list(group))
        for _, group in groupby(ordered, key=lambda v: v.get("messageId"))
    ]


def thread_events(talk: Conversation, changes: Iterable[Mapping[str, Any]]) -> list[Event]:
    """A `join`, `leave` or `history` event per thread document of `changes`, naming
    people by the newest display name the thread gave them."""
    return [_change(talk, change) for change in changes]


def ordered(events: Iterable[Event]) -> list[Event]:
    """Events by time; at the same moment, thread changes before messages, then by id."""
    return sorted(events, key=lambda e: (e.at, e.document["type"] == "message", e.document["id"]))


def slices(events: Sequence[Event], *, by_day: bool, limit: int = MAX_EVENTS) -> list[Slice]:
    """`events` (ordered) cut into files: per UTC day when `by_day`, never over `limit`."""
    groups: list[tuple[date | None, list[Event]]] = []
    for key, run in groupby(events, key=lambda e: e.at.date() if by_day else None):
        groups.append((key, list(run)))
    cut: list[Slice] = []
    for day, group in groups:
        parts = [group[start : start + limit] for start in range(0, len(group), limit)]
        for number, part in enumerate(parts, start=1):
            label = number if len(parts) > 1 else None
            cut.append(Slice(day=day, number=label, events=tuple(part)))
    return cut


def manifest(
    talk: Conversation, events: Sequence[Event], *, evidence: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """The RSMF manifest of `events` of the conversation, with `evidence` as its custom
    name/value pairs."""
    start = events[0].at if events else None
    members = _members(talk, start)
    named = [raw_id for event in events for raw_id in event.people]
    listed = list(talk.names) if talk.direct else (members or named)
    people = list(dict.fromkeys([*listed, *named]))
    document: dict[str, Any] = {
        "id": talk.thread_id,
        "platform": PLATFORM,
        "type": "direct" if talk.direct else "channel",
        "display": talk.topic or talk.thread_id,
        "participants": [participant_id(raw_id) for raw_id in dict.fromkeys(listed)],
    }
    if evidence:
        document["custom"] = [{"name": name, "value": value} for name, value in evidence]
    return {
        "version": VERSION,
        "participants": [_participant(raw_id, talk.names.get(raw_id)) for raw_id in people],
        "conversations": [document],
        "events": [dict(event.document) for event in events],
    }


def _message(thread_id: str, versions: list[Mapping[str, Any]]) -> Event:
    first = versions[0]
    sender = first.get("senderId")
    document: dict[str, Any] = {
        "id": str(first["messageId"]),
        "type": "message",
        "conversation": thread_id,
        "participant": participant_id(sender),
    }
    if first.get("composeTime"):
        document["timestamp"] = first["composeTime"]
    body: str | None = first.get("body")
    if body is not None:
        document["body"] = body
    edits: list[dict[str, str]] = []
    people: list[str | None] = [sender]
    for version in versions[1:]:
        if version.get("action") == "edited":
            edit = {"participant": participant_id(version.get("senderId"))}
            if version.get("editTime"):
                edit["timestamp"] = version["editTime"]
            if body is not None:
                edit["previous"] = body
            body = version.get("body") or ""
            edits.append(edit | {"new": body})
            people.append(version.get("senderId"))
    if edits:
        document["edits"] = edits
    deleted = [v for v in versions if v.get("action") == "deleted"]
    if deleted:
        document["deleted"] = True
        if deleted[0].get("deleteTime"):
            document["custom"] = [{"name": "deleteTime", "value": deleted[0]["deleteTime"]}]
    at = _moment(first.get("composeTime")) or _EARLIEST
    return Event(at=at, document=document, people=tuple(people))


def _change(talk: Conversation, change: Mapping[str, Any]) -> Event:
    kind = change.get("change")
    actor, actor_name = _party(change.get("actor"))
    who, who_name = _party(change.get("participant"))
    by = talk.names.get(actor) or actor_name or actor or "someone"
    document: dict[str, Any] = {
        "id": f"{kind}-{change.get('version')}",
        "conversation": talk.thread_id,
    }
    people: tuple[str | None, ...] = (actor,)
    if kind in (ThreadChange.PARTICIPANT_ADDED, ThreadChange.PARTICIPANT_REMOVED):
        added = kind == ThreadChange.PARTICIPANT_ADDED
        document["id"] += f"-{participant_id(who)}"
        document["type"] = "join" if added else "leave"
        document["participant"] = participant_id(who)
        name = talk.names.get(who) or who_name or who or "someone"
        document["body"] = f"{name} was {'added' if added else 'removed'} by {by}"
        people = (who, actor)
    else:
        document["type"] = "history"
        document["participant"] = participant_id(actor)
        document["body"] = _history(kind, change.get("properties"), by)
    if change.get("time"):
        document["timestamp"] = change["time"]
    return Event(at=_moment(change.get("time")) or _EARLIEST, document=document, people=people)


def _history(kind: Any, properties: Any, by: str) -> str:
    topic = properties.get("topic") if isinstance(properties, dict) else None
    if kind == ThreadChange.CREATED:
        return f"{by} created the thread" + (f" with the topic {topic!r}" if topic else "")
    if kind == ThreadChange.PROPERTIES_UPDATED:
        if topic is not None:
            return f"{by} changed the topic to {topic!r}"
        return f"{by} changed the thread's properties"
    return f"{by} deleted the thread"


def _members(talk: Conversation, at: datetime | None) -> list[str | None]:
    present: dict[str, bool] = {}
    for when, raw_id, here in talk.changes:
        if at is None or when <= at:
            present[raw_id] = here
    return [raw_id for raw_id, here in present.items() if here]


def _participant(raw_id: str | None, display: str | None) -> dict[str, str]:
    person = {"id": participant_id(raw_id), "display": display or raw_id or "unknown"}
    if raw_id is not None:
        person["account_id"] = raw_id
    return person


def _party(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    return value.get("id"), value.get("displayName")


def _name(names: dict[str | None, str | None], raw_id: str | None, display: str | None) -> None:
    if raw_id is None and display is None:
        return
    if display or raw_id not in names:
        names[raw_id] = display or names.get(raw_id)


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text)
