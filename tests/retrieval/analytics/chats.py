"""A small hand-written chat with known answers, and the same figures worked out by hand
from any archive's blobs: what the analytics export is checked against."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from archiver.core.fields import format_timestamp
from archiver.storage.ports import Storage
from tests.builders import ALICE, BOB, TEAMS_USER, message_event, thread_event

DAY_ONE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY_TWO = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    """One message: who, when (seconds after the thread began), what; its edits (seconds,
    new text) and when it was deleted."""

    sender: str
    at: float
    body: str
    edits: tuple[tuple[float, str], ...] = ()
    deleted: float | None = None


@dataclass(frozen=True)
class Talk:
    """A hand-written thread and what its figures must be, worked out on paper."""

    thread_id: str
    topic: str
    start: datetime
    lines: tuple[Line, ...]
    first_response: float | None
    replies: tuple[float | None, ...]  # per line, in order
    median_reply: float | None


ORDER = Talk(
    "19:order4471@thread.v2",
    "Order 4471",
    DAY_ONE,
    (
        Line(ALICE, 0, "Hello, my order has not arrived"),
        Line(
            ALICE,
            20,
            "Order 4471",
            edits=((50, "Order 4471, placed Monday"), (70, "Order 4471, placed on Monday")),
        ),
        Line(TEAMS_USER, 95, "Let me check"),
        Line(TEAMS_USER, 100, "Found it: it left the depot", deleted=200),
        Line(ALICE, 160, "Thanks"),
        Line(BOB, 400, "Closing this"),
    ),
    first_response=95,
    replies=(None, None, 75, None, 60, 240),
    median_reply=75,
)
QUIET = Talk(
    "19:quiet@thread.v2",
    "Anyone?",
    DAY_ONE + timedelta(hours=4),
    (Line(BOB, 0, "Anyone there?"), Line(BOB, 600, "Hello?")),
    first_response=None,
    replies=(None, None),
    median_reply=None,
)
REFUND = Talk(
    "19:refund@thread.v2",
    "Refund",
    DAY_ONE + timedelta(hours=6),
    (Line(ALICE, 0, "A refund, please"), Line(TEAMS_USER, 30, "Done")),
    first_response=30,
    replies=(None, 30),
    median_reply=30,
)
RESET = Talk(
    "19:reset@thread.v2",
    "Password",
    DAY_TWO,
    (
        Line(BOB, 0, "My password, again"),
        Line(TEAMS_USER, 300, "Sent you a link", edits=((330, "Sent you a new link"),)),
        Line(BOB, 310, "Got it"),
    ),
    first_response=300,
    replies=(None, 300, 10),
    median_reply=155,
)
TALKS = (ORDER, QUIET, REFUND, RESET)


def message_id(talk: Talk, line: Line) -> str:
    """An ACS-like id: the compose time in epoch milliseconds."""
    return str(int((talk.start + timedelta(seconds=line.at)).timestamp() * 1000))


def composed(talk: Talk, line: Line) -> datetime:
    return talk.start + timedelta(seconds=line.at)


def events(talks: tuple[Talk, ...] = TALKS) -> list[dict[str, Any]]:
    """The events ACS publishes for the talks: each thread's creation, each message,
    edit and deletion."""
    return [event for talk in talks for event in _talk_events(talk)]


def _talk_events(talk: Talk) -> Iterator[dict[str, Any]]:
    yield thread_event(
        "ChatThreadCreated",
        thread_id=talk.thread_id,
        subject_line=talk.topic,
        time=format_timestamp(talk.start),
        participants=sorted({line.sender for line in talk.lines}),
    )
    for line in talk.lines:
        key = message_id(talk, line)
        base: dict[str, Any] = {
            "thread_id": talk.thread_id,
            "message_id": key,
            "sender": line.sender,
        }
        compose = format_timestamp(composed(talk, line))
        yield message_event("received", **base, body=line.body, version=int(key), time=compose)
        for number, (seconds, text) in enumerate(line.edits, 1):
            when = format_timestamp(talk.start + timedelta(seconds=seconds))
            edit = message_event("edited", **base, body=text, version=int(key) + number, time=when)
            edit["data"]["composeTime"] = compose
            yield edit
        if line.deleted is not None:
            when = format_timestamp(talk.start + timedelta(seconds=line.deleted))
            gone = message_event("deleted", **base, version=int(key) + 100, time=when)
            gone["data"]["composeTime"] = compose
            yield gone


_RANK = {"received": 0, "edited": 1, "deleted": 2}


async def by_hand(storage: Storage) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages and threads tables worked out from the archive's blobs directly, the
    plainest way: every version blob read, grouped, counted and timed."""
    versions: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    async for name in storage.blobs.names("messages/"):
        document = json.loads(await storage.blobs.read(name))
        versions[document["threadId"]][document["messageId"]].append(document)
    messages: list[dict[str, Any]] = []
    threads: list[dict[str, Any]] = []
    for thread_id in sorted(versions):
        rows = sorted(
            (_message_row(docs) for docs in versions[thread_id].values()),
            key=lambda row: (row["created"], row["message_id"]),
        )
        rows[0]["reply_seconds"] = None
        for index in range(1, len(rows)):
            before, row = rows[index - 1], rows[index]
            other = before["sender_id"] != row["sender_id"]
            row["reply_seconds"] = _seconds(before["created"], row["created"]) if other else None
        messages.extend(rows)
        threads.append(_thread_row(thread_id, rows))
    return messages, threads


def _message_row(docs: list[dict[str, Any]]) -> dict[str, Any]:
    docs.sort(key=lambda d: (d["version"], _RANK[d["action"]]))
    times = [_time(d["deleteTime"] or d["editTime"] or d["composeTime"]) for d in docs]
    texts = [d["body"] for d in docs if d["action"] != "deleted"]
    edits = sum(d["action"] == "edited" for d in docs)
    return {
        "thread_id": docs[0]["threadId"],
        "message_id": docs[0]["messageId"],
        "sender_id": docs[0]["senderId"],
        "sender_kind": docs[0]["senderKind"],
        "sender_display_name": None,
        "created": _time(docs[0]["composeTime"]),
        "first_version_time": min(times),
        "last_version_time": max(times),
        "versions": len(docs),
        "edited": edits > 0,
        "edits": edits,
        "deleted": any(d["action"] == "deleted" for d in docs),
        "body_length": len(texts[-1]) if texts else None,
    }


def _thread_row(thread_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    first = rows[0]
    others = [r for r in rows if r["sender_id"] != first["sender_id"]]
    replies = [r["reply_seconds"] for r in rows if r["reply_seconds"] is not None]
    writers = sorted({r["sender_id"] for r in rows})
    return {
        "thread_id": thread_id,
        "topic": None,
        "participants": len(writers),
        "participant_ids": writers,
        "messages": len(rows),
        "first_message_time": first["created"],
        "last_message_time": rows[-1]["created"],
        "duration_seconds": _seconds(first["created"], rows[-1]["created"]),
        "first_response_seconds": _seconds(first["created"], others[0]["created"])
        if others
        else None,
        "median_reply_seconds": statistics.median(replies) if replies else None,
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()
