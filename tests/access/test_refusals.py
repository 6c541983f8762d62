"""Refusals stored as bounded audit records, on both storage adapters: a closed minute is
stored in the background (by the timer, or beside the next refusal, never in its way),
a failed store is tried again without storing twice, and shutdown stores the rest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from archiver.access.refusals import Refusals
from archiver.core.governance.audit import ANONYMOUS, REFUSALS, Refused, refusals_record
from archiver.core.http import HttpRequest
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage
from tests.instrumented import Instrumented

MINUTE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the minute boundaries."""

    def __init__(self, at: datetime = MINUTE) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now


def refused(ip: str = "203.0.113.7") -> HttpRequest:
    return HttpRequest("GET", client_ip=ip)


def note(refusals: Refusals, count: int, *, ip: str = "203.0.113.7", status: int = 401) -> None:
    for _ in range(count):
        refusals.note(refused(ip), route="read.thread", status=status, principal=None)


async def stored(storage: Storage) -> list[dict]:
    return [r async for r in AuditTrail(storage).records() if r["action"] == REFUSALS]


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.01)


async def test_the_next_refusal_after_a_minute_closes_stores_it_beside_its_own_answer(
    storage: Storage,
):
    clock = Clock()
    refusals = Refusals(AuditTrail(storage), clock=clock)
    note(refusals, 500)
    note(refusals, 2, ip="198.51.100.9")
    clock.now = MINUTE + timedelta(minutes=1, seconds=3)

    note(refusals, 1)  # returns at once: the store runs as a task of its own
    assert refusals.stored == 0
    await eventually(lambda: refusals.stored == 2)

    found = await stored(storage)
    assert [(r["clientIp"], r["details"]["count"]) for r in found] == [
        ("203.0.113.7", 500),
        ("198.51.100.9", 2),
    ]
    assert {r["details"]["minute"] for r in found} == {"2026-12-03T10:00:00.000Z"}
    await refusals.close()
    assert [r["details"]["count"] for r in await stored(storage)] == [500, 2, 1]


async def test_the_timer_stores_a_minute_soon_after_it_closes_with_no_request_after_it(
    storage: Storage,
):
    began = time.monotonic()
    start = MINUTE + timedelta(seconds=59.8)  # the minute closes in 0.2 s of real time
    refusals = Refusals(
        AuditTrail(storage),
        grace_seconds=0.05,
        clock=lambda: start + timedelta(seconds=time.monotonic() - began),
    )

    note(refusals, 3)
    await eventually(lambda: refusals.stored == 1, seconds=5)

    [record] = await stored(storage)
    assert record["details"]["count"] == 3
    await refusals.close()


async def test_a_store_that_fails_is_kept_and_the_next_flush_stores_it_once(storage: Storage):
    clock = Clock()
    failing = Instrumented(storage, failing={"create": 2})
    refusals = Refusals(AuditTrail(failing), clock=clock)
    note(refusals, 7)
    clock.now += timedelta(minutes=1)

    await refusals.flush()
    await refusals.flush()
    await refusals.flush()

    assert refusals.stored == 1
    assert [r["details"]["count"] for r in await stored(storage)] == [7]
    await refusals.close()


async def test_a_record_stored_again_after_a_lost_answer_is_stored_once(storage: Storage):
    trail = AuditTrail(storage)
    record = refusals_record(
        Refused(
            minute=MINUTE,
            principal=ANONYMOUS,
            client_ip="203.0.113.7",
            count=4,
            statuses={401: 4},
            routes={"read.thread": 4},
            first=MINUTE,
            last=MINUTE,
        ),
        at=MINUTE + timedelta(minutes=1),
    )

    await trail.store(record)
    await trail.store(record)  # the retry of a store whose answer never came

    assert [r["id"] for r in await stored(storage)] == [record.id]


async def test_while_storage_keeps_failing_the_oldest_records_are_dropped_and_counted(
    storage: Storage, caplog
):
    clock = Clock()
    down = Instrumented(storage, failing={"create": 1000})
    refusals = Refusals(AuditTrail(down), clock=clock, most_pending=2)
    for minute in range(4):
        note(refusals, minute + 1)
        clock.now += timedelta(minutes=1)
        await refusals.flush()

    assert refusals.lost == 1 + 2
    assert "Dropped the records of 1 refused requests" in caplog.text
    down.failing.clear()
    await refusals.close()
    assert [r["details"]["count"] for r in await stored(storage)] == [3, 4]


async def test_shutdown_stores_the_minute_in_progress(storage: Storage):
    refusals = Refusals(AuditTrail(storage))
    note(refusals, 9, status=403)

    await refusals.close()

    [record] = await stored(storage)
    assert (record["details"]["count"], record["details"]["statuses"]) == (9, {"403": 9})


async def test_records_since_a_moment_include_the_finer_times_within_its_millisecond(
    storage: Storage,
):
    at = MINUTE + timedelta(microseconds=500)
    trail = AuditTrail(storage, clock=lambda: at)
    await trail.record("read.thread", ANONYMOUS, outcome="allowed")

    found = [r async for r in trail.records(since=MINUTE)]
    later = [r async for r in trail.records(since=MINUTE + timedelta(milliseconds=1))]

    assert [r["time"] for r in found] == ["2026-12-03T10:00:00.000500Z"]
    assert later == []
