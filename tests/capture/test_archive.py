"""The archive use case, on every storage adapter: idempotent, order-independent, exact."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random

import pytest

from archiver.capture.archive import Archive
from archiver.capture.latestrows import ROW_ATTEMPTS
from archiver.capture.report import Outcome, Report
from archiver.core.envelopes import RawEvent
from archiver.core.errors import StorageUnavailable
from archiver.core.events import classify
from archiver.core.keys import encode_key
from archiver.core.records import Action
from archiver.storage.ports import Storage
from tests.builders import BOB, CAROL, THREAD, fan_out, message_event, new_message_id
from tests.instrumented import Instrumented

RECIPIENTS = [BOB, CAROL] + [f"8:acs:109f0644_0000000{n}" for n in range(18)]


def archive_on(storage: Storage, **options: object) -> Archive:
    settings: dict = {"concurrency": 16, "timeout_seconds": 20.0} | options
    return Archive(storage, **settings)


async def deliver(archive: Archive, *events: dict) -> Report:
    return await archive.store([classify(RawEvent.from_value(e)) for e in events])


async def names(storage: Storage, prefix: str = "") -> list[str]:
    return [name async for name in storage.blobs.names(prefix)]


async def latest(storage: Storage, message_id: str, thread_id: str = THREAD):
    return await storage.messages.get(
        encode_key(thread_id, field="threadId"), encode_key(message_id, field="messageId")
    )


def lifecycle(message_id: str) -> list[dict]:
    """A message received, edited twice and deleted, with rising versions."""
    base = int(message_id)
    return [
        message_event("received", message_id=message_id, version=base),
        message_event("edited", message_id=message_id, version=base + 10, body="first edit"),
        message_event("edited", message_id=message_id, version=base + 20, body="second"),
        message_event("deleted", message_id=message_id, version=base + 30),
    ]


async def test_every_version_is_stored_once_and_the_row_holds_the_newest(storage: Storage):
    message_id = new_message_id()

    report = await deliver(archive_on(storage), *lifecycle(message_id))

    assert report.summary() == {
        "received": 4,
        "archived": 4,
        "duplicates": 0,
        "quarantined": 0,
        "ignored": 0,
    }
    assert len(await names(storage, "messages/")) == 4
    row = await latest(storage, message_id)
    assert row is not None
    assert (row.version, row.action, row.body) == (int(message_id) + 30, Action.DELETED, None)


async def test_every_delivery_order_of_a_message_gives_the_same_final_row(storage: Storage):
    archive = archive_on(storage)
    for order in itertools.permutations(range(4)):
        message_id = new_message_id()
        events = lifecycle(message_id)
        for index in order:
            await deliver(archive, events[index])

        row = await latest(storage, message_id)
        assert row is not None
        assert (row.version, row.action) == (int(message_id) + 30, Action.DELETED), order
        assert (
            len(await names(storage, f"messages/{encode_key(THREAD, field='t')}/{message_id}/"))
            == 4
        )


async def test_at_equal_versions_a_deletion_wins_whatever_the_order(storage: Storage):
    archive = archive_on(storage)
    for order in itertools.permutations(["received", "edited", "deleted"]):
        message_id = new_message_id()
        for action in order:
            await deliver(archive, message_event(action, message_id=message_id, version=5))

        row = await latest(storage, message_id)
        assert row is not None
        assert row.action is Action.DELETED, order


async def test_a_late_edit_never_overwrites_a_deletion(storage: Storage):
    archive = archive_on(storage)
    message_id = new_message_id()
    received, edited, _, deleted = lifecycle(message_id)

    await deliver(archive, received, deleted)
    report = await deliver(archive, edited)

    assert report.summary()["archived"] == 1
    row = await latest(storage, message_id)
    assert row is not None
    assert row.action is Action.DELETED
    assert len(await names(storage, "messages/")) == 3


async def test_a_redelivered_request_stores_nothing_new_and_reports_duplicates(storage: Storage):
    archive = archive_on(storage)
    events = lifecycle(new_message_id())
    await deliver(archive, *events)
    before = {name: await storage.blobs.read(name) for name in await names(storage)}

    report = await deliver(archive, *events)

    assert report.outcomes == (Outcome.DUPLICATE,) * 4
    assert {name: await storage.blobs.read(name) for name in await names(storage)} == before


async def test_per_user_copies_cost_the_writes_of_one_version_and_its_new_thread_row(
    storage: Storage,
):
    counted = Instrumented(storage)
    message_id = new_message_id()

    report = await deliver(archive_on(counted), *fan_out(RECIPIENTS, message_id=message_id))

    assert report.summary() == {
        "received": 20,
        "archived": 1,
        "duplicates": 19,
        "quarantined": 0,
        "ignored": 0,
    }
    # The thread was unknown to this process: its row is read (there is none), inserted,
    # and its activity this hour recorded.
    assert counted.requests == {
        "activity.record": 1,
        "create": 1,
        "insert": 1,
        "thread.get": 1,
        "thread.insert": 1,
    }


async def test_an_edit_costs_one_blob_one_read_and_one_conditional_row_write(storage: Storage):
    archive = archive_on(storage)
    message_id = new_message_id()
    await deliver(archive, message_event("received", message_id=message_id))
    counted = Instrumented(storage)

    await deliver(archive_on(counted), *fan_out(RECIPIENTS, action="edited", message_id=message_id))

    # The thread row is read once and already says the edit's activity (within 15 minutes).
    assert counted.requests == {
        "activity.record": 1,
        "create": 1,
        "current": 1,
        "replace": 1,
        "thread.get": 1,
    }


async def test_a_redelivered_version_costs_one_refused_create_and_one_row_read(
    storage: Storage,
):
    events = fan_out(RECIPIENTS, action="edited", message_id=new_message_id())
    await deliver(archive_on(storage), *events)
    counted = Instrumented(storage)

    await deliver(archive_on(counted), *events)

    assert counted.requests == {"activity.record": 1, "create": 1, "current": 1, "thread.get": 1}


async def test_a_request_writes_each_message_row_once_however_many_versions_it_holds(
    storage: Storage,
):
    counted = Instrumented(storage)
    ids = [new_message_id() for _ in range(3)]
    events = [e for message_id in ids for e in lifecycle(message_id)]

    await deliver(archive_on(counted), *random.Random(7).sample(events, len(events)))

    # Each message's received version is new here, so its row goes in without a read:
    # the three rows, each at its deletion, in one transaction.
    assert counted.requests["create"] == 12
    assert counted.requests["transact"] == 1
    assert (
        counted.requests["insert"] + counted.requests["replace"] + counted.requests["current"] == 0
    )
    for message_id in ids:
        row = await latest(storage, message_id)
        assert row is not None
        assert row.action is Action.DELETED


async def test_a_message_first_archived_elsewhere_is_read_before_its_row_is_written(
    storage: Storage,
):
    message_id = new_message_id()
    received, edited, *_ = lifecycle(message_id)
    # Another process archived the edit first (events come in any order)...
    await deliver(archive_on(storage), edited)
    counted = Instrumented(storage)

    # ...so this one's insert, tried because it stored the received version, is refused.
    report = await deliver(archive_on(counted), received, lifecycle(message_id)[3])

    assert report.summary()["archived"] == 2
    assert counted.requests == {
        "activity.record": 1,
        "create": 2,
        "insert": 1,
        "current": 1,
        "replace": 1,
        "thread.get": 1,
    }
    row = await latest(storage, message_id)
    assert row is not None
    assert row.action is Action.DELETED


async def test_a_crash_between_blob_and_row_is_repaired_by_redelivery(storage: Storage):
    message_id = new_message_id()
    received, edited, *_ = lifecycle(message_id)
    await deliver(archive_on(storage), received)
    crashing = Instrumented(storage, failing={"replace": 1})

    with pytest.raises(StorageUnavailable):
        await deliver(archive_on(crashing), edited)
    stale = await latest(storage, message_id)
    report = await deliver(archive_on(storage), edited)

    assert stale is not None
    assert stale.action is Action.RECEIVED
    assert report.outcomes == (Outcome.DUPLICATE,)
    row = await latest(storage, message_id)
    assert row is not None
    assert (row.action, row.body) == (Action.EDITED, "first edit")


async def test_every_row_records_the_sha256_of_the_blob_it_points_at(storage: Storage):
    message_id = new_message_id()
    received, edited, *_ = lifecycle(message_id)
    await deliver(archive_on(storage), received)
    first = await latest(storage, message_id)
    await deliver(archive_on(storage), edited)
    second = await latest(storage, message_id)

    for row in (first, second):
        assert row is not None
        content = await storage.blobs.read(row.blob_name)
        assert row.sha256 == hashlib.sha256(content).hexdigest()
        assert row.sha256 == await storage.blobs.recorded_sha256(row.blob_name)
    assert first != second


async def test_a_row_repaired_after_a_crash_records_the_hash_stored_by_the_first_delivery(
    storage: Storage,
):
    # The redelivery's document would differ (its archivedAt): the row must name the
    # stored blob's hash, not the hash of what this delivery would have written.
    message_id = new_message_id()
    received, edited, *_ = lifecycle(message_id)
    await deliver(archive_on(storage), received)
    crashing = Instrumented(storage, failing={"replace": 1})
    with pytest.raises(StorageUnavailable):
        await deliver(archive_on(crashing), edited)
    counted = Instrumented(storage)

    await deliver(archive_on(counted), edited)

    row = await latest(storage, message_id)
    assert row is not None
    assert row.action is Action.EDITED
    assert row.sha256 == hashlib.sha256(await storage.blobs.read(row.blob_name)).hexdigest()
    assert counted.calls["recorded_sha256"] == 1


async def test_a_failed_row_insert_of_a_new_message_is_repaired_by_redelivery(storage: Storage):
    message_id = new_message_id()
    crashing = Instrumented(storage, failing={"insert": 1})

    with pytest.raises(StorageUnavailable):
        await deliver(archive_on(crashing), message_event(message_id=message_id))
    assert await latest(storage, message_id) is None
    await deliver(archive_on(storage), message_event(message_id=message_id))

    assert await latest(storage, message_id) is not None


async def test_when_a_blob_write_fails_the_request_fails_and_no_row_points_at_it(storage: Storage):
    message_id = new_message_id()
    failing = Instrumented(storage, failing={"create": 1})

    with pytest.raises(StorageUnavailable):
        await deliver(archive_on(failing), message_event(message_id=message_id))

    assert await latest(storage, message_id) is None
    assert failing.calls["insert"] == 0


async def test_concurrent_writers_on_one_message_leave_the_newest_version(storage: Storage):
    message_id = new_message_id()
    base = int(message_id)
    versions = [message_event("received", message_id=message_id, version=base)] + [
        message_event("edited", message_id=message_id, version=base + n, body=f"edit {n}")
        for n in range(1, 16)
    ]
    deliveries = versions * 2
    random.Random(3).shuffle(deliveries)
    writers = [archive_on(storage) for _ in range(8)]

    await asyncio.gather(*(deliver(writers[n % 8], event) for n, event in enumerate(deliveries)))

    row = await latest(storage, message_id)
    assert row is not None
    assert (row.version, row.body) == (base + 15, "edit 15")
    assert len(await names(storage, "messages/")) == 16


async def test_malformed_events_are_quarantined_beside_good_ones(storage: Storage):
    good = message_event(message_id=new_message_id())
    bad = message_event(message_id=new_message_id())
    del bad["data"]["version"]

    report = await deliver(archive_on(storage), bad, good, bad)

    assert report.outcomes == (Outcome.QUARANTINED, Outcome.ARCHIVED, Outcome.QUARANTINED)
    [entry] = await names(storage, "quarantine/")
    document = json.loads(await storage.blobs.read(entry))
    assert "version: Field required" in document["reason"]
    assert document["event"] == bad
    assert await latest(storage, good["data"]["messageId"]) is not None


async def test_ignored_events_are_counted_and_never_touch_storage(storage: Storage):
    typing = message_event() | {
        "eventType": "Microsoft.Communication.ChatTypingIndicatorReceivedInThread"
    }
    counted = Instrumented(storage)

    report = await deliver(archive_on(counted), typing, typing)

    assert report.summary()["ignored"] == 2
    assert counted.requests == {}
    assert await names(storage) == []


async def test_when_preparing_storage_fails_the_next_request_prepares_again(storage: Storage):
    flaky = Instrumented(storage, failing={"prepare": 1})
    archive = archive_on(flaky)

    with pytest.raises(StorageUnavailable):
        await deliver(archive, message_event(message_id=new_message_id()))
    report = await deliver(archive, message_event(message_id=new_message_id()))
    await deliver(archive, message_event(message_id=new_message_id()))

    assert report.outcomes == (Outcome.ARCHIVED,)
    assert flaky.calls["prepare"] == 2


async def test_storage_that_never_answers_fails_the_request_in_bounded_time(storage: Storage):
    stalled = Instrumented(storage, stalling=frozenset({"create"}))

    with pytest.raises(StorageUnavailable, match="within the request time"):
        await deliver(archive_on(stalled, timeout_seconds=0.2), message_event())


async def test_a_row_that_never_stops_changing_gives_up_as_unavailable(storage: Storage):
    message_id = new_message_id()
    await deliver(archive_on(storage), message_event(message_id=message_id))
    contested = Instrumented(storage, racing=frozenset({"replace"}))

    with pytest.raises(StorageUnavailable, match="kept changing"):
        await deliver(archive_on(contested), message_event("edited", message_id=message_id))

    assert contested.calls["replace"] == ROW_ATTEMPTS


async def test_a_bug_is_raised_as_itself_not_disguised_as_an_outage(storage: Storage):
    broken = Instrumented(storage, broken=frozenset({"transact"}))

    with pytest.raises(RuntimeError, match="a bug in transact"):
        await deliver(
            archive_on(broken),
            message_event(message_id=new_message_id()),
            message_event(message_id=new_message_id()),
        )


# --- One table request per thread per delivery ---------------------------------------


def new_messages(count: int, thread_id: str = THREAD) -> list[dict]:
    return [message_event(message_id=new_message_id(), thread_id=thread_id) for _ in range(count)]


async def test_new_messages_of_one_thread_cost_their_blobs_and_one_table_transaction(
    storage: Storage,
):
    counted = Instrumented(storage)
    events = new_messages(40)

    report = await deliver(archive_on(counted), *events)

    assert report.summary()["archived"] == 40
    assert counted.requests == {
        "activity.record": 1,
        "create": 40,
        "transact": 1,
        "thread.get": 1,
        "thread.insert": 1,
    }
    for event in events:
        row = await latest(storage, event["data"]["messageId"])
        assert row is not None
        assert row.body == event["data"]["messageBody"]


async def test_each_thread_of_a_request_gets_its_own_transaction(storage: Storage):
    threads = [f"19:{n}{new_message_id()}@thread.v2" for n in range(3)]
    counted = Instrumented(storage)

    await deliver(archive_on(counted), *(e for t in threads for e in new_messages(5, t)))

    assert counted.requests["transact"] == 3
    assert counted.requests["create"] == 15
    for thread in threads:
        rows = [r async for r in storage.messages.scan(encode_key(thread, field="threadId"))]
        assert len(rows) == 5


async def test_more_rows_than_one_transaction_takes_are_split_at_a_hundred(storage: Storage):
    counted = Instrumented(storage)

    await deliver(archive_on(counted, concurrency=32), *new_messages(150))

    assert counted.requests["transact"] == 2
    rows = [r async for r in storage.messages.scan(encode_key(THREAD, field="threadId"))]
    assert len(rows) == 150


async def test_edits_of_known_rows_replace_them_together_by_their_etags(storage: Storage):
    counted = Instrumented(storage)
    archive = archive_on(counted)  # one process: it remembers each row's ETag
    events = new_messages(10)
    await deliver(archive, *events)
    before = counted.requests

    edits = [
        message_event("edited", message_id=e["data"]["messageId"], body="edited") for e in events
    ]
    await deliver(archive, *edits)

    assert counted.requests - before == {"create": 10, "transact": 1}
    assert {r.body async for r in storage.messages.scan()} == {"edited"}


async def test_a_row_another_process_moved_on_is_read_alone_and_the_rest_go_together(
    storage: Storage,
):
    counted = Instrumented(storage)
    here = archive_on(counted)
    events = new_messages(6)
    await deliver(here, *events)
    ids = [e["data"]["messageId"] for e in events]
    # Another process edits message 3, so the ETag this process remembers for it is stale.
    await deliver(archive_on(storage), message_event("edited", message_id=ids[3], body="there"))
    before = counted.requests

    later = [message_event("deleted", message_id=m) for m in ids]
    report = await deliver(here, *later)

    assert report.summary()["archived"] == 6
    # The first transaction is refused at message 3, the other five go in a second one,
    # and message 3 is read and replaced by itself. (The deletions, 17 minutes on, also
    # move the thread's last activity.)
    assert counted.requests - before == {
        "create": 6,
        "transact": 2,
        "current": 1,
        "replace": 1,
        "thread.replace": 1,
    }
    for message_id in ids:
        row = await latest(storage, message_id)
        assert row is not None
        assert row.action is Action.DELETED


async def test_a_transaction_that_always_loses_still_leaves_every_row_right(storage: Storage):
    contested = Instrumented(storage, racing=frozenset({"transact"}))
    events = new_messages(4)

    await deliver(archive_on(contested), *events)

    assert contested.calls["transact"] == 2
    # Two rows were refused (read, then inserted); two went blind, each by itself.
    assert contested.calls["insert"] == 4
    assert contested.calls["current"] == 2
    for event in events:
        assert await latest(storage, event["data"]["messageId"]) is not None


async def test_a_failed_transaction_is_repaired_by_redelivery(storage: Storage):
    events = new_messages(5)
    failing = Instrumented(storage, failing={"transact": 1})

    with pytest.raises(StorageUnavailable):
        await deliver(archive_on(failing), *events)
    assert [r async for r in storage.messages.scan()] == []
    report = await deliver(archive_on(storage), *events)

    assert report.summary()["duplicates"] == 5
    for event in events:
        assert await latest(storage, event["data"]["messageId"]) is not None


async def test_requests_sharing_messages_at_once_archive_each_version_once(storage: Storage):
    # Per-user copies of one version travel in different, concurrent deliveries: the
    # second waits for the first's row writes instead of racing them.
    ids = [new_message_id() for _ in range(30)]
    copies = [fan_out(RECIPIENTS[:3], message_id=m) for m in ids]
    batches = [[c[n] for c in copies] for n in range(3)]
    counted = Instrumented(storage)
    archive = archive_on(counted)

    reports = await asyncio.gather(*(deliver(archive, *batch) for batch in batches))

    assert sum(r.summary()["archived"] for r in reports) == 30
    assert sum(r.summary()["duplicates"] for r in reports) == 60
    assert counted.requests["create"] == 30
    assert counted.requests["transact"] == 1
    for message_id in ids:
        assert await latest(storage, message_id) is not None
