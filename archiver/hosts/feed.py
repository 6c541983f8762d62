"""The live feed of what the archiver did with each event, for the local viewer.

Intake publishes one Sighting per event it handled; the viewer streams them. The feed
is in-memory and bounded: it keeps the newest `history` sightings for a page that
opens late, and a subscriber that falls behind loses its oldest unsent sightings
rather than slowing the webhook down.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archiver.core.envelopes import RawEvent
from archiver.core.fields import format_timestamp
from archiver.core.records import Ignored, MessageVersion, Quarantined, Record, ThreadEvent


@dataclass(frozen=True, kw_only=True)
class Sighting:
    """One event as the viewer shows it: what it was and what became of it."""

    time: datetime
    event_type: str | None
    thread_id: str | None = None
    message_id: str | None = None
    version: int | None = None
    change: str | None = None
    outcome: str
    detail: str | None = None
    raw: str

    def to_json(self, sequence: int) -> dict[str, Any]:
        """The JSON the viewer page receives, numbered in arrival order."""
        return {
            "id": sequence,
            "time": format_timestamp(self.time),
            "eventType": self.event_type,
            "threadId": self.thread_id,
            "messageId": self.message_id,
            "version": self.version,
            "change": self.change,
            "outcome": self.outcome,
            "detail": self.detail,
            "event": self.raw,
        }


def sightings(
    events: Sequence[RawEvent],
    records: Sequence[Record],
    outcomes: Sequence[str],
    *,
    at: datetime,
    detail: str | None = None,
) -> list[Sighting]:
    """One sighting per event, from its record and its outcome."""
    return [
        _sighting(event, record, outcome, at=at, detail=detail)
        for event, record, outcome in zip(events, records, outcomes, strict=True)
    ]


def _sighting(
    event: RawEvent, record: Record, outcome: str, *, at: datetime, detail: str | None
) -> Sighting:
    common: dict[str, Any] = {
        "time": at,
        "event_type": event.event_type,
        "outcome": outcome,
        "raw": event.text,
    }
    if isinstance(record, MessageVersion):
        return Sighting(
            **common,
            thread_id=record.thread_id,
            message_id=record.message_id,
            version=record.version,
            change=str(record.action),
            detail=detail,
        )
    if isinstance(record, ThreadEvent):
        return Sighting(
            **common,
            thread_id=record.thread_id,
            version=record.version,
            change=str(record.change),
            detail=detail,
        )
    if isinstance(record, Quarantined):
        return Sighting(**common, detail=record.reason)
    assert isinstance(record, Ignored)
    return Sighting(**common, detail=detail)


class Feed:
    """Fan-out of sightings to any number of live subscribers."""

    def __init__(
        self,
        *,
        history: int = 500,
        backlog: int = 2000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
        self._numbers = itertools.count(1)
        self._recent: deque[tuple[int, Sighting]] = deque(maxlen=history)
        self._backlog = backlog
        self._subscribers: set[asyncio.Queue[tuple[int, Sighting] | None]] = set()
        self._closed = False

    def observe(
        self,
        events: Sequence[RawEvent],
        records: Sequence[Record],
        outcomes: Sequence[str],
        *,
        detail: str | None = None,
    ) -> None:
        """The intake's observer: publish what became of each event of a request."""
        self.publish(sightings(events, records, outcomes, at=self._clock(), detail=detail))

    def publish(self, items: Sequence[Sighting]) -> None:
        """Number and broadcast `items`; never blocks and never raises."""
        for item in items:
            entry = (next(self._numbers), item)
            self._recent.append(entry)
            for queue in self._subscribers:
                if queue.full():
                    queue.get_nowait()  # the slowest reader loses its oldest entry
                queue.put_nowait(entry)

    def recent(self) -> list[tuple[int, Sighting]]:
        """The newest sightings, oldest first, as (sequence, sighting)."""
        return list(self._recent)

    async def subscribe(self) -> AsyncGenerator[tuple[int, Sighting], None]:
        """Yield every sighting published from now on, until the feed closes."""
        queue: asyncio.Queue[tuple[int, Sighting] | None] = asyncio.Queue(self._backlog)
        self._subscribers.add(queue)
        try:
            while not self._closed:
                entry = await queue.get()
                if entry is None:
                    return
                yield entry
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every subscription (on shutdown), so no stream holds the host open."""
        self._closed = True
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
