"""The jobs' storage contract: the activity table and the job queue behave alike in
memory and on Azurite."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from archiver.core.activity import AGAIN
from archiver.storage.ports import Storage


async def test_activity_is_read_back_by_a_range_of_hours_and_recording_twice_changes_nothing(
    storage: Storage,
):
    activity = storage.activity
    await activity.record("2026120309", {"t-a", "t-b"})
    await activity.record("2026120309", {"t-a"})
    await activity.record("2026120310", {"t-a"})
    await activity.record("2026120312", {"t-c"})

    assert [k async for k in activity.thread_keys("2026120309", "2026120310")] == [
        "t-a",
        "t-b",
        "t-a",
    ]
    assert [k async for k in activity.thread_keys("2026120311", "2026120312")] == ["t-c"]
    assert [k async for k in activity.thread_keys("2026120401", "2026120423")] == []


async def test_a_hundred_and_fifty_threads_of_one_hour_are_all_recorded(storage: Storage):
    keys = {f"thread-{n:03d}" for n in range(150)}  # more than one table transaction holds

    await storage.activity.record("2026120309", keys)

    assert {k async for k in storage.activity.thread_keys("2026120309", "2026120309")} == keys


async def test_a_jobs_list_is_not_an_hour_and_its_rows_can_be_forgotten(storage: Storage):
    activity = storage.activity
    await activity.record(AGAIN + "dispose", {"t-held", "t-kept"})
    await activity.record("2026120309", {"t-a"})

    await activity.forget(AGAIN + "dispose", "t-kept")
    await activity.forget(AGAIN + "dispose", "never-there")

    assert [k async for k in activity.thread_keys("0000000000", "9999999999")] == ["t-a"]
    again = AGAIN + "dispose"
    assert [k async for k in activity.thread_keys(again, again)] == ["t-held"]


async def test_a_cursor_is_none_until_moved_and_then_what_it_was_moved_to(storage: Storage):
    activity = storage.activity

    assert await activity.cursor("seal") is None
    await activity.move_cursor("seal", "2026120304")
    await activity.move_cursor("seal", "2026120404")

    assert await activity.cursor("seal") == "2026120404"
    assert await activity.cursor("dispose") is None


async def test_a_received_job_is_hidden_until_deleted_or_its_visibility_ends(storage: Storage):
    queue = storage.queue(f"jobs-{uuid.uuid4().hex[:12]}")
    await queue.prepare()
    await queue.send('{"job": "seal"}')

    first = await queue.receive(limit=5, visibility_seconds=1)
    hidden = await queue.receive(limit=5, visibility_seconds=1)
    await asyncio.sleep(1.5)
    again = await queue.receive(limit=5, visibility_seconds=30)
    await queue.delete(again[0])
    await queue.delete(again[0])  # already gone: fine

    assert [(d.text, d.dequeue_count) for d in first] == [('{"job": "seal"}', 1)]
    assert hidden == []
    assert [(d.text, d.dequeue_count) for d in again] == [('{"job": "seal"}', 2)]
    assert await queue.receive(limit=5, visibility_seconds=1) == []
    assert await queue.length() == 0


async def test_a_delayed_job_is_not_received_before_its_delay(storage: Storage):
    queue = storage.queue(f"jobs-{uuid.uuid4().hex[:12]}")
    await queue.prepare()
    await queue.send("later", delay_seconds=30)
    await queue.send("now")

    received = await queue.receive(limit=5, visibility_seconds=30)

    assert [d.text for d in received] == ["now"]
    assert await queue.length() == 2


async def test_a_released_job_is_received_again_at_once(storage: Storage):
    queue = storage.queue(f"jobs-{uuid.uuid4().hex[:12]}")
    await queue.prepare()
    await queue.send("retry me")
    [first] = await queue.receive(limit=1, visibility_seconds=300)

    await queue.release(first)

    assert [
        (d.text, d.dequeue_count) for d in await queue.receive(limit=1, visibility_seconds=1)
    ] == [("retry me", 2)]


async def test_a_lease_goes_to_one_claimant_until_it_ends_or_is_released(storage: Storage):
    now = datetime(2026, 12, 3, 4, 15, tzinfo=UTC)
    hold = timedelta(minutes=5)
    activity = storage.activity

    first, second = await asyncio.gather(
        activity.claim("~sealing", "t-a", now=now, hold=hold),
        activity.claim("~sealing", "t-a", now=now, hold=hold),
    )
    during = await activity.claim("~sealing", "t-a", now=now + timedelta(minutes=4), hold=hold)
    after = await activity.claim("~sealing", "t-a", now=now + timedelta(minutes=6), hold=hold)
    await activity.forget("~sealing", "t-a")
    released = await activity.claim("~sealing", "t-a", now=now + timedelta(minutes=7), hold=hold)

    assert sorted([first, second]) == [False, True]
    assert (during, after, released) == (False, True, True)
