"""The ChatThreads table as the archive keeps it, on every storage adapter."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.errors import StorageUnavailable
from archiver.core.events import classify
from archiver.core.threads import ThreadRow
from archiver.storage.ports import Storage
from tests.builders import ALICE, BOB, CAROL, THREAD, fan_out, message_event, thread_event
from tests.core.test_threads import CREATED, apply_in_order, life
from tests.instrumented import Instrumented


def archive_on(storage: Storage) -> Archive:
    return Archive(storage, concurrency=16, timeout_seconds=20.0)


async def deliver(archive: Archive, *events: dict) -> None:
    await archive.store([classify(RawEvent.from_value(e)) for e in events])


async def thread_row(storage: Storage, thread_id: str = THREAD) -> ThreadRow | None:
    known = await storage.threads.get(thread_id)
    return None if known is None else known.row


def at(minutes: float) -> str:
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("seed", range(6))
async def test_a_threads_life_in_shuffled_concurrent_batches_ends_as_the_pure_rules_say(
    storage: Storage, seed: int
):
    events = life()
    expected = apply_in_order(events)
    copies = [e for e in events for _ in range(3)]  # redelivered, and per-user-like repeats
    random.Random(seed).shuffle(copies)
    batches = [copies[i : i + 4] for i in range(0, len(copies), 4)]
    archives = [archive_on(storage), archive_on(storage)]  # two processes, one storage

    await asyncio.gather(*(deliver(archives[n % 2], *batch) for n, batch in enumerate(batches)))

    assert await thread_row(storage) == expected


async def test_a_thread_row_lists_current_and_former_participants_with_names(storage: Storage):
    await deliver(archive_on(storage), *life())

    row = await thread_row(storage)

    assert row is not None
    assert [(m.raw_id, m.display_name, m.present) for m in row.members] == sorted(
        [(ALICE, "Bob", True), (BOB, "Bob (back)", True), (CAROL, "Carol", False)]
    )


async def test_a_message_in_a_thread_this_process_knows_costs_no_thread_request(
    storage: Storage,
):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    await deliver(archive, thread_event("ChatThreadCreated", version=CREATED, time=at(0)))
    counted.calls.clear()

    await deliver(archive, *fan_out([BOB, CAROL], message_id="1764579600001", time=at(5)))

    assert counted.requests == {"create": 1, "insert": 1}


async def test_a_new_threads_row_is_inserted_without_reading_it_first(storage: Storage):
    counted = Instrumented(storage)

    await deliver(archive_on(counted), thread_event("ChatThreadCreated", version=CREATED))

    assert counted.requests == {"activity.record": 1, "create": 1, "thread.insert": 1}


async def test_activity_a_quarter_hour_on_moves_the_row_with_its_known_etag(storage: Storage):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    await deliver(archive, message_event(message_id="1764579600001", time=at(0)))
    counted.calls.clear()

    await deliver(archive, message_event(message_id="1764580500001", time=at(15)))

    assert counted.requests == {"create": 1, "insert": 1, "thread.replace": 1}
    row = await thread_row(storage)
    assert row is not None
    assert row.last_activity == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)


async def test_a_thread_row_another_process_moved_is_read_again_and_both_facts_kept(
    storage: Storage,
):
    here, there = archive_on(storage), archive_on(storage)
    await deliver(here, thread_event("ChatThreadCreated", version=CREATED, time=at(0)))
    await deliver(
        there,
        thread_event(
            "ChatThreadParticipantAdded", version=CREATED + 1, participant=CAROL, time=at(1)
        ),
    )

    await deliver(here, message_event(message_id="1764581400001", time=at(30)))

    row = await thread_row(storage)
    assert row is not None
    assert CAROL in {m.raw_id for m in row.participants}
    assert row.last_activity == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def test_a_failed_thread_row_write_fails_the_request_and_redelivery_repairs_it(
    storage: Storage,
):
    event = thread_event("ChatThreadCreated", version=CREATED)
    failing = Instrumented(storage, failing={"thread.insert": 1})
    archive = archive_on(failing)

    with pytest.raises(StorageUnavailable):
        await deliver(archive, event)
    assert await thread_row(storage) is None

    await deliver(archive, event)

    row = await thread_row(storage)
    assert row is not None
    assert row.created_by == ALICE


async def test_a_thread_row_that_never_stops_changing_gives_up_as_unavailable(
    storage: Storage,
):
    await deliver(archive_on(storage), thread_event("ChatThreadCreated", version=CREATED))
    racing = Instrumented(storage, racing=frozenset({"thread.replace"}))

    with pytest.raises(StorageUnavailable, match="kept changing"):
        await deliver(
            archive_on(racing),
            thread_event("ChatThreadParticipantAdded", version=CREATED + 1, participant=CAROL),
        )


async def test_quarantined_and_ignored_events_leave_the_thread_table_alone(storage: Storage):
    broken = message_event()
    del broken["data"]["messageId"]
    typing = message_event()
    typing["eventType"] = "Microsoft.Communication.ChatTypingIndicatorReceivedInThread"

    await deliver(archive_on(storage), broken, typing)

    assert [row async for row in storage.threads.scan()] == []
