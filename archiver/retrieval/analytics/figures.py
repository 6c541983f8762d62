"""The figures of the analytics export, from a thread's archived versions. Pure, no I/O.

A message's figures come from its versions (transcript entries, as `every_version`
reads them back): who sent it, when it was composed, when its first and last versions
happened, how many versions and edits it has, whether it was deleted, and how long its
newest text is. A thread's figures come from its messages, in the order they were
composed (then by message id):

- `reply_seconds` of a message: its compose time minus that of the message just before
  it in the thread, when that message has another sender; None for the thread's first
  message and for each later message of a run by the same sender.
- `first_response_seconds` of a thread: the compose time of its first message by a
  sender other than the first message's, minus the first message's; None when nobody
  else wrote.
- `median_reply_seconds`: the median of the thread's reply seconds (None without any).

A version happened at its compose time (received), edit time (edited) or delete time
(deleted). Deleted messages count as messages: they were sent, and seen.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from archiver.core.errors import DamagedArchive
from archiver.core.fields import parse_timestamp
from archiver.core.records import Action
from archiver.core.versions import Stamp

_TIME_OF = {
    Action.RECEIVED: "composeTime",
    Action.EDITED: "editTime",
    Action.DELETED: "deleteTime",
}


@dataclass(frozen=True, kw_only=True)
class Message:
    """One row of messages.parquet: a message's figures, never its text."""

    thread_id: str
    message_id: str
    sender_id: str | None
    sender_kind: str
    sender_display_name: str | None
    created: datetime | None  # the compose time of its first archived version
    first_version_time: datetime | None
    last_version_time: datetime | None
    versions: int
    edits: int
    deleted: bool
    body_length: int | None  # characters of the newest text (a deleted message: its last)
    reply_seconds: float | None = None

    @property
    def edited(self) -> bool:
        """True when the message was edited at least once."""
        return self.edits > 0


@dataclass(frozen=True, kw_only=True)
class Thread:
    """One row of threads.parquet: a thread's figures, from its messages in the export."""

    thread_id: str
    topic: str | None
    participant_ids: tuple[str, ...]  # everyone who wrote in it, sorted
    messages: int
    first_message_time: datetime | None
    last_message_time: datetime | None
    duration_seconds: float | None
    first_response_seconds: float | None
    median_reply_seconds: float | None

    @property
    def participants(self) -> int:
        """How many people wrote in the thread."""
        return len(self.participant_ids)


def message(versions: Sequence[Mapping[str, Any]]) -> Message:
    """The figures of one message from its versions (at least one, any order)."""
    ordered = sorted(versions, key=_stamp)
    first, last = ordered[0], ordered[-1]
    times = [t for t in map(_time_of, ordered) if t is not None]
    texts = [v["body"] for v in ordered if v.get("body") is not None]
    actions = [Action(v["action"]) for v in ordered]
    return Message(
        thread_id=str(first["threadId"]),
        message_id=str(first["messageId"]),
        sender_id=first.get("senderId"),
        sender_kind=str(first.get("senderKind") or "unknown"),
        sender_display_name=first.get("senderDisplayName") or last.get("senderDisplayName"),
        created=_parsed(first.get("composeTime")),
        first_version_time=min(times, default=None),
        last_version_time=max(times, default=None),
        versions=len(ordered),
        edits=actions.count(Action.EDITED),
        deleted=Action.DELETED in actions,
        body_length=len(texts[-1]) if texts else None,
    )


def replied(messages: Iterable[Message]) -> list[Message]:
    """The thread's messages in the order they were composed, each with its reply seconds."""
    ordered = sorted(messages, key=_composed)
    answered = ordered[:1]
    for before, current in itertools.pairwise(ordered):
        other = current.sender_id != before.sender_id
        seconds = _seconds(before.created, current.created) if other else None
        answered.append(replace(current, reply_seconds=seconds))
    return answered


def thread(thread_id: str, topic: str | None, messages: Sequence[Message]) -> Thread:
    """The figures of a thread from its messages as `replied` orders them (at least one)."""
    first = messages[0]
    created = [m.created for m in messages if m.created is not None]
    start, end = min(created, default=None), max(created, default=None)
    answer = next((m for m in messages if m.sender_id != first.sender_id), None)
    replies = [m.reply_seconds for m in messages if m.reply_seconds is not None]
    return Thread(
        thread_id=thread_id,
        topic=topic,
        participant_ids=tuple(sorted({m.sender_id for m in messages if m.sender_id})),
        messages=len(messages),
        first_message_time=start,
        last_message_time=end,
        duration_seconds=_seconds(start, end),
        first_response_seconds=None if answer is None else _seconds(first.created, answer.created),
        median_reply_seconds=statistics.median(replies) if replies else None,
    )


def _stamp(version: Mapping[str, Any]) -> Stamp:
    return Stamp.of(int(version["version"]), Action(version["action"]))


def _time_of(version: Mapping[str, Any]) -> datetime | None:
    return _parsed(version.get(_TIME_OF[Action(version["action"])]))


def _parsed(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise DamagedArchive(
            f"a version blob holds a time that is not one ({exc}); run verify"
        ) from exc


def _composed(message: Message) -> tuple[bool, float, str]:
    # Messages without a compose time go last, in id order.
    created = message.created
    return (created is None, created.timestamp() if created else 0.0, message.message_id)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()
