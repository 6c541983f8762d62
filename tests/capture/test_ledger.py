"""What one archiver process remembers, and what repeats then cost: nothing they need not.

The ledger holds only facts storage confirmed, and facts that stay true (blobs are never
removed, rows only move forward), so skipping work on its word never loses a version.
"""

from __future__ import annotations

import asyncio

import pytest

from archiver.capture.archive import Archive
from archiver.capture.ledger import Ledger
from archiver.capture.report import Outcome
from archiver.core.errors import StorageUnavailable
from archiver.core.records import Action
from archiver.core.versions import Stamp
from archiver.storage.ports import Current, Storage
from tests.builders import fan_out, message_event, new_message_id
from tests.capture.test_archive import RECIPIENTS, archive_on, deliver, latest, names
from tests.instrumented import Instrumented


def test_a_remembered_name_is_forgotten_only_after_capacity_newer_ones():
    ledger = Ledger(capacity=2)

    ledger.note_archived(["a", "b"])
    ledger.note_archived(["c"])

    assert [ledger.archived(n) for n in ("a", "b", "c")] == [False, True, True]


def test_a_name_in_use_outlives_names_noted_before_it():
    ledger = Ledger(capacity=2)
    ledger.note_archived(["a", "b"])

    assert ledger.archived("a")
    ledger.note_archived(["c"])

    assert [ledger.archived(n) for n in ("a", "b", "c")] == [True, False, True]


def test_a_row_is_known_until_forgotten_or_crowded_out():
    ledger = Ledger(capacity=1)
    seen = Current(Stamp.of(5, Action.EDITED), 'W/"1"')

    ledger.note_row("t", "m", seen)
    assert ledger.row("t", "m") == seen
    ledger.forget_row("t", "m")
    assert ledger.row("t", "m") is None
    ledger.note_row("t", "m", seen)
    ledger.note_row("t", "other", seen)
    assert ledger.row("t", "m") is None


async def test_a_redelivery_to_the_same_process_costs_no_storage_request(storage: Storage):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    events = fan_out(RECIPIENTS[:3], message_id=new_message_id())
    await deliver(archive, *events)
    before = counted.requests.copy()

    report = await deliver(archive, *events)

    assert report.outcomes == (Outcome.DUPLICATE,) * 3
    assert counted.requests == before


async def test_copies_in_concurrent_requests_cost_the_writes_of_one_version_and_thread_row(
    storage: Storage,
):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    copies = fan_out(RECIPIENTS, message_id=new_message_id())

    reports = await asyncio.gather(*(deliver(archive, copy) for copy in copies))

    assert sorted(o for r in reports for o in r.outcomes) == sorted(
        [Outcome.ARCHIVED] + [Outcome.DUPLICATE] * (len(RECIPIENTS) - 1)
    )
    assert counted.requests == {
        "activity.record": 1,
        "create": 1,
        "insert": 1,
        "thread.get": 1,
        "thread.insert": 1,
    }


async def test_an_edit_in_the_same_process_replaces_the_row_without_reading_it(
    storage: Storage,
):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    message_id = new_message_id()
    await deliver(archive, message_event("received", message_id=message_id))
    counted.calls.clear()

    await deliver(archive, message_event("edited", message_id=message_id, body="fixed"))

    assert counted.requests == {"create": 1, "replace": 1}
    row = await latest(storage, message_id)
    assert row is not None
    assert (row.action, row.body) == (Action.EDITED, "fixed")


async def test_a_version_older_than_the_row_this_process_wrote_costs_only_its_blob(
    storage: Storage,
):
    counted = Instrumented(storage)
    archive = archive_on(counted)
    message_id = new_message_id()
    base = int(message_id)
    await deliver(archive, message_event("deleted", message_id=message_id, version=base + 20))
    counted.calls.clear()

    await deliver(archive, message_event("edited", message_id=message_id, version=base + 10))

    assert counted.requests == {"create": 1}
    row = await latest(storage, message_id)
    assert row is not None
    assert row.action is Action.DELETED


@pytest.mark.parametrize("other_is_newer", [False, True], ids=["mine-newer", "theirs-newer"])
async def test_a_row_another_process_moved_is_read_again_and_the_newest_wins(
    storage: Storage, other_is_newer: bool
):
    message_id = new_message_id()
    base = int(message_id)
    here, elsewhere = archive_on(storage), archive_on(storage)
    await deliver(here, message_event("received", message_id=message_id, version=base))
    theirs, mine = (base + 20, base + 10) if other_is_newer else (base + 10, base + 20)

    await deliver(elsewhere, message_event("edited", message_id=message_id, version=theirs))
    await deliver(here, message_event("edited", message_id=message_id, version=mine))

    row = await latest(storage, message_id)
    assert row is not None
    assert row.version == max(theirs, mine)


async def test_a_failed_row_write_is_not_remembered_and_the_redelivery_repairs_it(
    storage: Storage,
):
    counted = Instrumented(storage, failing={"insert": 1})
    archive = archive_on(counted)
    event = message_event("received", message_id=(message_id := new_message_id()))
    with pytest.raises(StorageUnavailable):
        await deliver(archive, event)

    report = await deliver(archive, event)

    assert report.outcomes == (Outcome.DUPLICATE,)  # the blob was stored the first time
    assert await latest(storage, message_id) is not None


async def test_when_the_request_holding_a_message_fails_the_waiting_one_archives_it(
    storage: Storage,
):
    counted = Instrumented(storage, failing={"create": 1})
    archive: Archive = archive_on(counted)
    message_id = new_message_id()
    first, second = fan_out(RECIPIENTS[:2], message_id=message_id)

    results = await asyncio.gather(
        deliver(archive, first), deliver(archive, second), return_exceptions=True
    )

    assert isinstance(results[0], StorageUnavailable)
    assert not isinstance(results[1], BaseException)
    assert results[1].outcomes == (Outcome.ARCHIVED,)
    assert len(await names(storage, "messages/")) >= 1
    assert await latest(storage, message_id) is not None
