"""Event Grid's delivery order, decided up front: shuffled, repeated and batched.

Event Grid promises neither order nor exactly-once delivery, and it packs events
into batches by count and size. `schedule` reproduces that deterministically from a
random generator, so a simulation with a given seed always delivers the same bodies.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Batching:
    """The subscription's delivery settings, and how disorderly delivery is."""

    max_events: int = 10  # maxEventsPerBatch (Event Grid: 1-5000, default 1)
    preferred_kb: int = 64  # preferredBatchSizeInKilobytes (1-1024, default 64)
    shuffle_window: int = 50  # an event may arrive up to this many places early or late
    redelivery: float = 0.0  # share of events delivered a second time


@dataclass(frozen=True)
class Batch:
    """One delivery: a JSON array of events, posted in one request."""

    events: tuple[str, ...]

    @property
    def body(self) -> bytes:
        """The request body, as Event Grid posts it."""
        return ("[" + ",".join(self.events) + "]").encode("utf-8")


def event_text(event: dict[str, Any]) -> str:
    """One event as compact JSON text (UTF-8, not ASCII-escaped)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def schedule(events: Sequence[str], batching: Batching, rng: random.Random) -> list[Batch]:
    """The batches that deliver `events` (and their repeats) in a shuffled order."""
    window = max(batching.shuffle_window, 0)
    keyed = [(index + rng.random() * window, text) for index, text in enumerate(events)]
    repeats = [
        (key + 1 + rng.random() * 2 * window, text)
        for key, text in keyed
        if rng.random() < batching.redelivery
    ]
    ordered = [text for _, text in sorted(keyed + repeats, key=lambda pair: pair[0])]
    return _batches(ordered, batching)


def _batches(ordered: Sequence[str], batching: Batching) -> list[Batch]:
    """Pack events greedily: never more than max_events, and a batch grows past the
    preferred size only when a single event is larger on its own."""
    limit = batching.preferred_kb * 1024
    batches: list[Batch] = []
    current: list[str] = []
    size = 2
    for text in ordered:
        length = len(text.encode("utf-8")) + 1
        if current and (len(current) >= batching.max_events or size + length > limit):
            batches.append(Batch(tuple(current)))
            current, size = [], 2
        current.append(text)
        size += length
    if current:
        batches.append(Batch(tuple(current)))
    return batches
