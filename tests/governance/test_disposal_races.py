"""Disposal that cannot be raced, on every storage adapter (attack 5 of issue 24, and
attack 11's `seals/keys/`): each race is played at an exact step of the disposal by a
hook on real storage (tests.governance.interleaving)."""

from __future__ import annotations

import contextlib

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.errors import Immutable
from archiver.core.events import classify
from archiver.core.governance.holds import Scope
from archiver.core.keys import encode_key
from archiver.retrieval.readback import latest, thread_of
from archiver.storage.ports import Storage, Window
from tests.builders import ALICE, CAROL, message_event, new_message_id, thread_event
from tests.chats import chat
from tests.governance.archives import (
    ADMIN,
    EVEN_LATER,
    SHAPE,
    archived,
    audit,
    custodian_threads,
    deliver,
    dispose,
    everything_of,
    hold,
    holds,
    key,
)
from tests.governance.interleaving import Interleaved, claiming, confirming
from tests.instrumented import Instrumented

LATE_MESSAGE_TIME = "2027-02-28T12:00:00Z"  # within 30 days of the disposal's clock (LATER)


async def test_a_disposed_thread_that_receives_its_events_again_can_be_held(storage: Storage):
    simulated = await archived(storage)
    thread = simulated.threads[0]
    await dispose(storage)

    # Event Grid retries, a dead-letter replay: the same events again
    await deliver(storage, *[e for e in simulated.events if thread in str(e["data"])])
    placed = await holds(storage).add(
        Scope.THREAD, thread, matter="CASE-4471", reason="Came back", principal=ADMIN
    )
    again = dict(await dispose(storage))

    assert placed.hold.held
    assert again[thread] == "held"
    assert await everything_of(storage, thread) != []
    state = await storage.holds.state(key(thread))
    assert state is not None
    assert (state.row.claimed_at, state.row.disposed_at is not None) == (None, True)


async def test_a_message_archived_between_plan_and_delete_keeps_its_blob_row_and_thread_row(
    storage: Storage,
):
    thread = (await archived(storage)).threads[0]
    late = new_message_id()
    racing = Interleaved(storage)

    async def arrives() -> None:
        event = message_event(thread_id=thread, message_id=late, time=LATE_MESSAGE_TIME)
        await deliver(storage, event)

    racing.before("blobs.delete", arrives, when=lambda name: f"/{key(thread)}/" in name)
    results = dict(await dispose(racing))

    left = await everything_of(storage, thread)
    assert results[thread] == "disposed"
    assert [n for n in left if n.startswith("messages/")] == [
        f"messages/{key(thread)}/{late}/{int(late):020d}-received.json"
    ]
    assert late in left  # its row
    assert key(thread) in left  # and the thread row
    assert await thread_of(storage, thread) is not None
    assert [m["messageId"] async for m in latest(storage, thread, Window())] == [late]
    done = [r for r in await audit(storage) if r["target"] == {"threadId": thread}][-1]
    assert (done["details"]["rowsKept"], done["details"]["threadRowKept"]) == (1, True)
    # an ordinary thread afterwards: kept while active, disposed of whole once it is not
    assert thread not in dict(await dispose(storage))
    assert await everything_of(storage, thread) == left
    assert dict(await dispose(storage, at=EVEN_LATER)) == {thread: "disposed"}
    assert await everything_of(storage, thread) == []


async def test_a_thread_active_again_after_its_claim_is_kept_and_can_be_held(storage: Storage):
    thread = (await archived(storage)).threads[0]
    racing = Interleaved(storage)

    async def arrives() -> None:
        event = message_event(thread_id=thread, message_id=new_message_id(), time=LATE_MESSAGE_TIME)
        await deliver(storage, event)

    racing.after("holds.insert|holds.replace", arrives, when=claiming(key(thread)))
    before = await everything_of(storage, thread)
    results = dict(await dispose(racing))

    assert results[thread] == "active"
    assert set(before) <= set(await everything_of(storage, thread))
    await hold(storage, thread, "CASE-4471")  # no claim is left behind


async def test_a_hold_placed_after_the_claim_keeps_the_thread(storage: Storage):
    thread = (await archived(storage)).threads[0]
    racing = Interleaved(storage)
    before = await everything_of(storage, thread)

    async def held() -> None:
        await hold(storage, thread, "CASE-4471", "Placed during the run")

    racing.after("holds.insert|holds.replace", held, when=claiming(key(thread)))
    results = dict(await dispose(racing))

    assert results[thread] == "held"
    assert await everything_of(storage, thread) == before


async def test_a_hold_placed_between_the_last_look_and_the_confirmation_keeps_the_thread(
    storage: Storage,
):
    thread = (await archived(storage)).threads[0]
    racing = Interleaved(storage)
    before = await everything_of(storage, thread)

    async def held() -> None:
        await hold(storage, thread, "CASE-4471", "Placed as the disposal confirmed")

    hook = racing.before("holds.replace", held, when=confirming(key(thread)))
    results = dict(await dispose(racing))

    assert hook.fired
    assert results[thread] == "held"
    assert await everything_of(storage, thread) == before


async def test_a_custodian_hold_placed_after_the_claim_keeps_the_custodians_threads(
    storage: Storage,
):
    ids = await custodian_threads(storage)
    racing = Interleaved(storage)

    async def held() -> None:
        await holds(storage).add(
            Scope.PARTICIPANT, CAROL, matter="CASE-4471", reason="Custodian", principal=ADMIN
        )

    racing.after("holds.insert|holds.replace", held, when=claiming(key(ids["former"])))
    results = dict(await dispose(racing))

    assert [t for t, outcome in results.items() if outcome == "disposed"] == [ids["stranger"]]


async def test_a_resumed_disposal_deletes_only_what_its_recorded_plan_lists(storage: Storage):
    thread = min((await archived(storage)).threads, key=key)  # the first one disposed of
    crashing = Instrumented(storage)
    deleted = 0

    async def crash_after_two(name: str) -> None:
        nonlocal deleted
        if deleted == 2:
            raise ConnectionResetError("the process stopped")
        deleted += 1
        await storage.blobs.delete(name)

    crashing.blobs.delete = crash_after_two  # type: ignore[method-assign]
    with contextlib.suppress(ConnectionResetError):
        await dispose(crashing)
    late = new_message_id()
    await deliver(storage, message_event(thread_id=thread, message_id=late, time=LATE_MESSAGE_TIME))

    resumed = dict(await dispose(storage))

    assert resumed[thread] == "disposed"
    assert late in await everything_of(storage, thread)
    started = [r for r in await audit(storage) if r["outcome"] == "started"]
    assert len([r for r in started if r["target"] == {"threadId": thread}]) == 1


async def test_a_thread_named_keys_never_takes_the_published_seal_keys_with_it(
    storage: Storage,
):
    published = "seals/keys/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.pem"
    await storage.blobs.create(published, b"-----BEGIN PUBLIC KEY-----\n")
    await deliver(
        storage,
        thread_event("ChatThreadCreated", thread_id="keys", participants=(ALICE,)),
        message_event(thread_id="keys", message_id=new_message_id()),
    )
    await storage.blobs.create("seals/keys/20210220T005442Z.json", b"{}")

    results = dict(await dispose(storage))

    assert results["keys"] == "disposed"
    assert [n async for n in storage.blobs.names("seals/")] == [
        published
    ]  # its own seal went, the key stayed
    planned = next(r for r in await audit(storage) if r["outcome"] == "started")
    assert published not in [b["name"] for b in planned["details"]["blobs"]]


async def test_a_thread_kept_by_storage_immutability_is_not_left_claimed(storage: Storage):
    thread = (await archived(storage)).threads[0]
    keeping = Instrumented(storage)
    immutable = encode_key(thread, field="threadId")

    async def refuse(name: str) -> None:
        if immutable in name:
            raise Immutable(f"{name} is kept by BlobImmutableDueToPolicy")
        await storage.blobs.delete(name)

    keeping.blobs.delete = refuse  # type: ignore[method-assign]
    results = dict(await dispose(keeping))

    assert results[thread] == "kept"
    await hold(storage, thread, "CASE-4471")  # holdable: no claim left behind


async def test_an_old_message_replayed_mid_run_keeps_a_thread_row_and_goes_with_the_next_run(
    storage: Storage,
):
    thread = (await archived(storage)).threads[0]
    replayed = new_message_id()  # from 2021: it moves no activity, so no thread row write
    racing = Interleaved(storage)

    async def arrives() -> None:
        await deliver(storage, message_event(thread_id=thread, message_id=replayed))

    racing.before("blobs.delete", arrives, when=lambda name: f"/{key(thread)}/" in name)
    first = dict(await dispose(racing))

    left = await everything_of(storage, thread)
    assert first[thread] == "disposed"
    assert replayed in left
    assert key(thread) in left  # what is left keeps its thread row, so a run finds it
    assert dict(await dispose(storage)) == {thread: "disposed"}
    assert await everything_of(storage, thread) == []


async def test_a_message_archived_as_the_thread_row_goes_gets_its_thread_row_back(
    storage: Storage,
):
    # One archiver process throughout: it knows the thread row, so a message that adds
    # nothing to the thread writes none, even after the disposal deleted it.
    simulated = chat(7, SHAPE)
    store = Archive(storage, concurrency=4, timeout_seconds=60)
    await store.store([classify(RawEvent.from_value(e)) for e in simulated.events])
    thread = simulated.threads[0]
    replayed = new_message_id()
    racing = Interleaved(storage)

    async def arrives() -> None:
        event = message_event(thread_id=thread, message_id=replayed)
        await store.store([classify(RawEvent.from_value(event))])

    racing.after("threads.delete", arrives, when=lambda thread_key, **_: thread_key == key(thread))
    await dispose(racing)

    left = await everything_of(storage, thread)
    assert replayed in left
    assert key(thread) in left  # put back by the disposal: what is left keeps a row
    row = await storage.threads.get(key(thread))
    assert row is not None
    assert row.row.seal is None
