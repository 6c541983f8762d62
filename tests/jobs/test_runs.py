"""The daily jobs visit only what changed or came due, read by key from ChatActivity, and
every job done twice changes nothing; on every storage adapter."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.evidence.signatures import PemSigner
from archiver.core.jobs import Job, Kind
from archiver.governance.disposal import Disposal
from archiver.governance.trail import AuditTrail
from archiver.jobs.runs import Runs
from archiver.jobs.selection import Selection
from archiver.jobs.work import Crew, Work
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.sealer import Sealer
from archiver.storage.ports import Storage
from tests.builders import message_event
from tests.chats import chat
from tests.governance.archives import SHAPE, hold, key

KEY = Ed25519PrivateKey.generate()
T0 = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
log = logging.getLogger("archiver")


async def deliver(storage: Storage, events: Iterable[dict[str, Any]], *, at: datetime) -> None:
    """Archive `events` as the webhook would, `at` that time."""
    store = Archive(storage, concurrency=8, timeout_seconds=60, clock=lambda: at)
    await store.store([classify(RawEvent.from_value(e)) for e in events])


def runs(storage: Storage, at: datetime) -> Runs:
    return Runs(Selection(storage, clock=lambda: at), batch=2, clock=lambda: at)


def work(storage: Storage, *, at: datetime, retention_days: int = 30) -> Work:
    signer = PemSigner(KEY)
    trail = AuditTrail(storage)

    async def no_flags() -> None:
        return None

    crew = Crew(
        sealer=lambda: Sealer(storage, signer, clock=lambda: at, trail=trail),
        checkpointer=lambda: Checkpointer(
            storage, signer, CheckpointLog(storage, "chat-checkpoints"), origin="test/archive"
        ),
        disposal=lambda: Disposal(storage, trail, retention_days=retention_days, clock=lambda: at),
        reconciler=lambda: (_ for _ in ()).throw(AssertionError("no ACS here")),
        hold_flags=no_flags,
        selection=Selection(storage, clock=lambda: at),
        inactive_days=7,
        storage=storage,
    )
    return Work(crew, log)


async def three_threads(storage: Storage) -> tuple[str, ...]:
    simulated = chat(7, SHAPE)
    await deliver(storage, simulated.events, at=T0)
    return simulated.threads


async def test_the_first_run_of_a_job_visits_every_thread_and_leaves_its_cursor(storage: Storage):
    threads = await three_threads(storage)

    visit = await runs(storage, T0 + timedelta(hours=5)).visit(Kind.SEAL)
    await runs(storage, T0 + timedelta(hours=5)).settle(visit)

    assert visit.swept
    assert sorted(visit.thread_ids) == sorted(threads)
    assert await storage.activity.cursor("seal") == "2026120113"


async def test_a_sealing_run_after_a_run_visits_only_the_thread_written_since(storage: Storage):
    threads = await three_threads(storage)
    first = await runs(storage, T0 + timedelta(hours=5)).visit(Kind.SEAL)
    await runs(storage, T0 + timedelta(hours=5)).do(Kind.SEAL, first, work(storage, at=T0))
    later = T0 + timedelta(hours=6)
    await deliver(
        storage, [message_event(message_id="1764590000001", thread_id=threads[1])], at=later
    )

    visit = await runs(storage, later + timedelta(hours=1)).visit(Kind.SEAL)
    counts = await runs(storage, later).do(Kind.SEAL, visit, work(storage, at=later))

    assert not visit.swept
    assert visit.thread_ids == (threads[1],)
    assert counts == {"sealed": 1, "checkpoints": 1}


async def test_a_seal_batch_delivered_twice_changes_nothing_the_second_time(storage: Storage):
    threads = await three_threads(storage)
    job = Job(job=Kind.SEAL, run="seal-1", threads=threads)
    doing = work(storage, at=T0 + timedelta(hours=1))

    first = await doing.run(job)
    seals = [name async for name in storage.blobs.names("seals/")]
    again = await doing.run(job)

    assert first == {"sealed": 3}
    assert again == {"unchanged": 3}
    assert [name async for name in storage.blobs.names("seals/")] == seals


async def test_disposal_visits_the_threads_whose_retention_day_came_and_the_held_ones_again(
    storage: Storage,
):
    threads = await three_threads(storage)  # archived on T0, said a month before
    day, retention = timedelta(days=1), timedelta(days=60)
    # The first run (no cursor) sweeps: nothing is 60 days old yet.
    first = T0 + day
    visit = await runs(storage, first).visit(Kind.DISPOSE, age=retention)
    await runs(storage, first).do(Kind.DISPOSE, visit, work(storage, at=first, retention_days=60))
    await hold(storage, threads[0], "MATTER-1")
    retention_day = T0 + retention + timedelta(hours=3)  # a run hours after the arrivals

    visit = await runs(storage, retention_day).visit(Kind.DISPOSE, age=retention)
    counts = await runs(storage, retention_day).do(
        Kind.DISPOSE, visit, work(storage, at=retention_day, retention_days=60)
    )
    again = await runs(storage, retention_day + day).visit(Kind.DISPOSE, age=retention)

    assert sorted(visit.thread_ids) == sorted(threads)
    assert counts == {"held": 1, "disposed": 2}
    assert again.thread_ids == (threads[0],)  # held: visited until a release lets it go
    assert await storage.threads.get(key(threads[1])) is None


async def test_a_forged_dispose_job_disposes_of_nothing_that_is_not_due(storage: Storage):
    # Whoever can write to the queue can send any job: each one decides again.
    threads = await three_threads(storage)
    forged = Job(job=Kind.DISPOSE, run="forged", threads=threads)

    counts = await work(storage, at=T0 + timedelta(days=2), retention_days=365).run(forged)

    assert counts == {}
    for thread_id in threads:
        assert await storage.threads.get(key(thread_id)) is not None


async def test_a_verify_job_reports_an_alteration_once_however_often_it_is_delivered(
    storage: Storage, caplog
):
    threads = await three_threads(storage)
    doing = work(storage, at=T0 + timedelta(hours=1))
    await doing.run(Job(job=Kind.SEAL, run="seal-1", threads=threads))
    victim, *_ = [n async for n in storage.blobs.names(f"messages/{key(threads[1])}/")]
    await storage.blobs.delete(victim)
    job = Job(job=Kind.VERIFY, run="verify-1", threads=threads, batch=3)

    with caplog.at_level(logging.WARNING, "archiver"):
        counts = await doing.run(job)
    report = await storage.blobs.read("reports/verify/verify-1/00003.json")
    again = await doing.run(job)

    assert counts == again == {"verified": 3, "altered": 1}
    assert json.loads(report)["findings"][0]["subject"] == victim
    assert await storage.blobs.read("reports/verify/verify-1/00003.json") == report
    assert f"Verified, altered since its last seal: {threads[1]}: missing {victim}" in caplog.text
