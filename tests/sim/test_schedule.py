"""Delivery order is disorderly like Event Grid's, within the limits the subscription sets."""

from __future__ import annotations

import json
import random
from collections import Counter

from archiver.sim.schedule import Batch, Batching, event_text, schedule

EVENTS = [event_text({"id": str(n), "data": {"n": n}}) for n in range(1000)]


def delivered(batches: list[Batch]) -> list[str]:
    return [text for batch in batches for text in batch.events]


def test_every_event_is_delivered_and_none_twice_without_redelivery():
    batches = schedule(EVENTS, Batching(), random.Random(1))

    assert Counter(delivered(batches)) == Counter(EVENTS)


def test_the_order_is_shuffled_but_no_event_moves_further_than_the_window():
    window = 20

    order = delivered(schedule(EVENTS, Batching(shuffle_window=window), random.Random(2)))

    positions = [EVENTS.index(text) for text in order]
    assert positions != sorted(positions)
    assert max(abs(at - index) for at, index in enumerate(positions)) <= window


def test_without_a_window_the_order_is_kept():
    order = delivered(schedule(EVENTS, Batching(shuffle_window=0), random.Random(3)))

    assert order == EVENTS


def test_the_redelivery_share_of_events_arrives_a_second_time_later():
    order = delivered(schedule(EVENTS, Batching(redelivery=0.3), random.Random(4)))

    counts = Counter(order)
    repeated = [text for text, count in counts.items() if count == 2]
    assert set(counts.values()) == {1, 2}
    assert 240 <= len(repeated) <= 360
    assert set(counts) == set(EVENTS)


def test_batches_never_exceed_max_events_or_the_preferred_size():
    batching = Batching(max_events=25, preferred_kb=1)

    batches = schedule(EVENTS, batching, random.Random(5))

    assert max(len(b.events) for b in batches) <= 25
    assert max(len(b.body) for b in batches) <= 1024


def test_an_event_larger_than_the_preferred_size_is_delivered_alone():
    big = event_text({"id": "big", "data": {"body": "x" * 5000}})
    events = [*EVENTS[:10], big, *EVENTS[10:20]]

    batches = schedule(events, Batching(preferred_kb=2, shuffle_window=0), random.Random(6))

    [alone] = [b for b in batches if big in b.events]
    assert alone.events == (big,)


def test_a_batch_body_is_the_json_array_event_grid_posts():
    [batch] = schedule(EVENTS[:3], Batching(shuffle_window=0), random.Random(7))

    assert json.loads(batch.body) == [json.loads(text) for text in EVENTS[:3]]


def test_the_same_seed_gives_the_same_batches():
    batching = Batching(redelivery=0.2, max_events=7)

    assert schedule(EVENTS, batching, random.Random(8)) == schedule(
        EVENTS, batching, random.Random(8)
    )
