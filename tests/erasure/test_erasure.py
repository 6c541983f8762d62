"""`archiver erase`'s use case on each storage adapter: a participant erased across three
threads, one of them held by a matter. Nothing happens until a second principal
approves; then the unheld threads' texts by that person read as redacted everywhere the
archive answers (blobs, rows), other people's messages stay, the held thread stays
readable until the matter releases it and is shredded by the release, every thread gets
a receipt, and the person's later messages are archived under a new key, readable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.receipts import ERASURES_PREFIX, Decision, Kind, Phase, parse_receipt
from archiver.core.errors import Forbidden, InvalidQuery
from archiver.core.events import classify
from archiver.core.governance.holds import Scope
from archiver.core.governance.principals import Principal
from archiver.core.keys import encode_key
from archiver.core.summaries import summary_name
from archiver.erasure.erasing import Erasing
from archiver.erasure.release import finish, release
from archiver.governance.holds import Holds
from archiver.governance.trail import AuditTrail
from archiver.retrieval.readback import every_version
from archiver.storage.ports import Storage, Window
from tests.builders import ALICE, BOB, message_event, thread_event
from tests.erasure.archives import envelope_archive

THREADS = tuple(f"19:e{n}a1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2" for n in range(3))
HELD = THREADS[2]
ADA = Principal(kind="local", name="ada")
GRACE = Principal(kind="local", name="grace")
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
ERASE: dict[str, Any] = {"participant": ALICE, "request": "DSAR-17", "basis": "GDPR Art. 17(1)(a)"}


def conversation(thread: str, n: int) -> list[dict]:
    return [
        message_event("received", thread_id=thread, message_id=str(1700000000000 + 10 * n),
                      sender=ALICE, body=f"Alice here, my address is {n} Elm Street",
                      time=f"2026-11-02T09:0{n}:00Z"),
        message_event("received", thread_id=thread, message_id=str(1700000000001 + 10 * n),
                      sender=BOB, body=f"Thanks Alice, noted for thread {n}",
                      time=f"2026-11-02T09:0{n}:30Z"),
    ]  # fmt: skip


@pytest.fixture(params=["memory", "azurite"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    events = [e for n, thread in enumerate(THREADS) for e in conversation(thread, n)]
    events += [
        thread_event(
            "ChatThreadParticipantAdded", thread_id=t, participant=ALICE, display_name="Alice"
        )
        for t in THREADS
    ]
    store = await envelope_archive(request, events)
    await Holds(store, AuditTrail(store)).add(
        Scope.THREAD, HELD, matter="CASE-4471", reason="Litigation", principal=ADA
    )
    try:
        yield store
    finally:
        await store.close()


def erasing(storage: Storage) -> Erasing:
    return Erasing(storage, AuditTrail(storage, clock=lambda: NOW), clock=lambda: NOW)


async def bodies(storage: Storage, thread: str) -> list[str]:
    return [e["body"] async for e in every_version(storage, thread, Window())]


async def erased(storage: Storage):
    await erasing(storage).erase(**ERASE, principal=ADA)
    return await erasing(storage).erase(**ERASE, principal=GRACE, approve=True)


async def test_nothing_happens_until_another_principal_approves(storage):
    asked = await erasing(storage).erase(**ERASE, principal=ADA)

    assert asked.awaiting
    assert asked.decisions == {
        THREADS[0]: Decision.SHREDDED,
        THREADS[1]: Decision.SHREDDED,
        HELD: Decision.QUEUED,
    }
    assert await bodies(storage, THREADS[0]) == [
        "Alice here, my address is 0 Elm Street",
        "Thanks Alice, noted for thread 0",
    ]
    with pytest.raises(Forbidden, match="another principal"):
        await erasing(storage).erase(**ERASE, principal=ADA, approve=True)
    with pytest.raises(InvalidQuery, match="awaits approval"):
        await erasing(storage).erase(
            **(ERASE | {"request": "DSAR-18"}), principal=GRACE, approve=True
        )


async def test_the_unheld_threads_read_as_redacted_and_other_peoples_messages_stay(storage):
    answer = await erased(storage)

    by_thread = {r.thread_id: r for r in answer.receipts}
    for n in (0, 1):
        receipt = by_thread[THREADS[n]].receipt_id
        assert await bodies(storage, THREADS[n]) == [
            f"[redacted: receipt {receipt}]",
            f"Thanks Alice, noted for thread {n}",
        ]
    rows = {r.message_id: r async for r in storage.messages.scan()}
    alice = rows["1700000000000"]
    assert (alice.sender_id, alice.sender_display_name) == (None, None)
    assert "Elm Street" not in (alice.body or "")
    assert rows["1700000000001"].body == "Thanks Alice, noted for thread 0"


async def test_the_held_thread_stays_readable_until_the_release_shreds_it(storage):
    answer = await erased(storage)
    assert await bodies(storage, HELD) == [
        "Alice here, my address is 2 Elm Street",
        "Thanks Alice, noted for thread 2",
    ]

    still = await release(storage, clock=lambda: NOW)
    await Holds(storage, AuditTrail(storage)).release(
        Scope.THREAD, HELD, matter="CASE-4471", reason="Case closed", principal=ADA
    )
    released = await release(storage, clock=lambda: NOW)
    again = await release(storage, clock=lambda: NOW)

    assert still.still_held == {HELD: ("CASE-4471",)}
    [second] = released.receipts
    assert [i.decision for i in second.items] == [Decision.SHREDDED]
    assert await bodies(storage, HELD) == [
        f"[redacted: receipt {second.receipt_id}]",
        "Thanks Alice, noted for thread 2",
    ]
    assert again.receipts == ()
    assert {r.thread_id for r in answer.receipts} == set(THREADS)


async def test_every_thread_has_a_receipt_naming_both_principals_and_no_text(storage):
    await erased(storage)

    names = [n async for n in storage.blobs.names(ERASURES_PREFIX)]
    contents = [await storage.blobs.read(n) for n in names]
    receipts = [parse_receipt(c, name=n) for n, c in zip(names, contents, strict=True)]

    assert len(receipts) == 3
    assert {r.kind for r in receipts} == {Kind.ERASURE}
    assert {r.approved_by for r in receipts} == {("ada (local)", "grace (local)")}
    for content in contents:
        assert b"Elm Street" not in content
        assert ALICE.encode() not in content


async def test_other_peoples_messages_that_name_the_person_are_listed_for_review(storage):
    answer = await erased(storage)

    # Bob says "Thanks Alice": Alice is her display name as the thread's members give it.
    assert sorted(answer.review) == [
        (t, str(1700000000001 + 10 * n)) for n, t in enumerate(THREADS)
    ]
    trail = [r async for r in AuditTrail(storage).records()]
    erase = [(r["outcome"], r["principal"]["name"]) for r in trail if r["action"] == "erase"]
    assert erase == [("awaiting-approval", "ada"), ("approved", "grace"), ("done", "grace")]
    assert "Elm Street" not in json.dumps(trail)


async def test_what_the_person_sends_after_the_erasure_is_archived_and_readable(storage):
    await erased(storage)

    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(message_event(
            "received", thread_id=THREADS[0], message_id="1700000009999", sender=ALICE,
            body="Alice again, new question", time="2026-12-04T10:00:00Z")))]
    )  # fmt: skip

    assert (await bodies(storage, THREADS[0]))[-1] == "Alice again, new question"


async def test_once_no_backup_could_bring_a_key_back_each_receipt_gets_its_second_phase(storage):
    answer = await erased(storage)
    later = NOW + timedelta(days=91)

    early = await finish(storage, recovery_days=90, clock=lambda: NOW + timedelta(days=89))
    done = await finish(storage, recovery_days=90, clock=lambda: later)
    again = await finish(storage, recovery_days=90, clock=lambda: later)

    assert early == ()
    shredded = {r.receipt_id for r in answer.receipts if r.thread_id != HELD}
    assert {r.receipt_id for r in done} == shredded  # the held thread's is still queued
    assert {r.phase for r in done} == {Phase.IRRECOVERABLE}
    assert again == ()


async def test_the_thread_rows_lose_the_persons_display_name_the_held_one_after_the_release(
    storage,
):
    async def names(thread: str) -> list[str | None]:
        known = await storage.threads.get(encode_key(thread, field="threadId"))
        assert known is not None
        return [m.display_name for m in known.row.members if m.raw_id == ALICE]

    assert await names(THREADS[0]) == ["Alice"]
    await erased(storage)
    kept = await names(HELD)
    await Holds(storage, AuditTrail(storage)).release(
        Scope.THREAD, HELD, matter="CASE-4471", reason="Case closed", principal=ADA
    )
    await release(storage, clock=lambda: NOW)

    assert (await names(THREADS[0]), kept, await names(HELD)) == ([None], ["Alice"], [None])


async def test_the_summaries_of_erased_threads_go_those_of_the_held_one_stay(storage):
    def summary(thread: str) -> str:
        transcript = f"transcripts/{encode_key(thread, field='threadId')}/20261102T100000Z.json"
        name = summary_name(transcript)
        assert name is not None
        return name

    for thread in THREADS:
        await storage.blobs.create(summary(thread), b'{"summary": "Alice lives on Elm Street"}')

    await erased(storage)

    left = [n async for n in storage.blobs.names("summaries/")]
    assert left == [summary(HELD)]
