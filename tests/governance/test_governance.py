"""Legal holds, retention and the audit trail, on every storage adapter: a held thread
survives every disposal, a disposal interrupted anywhere finishes and never deletes a
held thread, and every change leaves its audit record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from archiver.core.errors import Immutable, InvalidQuery, OnHold, StorageUnavailable, UnknownThread
from archiver.core.keys import encode_key
from archiver.core.principals import Principal
from archiver.governance.disposal import Disposal
from archiver.governance.holds import Holds
from archiver.governance.trail import AuditTrail
from archiver.sim.conversations import Shape
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage
from tests.chats import Chat, archive, chat
from tests.instrumented import Instrumented

SHAPE = Shape(threads=3, messages=6, participants=(2, 3), delete_threads=0)
ADMIN = Principal(
    kind="entra", object_id="5f1e", name="Ada Admin", roles=frozenset({"Archive.Admin"})
)
OPERATOR = Principal(kind="local", name="operator")
LATER = datetime(2027, 3, 1, tzinfo=UTC)  # the simulated chats are from November 2026


async def archived(storage: Storage) -> Chat:
    simulated = chat(7, SHAPE)
    await archive(storage, simulated.events)
    return simulated


def disposal(storage: Storage, days: int = 30) -> Disposal:
    return Disposal(storage, AuditTrail(storage), retention_days=days, clock=lambda: LATER)


async def everything_of(storage: Storage, thread_id: str) -> list[str]:
    thread_key = encode_key(thread_id, field="threadId")
    names = [n async for n in storage.blobs.names() if f"/{thread_key}/" in n]
    rows = [r.message_key async for r in storage.messages.scan(thread_key)]
    thread = await storage.threads.get(thread_key)
    return names + rows + ([thread_key] if thread else [])


async def audit(storage: Storage) -> list[dict]:
    return [r async for r in AuditTrail(storage).records()]


async def test_a_hold_is_placed_and_released_each_with_its_audit_record(storage: Storage):
    simulated = await archived(storage)
    holds = Holds(storage, AuditTrail(storage))
    thread = simulated.threads[0]

    held = await holds.add(thread, reason="Litigation hold", case="CASE-4471", principal=ADMIN)
    listed = await holds.listed()
    freed = await holds.release(thread, reason="Case closed", principal=ADMIN)

    assert (held.held, held.reason, held.case, held.placed_by) == (
        True,
        "Litigation hold",
        "CASE-4471",
        "Ada Admin (entra)",
    )
    assert [h.thread_id for h in listed] == [thread]
    assert (freed.held, freed.release_reason) == (False, "Case closed")
    assert await holds.listed() == []
    records = await audit(storage)
    assert [(r["action"], r["outcome"], r["target"]) for r in records] == [
        ("hold.add", "done", {"threadId": thread}),
        ("hold.release", "done", {"threadId": thread}),
    ]
    assert records[0]["principal"] == {
        "kind": "entra",
        "objectId": "5f1e",
        "appId": None,
        "name": "Ada Admin",
    }
    assert records[0]["details"]["case"] == "CASE-4471"


async def test_a_hold_on_a_thread_the_archive_does_not_hold_is_refused_and_audited(
    storage: Storage,
):
    holds = Holds(storage, AuditTrail(storage))

    with pytest.raises(UnknownThread):
        await holds.add("19:nothing@thread.v2", reason="x", case=None, principal=ADMIN)
    with pytest.raises(InvalidQuery, match="not on hold"):
        await holds.release("19:nothing@thread.v2", reason="x", principal=ADMIN)

    assert [(r["action"], r["outcome"]) for r in await audit(storage)] == [
        ("hold.add", "refused"),
        ("hold.release", "refused"),
    ]


async def test_a_held_thread_survives_disposal_and_the_others_go_whole(storage: Storage):
    simulated = await archived(storage)
    held, *others = simulated.threads
    await Holds(storage, AuditTrail(storage)).add(held, reason="Hold", case=None, principal=ADMIN)
    before = await everything_of(storage, held)

    results = [r async for r in disposal(storage).run(OPERATOR)]

    assert sorted((r.thread_id, r.outcome) for r in results) == sorted(
        [(held, "held"), *((t, "disposed") for t in others)]
    )
    assert await everything_of(storage, held) == before
    for thread in others:
        assert await everything_of(storage, thread) == []


async def test_each_disposal_is_audited_with_every_blob_it_deleted_and_its_hash(
    storage: Storage,
):
    simulated = await archived(storage)
    thread = simulated.threads[1]
    thread_key = encode_key(thread, field="threadId")
    blobs = {b.name: b.sha256 async for b in _listing(storage, thread_key)}

    _ = [r async for r in disposal(storage).run(OPERATOR)]

    records = [r for r in await audit(storage) if r["target"] == {"threadId": thread}]
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("dispose", "started"),
        ("dispose", "done"),
    ]
    assert {b["name"]: b["sha256"] for b in records[0]["details"]["blobs"]} == blobs
    assert records[1]["details"]["started"] == records[0]["id"]
    assert records[1]["details"]["blobs"] == len(blobs)
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

    results = [r async for r in disposal(storage, days=365).run(OPERATOR)]

    assert results == []
    assert all([await everything_of(storage, t) for t in simulated.threads])


async def test_retention_zero_keeps_everything_forever(storage: Storage):
    await archived(storage)

    assert [r async for r in disposal(storage, days=0).run(OPERATOR)] == []


async def test_a_hold_placed_mid_run_keeps_its_thread(storage: Storage):
    simulated = await archived(storage)
    order = sorted(simulated.threads, key=lambda t: encode_key(t, field="threadId"))
    run = disposal(storage).run(OPERATOR)

    first = await anext(run)
    await Holds(storage, AuditTrail(storage)).add(
        order[1], reason="Late hold", case=None, principal=ADMIN
    )
    rest = [r async for r in run]

    assert (first.thread_id, first.outcome) == (order[0], "disposed")
    assert [(r.thread_id, r.outcome) for r in rest] == [(order[1], "held"), (order[2], "disposed")]
    assert await everything_of(storage, order[1]) != []


async def test_a_disposal_interrupted_midway_finishes_on_the_next_run_and_cannot_be_held(
    storage: Storage,
):
    simulated = await archived(storage)
    order = sorted(simulated.threads, key=lambda t: encode_key(t, field="threadId"))
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
        _ = [r async for r in disposal(crashing).run(OPERATOR)]
    with pytest.raises(OnHold, match="being disposed of"):
        await Holds(storage, AuditTrail(storage)).add(
            order[0], reason="Too late", case=None, principal=ADMIN
        )

    resumed = [r async for r in disposal(storage).run(OPERATOR)]

    assert [(r.thread_id, r.outcome) for r in resumed] == [(t, "disposed") for t in order]
    for thread in order:
        assert await everything_of(storage, thread) == []
    known = await storage.holds.get(encode_key(order[0], field="threadId"))
    assert known is not None
    assert known.row.disposed_at == LATER


async def test_with_blob_legal_holds_a_held_threads_blobs_cannot_be_deleted_until_released():
    # Azurite has no immutability; the in-memory store refuses deletes of flagged blobs
    # as Azure does with version-level immutability (the Azure adapter calls the SDK's
    # set_legal_hold, which needs a real account).
    storage = MemoryStorage()
    simulated = await archived(storage)
    thread = simulated.threads[0]
    holds = Holds(storage, AuditTrail(storage), blob_flags=True)
    await holds.add(thread, reason="Hold", case=None, principal=ADMIN)
    name = next(
        n
        for n in storage.blobs.contents
        if n.startswith("messages/") and encode_key(thread, field="threadId") in n
    )

    with pytest.raises(Immutable):
        await storage.blobs.delete(name)
    await holds.release(thread, reason="Released", principal=ADMIN)
    await storage.blobs.delete(name)

    assert name not in storage.blobs.contents
    assert storage.blobs.legal_holds == set()


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
