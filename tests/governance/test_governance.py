"""Legal holds, retention and the audit trail, on every storage adapter: a held thread
survives every disposal, a disposal interrupted anywhere finishes and never deletes a
held thread, and every change leaves its audit record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from archiver.core.errors import InvalidQuery, OnHold, StorageUnavailable, UnknownThread
from archiver.core.governance.holds import Scope
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage
from tests.governance.archives import (
    ADMIN,
    LATER,
    OPERATOR,
    SHAPE,
    archived,
    audit,
    disposal,
    dispose,
    everything_of,
    hold,
    holds,
    key,
)
from tests.instrumented import Instrumented

__all__ = ["SHAPE"]  # the entry-point specs archive the same chats


async def test_a_hold_is_placed_and_released_each_change_recorded_before_and_after(
    storage: Storage,
):
    simulated = await archived(storage)
    thread = simulated.threads[0]

    placed = await holds(storage).add(
        Scope.THREAD, thread, matter="CASE-4471", reason="Litigation hold", principal=ADMIN
    )
    listed = await holds(storage).listed()
    freed = await holds(storage).release(
        Scope.THREAD, thread, matter="CASE-4471", reason="Case closed", principal=ADMIN
    )

    assert (placed.hold.held, placed.hold.reason, placed.hold.matter, placed.hold.placed_by) == (
        True,
        "Litigation hold",
        "CASE-4471",
        "Ada Admin (entra)",
    )
    assert [h.target for h in listed] == [thread]
    assert (freed.hold.held, freed.hold.release_reason, freed.holds) == (False, "Case closed", ())
    assert await holds(storage).listed() == []
    records = await audit(storage)
    assert [(r["action"], r["outcome"], r["target"]) for r in records] == [
        ("hold.add", "started", {"threadId": thread}),
        ("hold.add", "done", {"threadId": thread}),
        ("hold.release", "started", {"threadId": thread}),
        ("hold.release", "done", {"threadId": thread}),
    ]
    assert records[0]["principal"] == {
        "kind": "entra",
        "objectId": "5f1e",
        "appId": None,
        "name": "Ada Admin",
    }
    assert records[0]["details"] == {
        "scope": "thread",
        "matter": "CASE-4471",
        "reason": "Litigation hold",
    }
    assert records[1]["details"]["started"] == records[0]["id"]


async def test_a_hold_on_a_thread_the_archive_does_not_hold_is_refused_and_audited(
    storage: Storage,
):
    with pytest.raises(UnknownThread):
        await holds(storage).add(
            Scope.THREAD, "19:nothing@thread.v2", matter="M-1", reason="x", principal=ADMIN
        )
    with pytest.raises(InvalidQuery, match="not on hold"):
        await holds(storage).release(
            Scope.THREAD, "19:nothing@thread.v2", matter="M-1", reason="x", principal=ADMIN
        )

    assert [(r["action"], r["outcome"]) for r in await audit(storage)] == [
        ("hold.add", "refused"),
        ("hold.release", "refused"),
    ]


async def test_a_held_thread_survives_disposal_and_the_others_go_whole(storage: Storage):
    simulated = await archived(storage)
    held, *others = simulated.threads
    await hold(storage, held, "CASE-1")
    before = await everything_of(storage, held)

    results = await dispose(storage)

    assert sorted(results) == sorted([(held, "held"), *((t, "disposed") for t in others)])
    assert await everything_of(storage, held) == before
    for thread in others:
        assert await everything_of(storage, thread) == []


async def test_each_disposal_is_audited_with_every_blob_it_deleted_and_its_hash(
    storage: Storage,
):
    simulated = await archived(storage)
    thread = simulated.threads[1]
    blobs = {b.name: b.sha256 async for b in _listing(storage, key(thread))}

    await dispose(storage)

    records = [r for r in await audit(storage) if r["target"] == {"threadId": thread}]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("dispose", "started"),
        ("dispose", "done"),
    ]
    assert {b["name"]: b["sha256"] for b in records[0]["details"]["blobs"]} == blobs
    assert records[1]["details"]["started"] == records[0]["id"]
    assert records[1]["details"]["blobs"] == len(blobs)
    assert records[1]["details"]["rowsKept"] == 0
    assert records[1]["details"]["threadRowKept"] is False
    assert all(json.dumps(r).find("body") == -1 for r in records)


async def _listing(storage: Storage, thread_key: str):
    for folder in ("messages", "threads", "transcripts"):
        async for blob in storage.blobs.listing(f"{folder}/{thread_key}/"):
            yield blob


async def test_a_dry_run_deletes_and_claims_nothing(storage: Storage):
    simulated = await archived(storage)
    before = {t: await everything_of(storage, t) for t in simulated.threads}

    results = [r async for r in disposal(storage).run(OPERATOR, dry_run=True)]

    assert {r.outcome for r in results} == {"would dispose"}
    assert all(r.blobs > 0 for r in results)
    assert {t: await everything_of(storage, t) for t in simulated.threads} == before
    assert [h async for h in storage.holds.scan()] == []


async def test_threads_active_within_retention_are_kept(storage: Storage):
    simulated = await archived(storage)

    assert await dispose(storage, days=365) == []
    assert all([await everything_of(storage, t) for t in simulated.threads])


async def test_retention_zero_keeps_everything_forever(storage: Storage):
    await archived(storage)

    assert await dispose(storage, days=0) == []


async def test_a_hold_placed_mid_run_keeps_its_thread(storage: Storage):
    simulated = await archived(storage)
    order = sorted(simulated.threads, key=key)
    run = disposal(storage).run(OPERATOR)

    first = await anext(run)
    await hold(storage, order[1], "CASE-LATE", "Late hold")
    rest = [r async for r in run]

    assert (first.thread_id, first.outcome) == (order[0], "disposed")
    assert [(r.thread_id, r.outcome) for r in rest] == [(order[1], "held"), (order[2], "disposed")]
    assert await everything_of(storage, order[1]) != []


async def test_a_disposal_interrupted_midway_finishes_on_the_next_run_and_cannot_be_held(
    storage: Storage,
):
    simulated = await archived(storage)
    order = sorted(simulated.threads, key=key)
    crashing = Instrumented(storage)
    deleted = 0

    async def crash_after_three(name: str) -> None:
        nonlocal deleted
        if deleted == 3:
            raise StorageUnavailable("the process stopped")
        deleted += 1
        await storage.blobs.delete(name)

    crashing.blobs.delete = crash_after_three  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        await dispose(crashing)
    with pytest.raises(OnHold, match="being disposed of"):
        await hold(storage, order[0], "CASE-TOO-LATE", "Too late")

    resumed = await dispose(storage)

    assert resumed == [(t, "disposed") for t in order]
    for thread in order:
        assert await everything_of(storage, thread) == []
    known = await storage.holds.state(key(order[0]))
    assert known is not None
    assert (known.row.disposed_at, known.row.claimed_at) == (LATER, None)


async def test_audit_records_are_listed_by_day_principal_and_thread(storage: Storage):
    trail = AuditTrail(storage, clock=lambda: datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    later = AuditTrail(storage, clock=lambda: datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
    await trail.record(
        "read.thread", ADMIN, outcome="allowed", target={"threadId": "19:a@thread.v2"}, status=200
    )
    await later.record(
        "read.thread",
        OPERATOR,
        outcome="allowed",
        target={"threadId": "19:b@thread.v2"},
        status=200,
    )
    await later.record("export", ADMIN, outcome="done", target={"threadId": "19:b@thread.v2"})

    since = [r["action"] async for r in later.records(since=datetime(2026, 12, 4, tzinfo=UTC))]
    by_admin = [r["action"] async for r in later.records(principal="5f1e")]
    by_thread = [r["action"] async for r in later.records(thread="19:b@thread.v2")]
    names = [n async for n in storage.blobs.names("audit/")]

    assert sorted(since) == ["export", "read.thread"]
    assert sorted(by_admin) == ["export", "read.thread"]
    assert sorted(by_thread) == ["export", "read.thread"]
    assert names[0].startswith("audit/2026/12/03/100000-")
    assert len(names) == 3
