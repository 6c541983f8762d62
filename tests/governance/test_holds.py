"""Holds per matter and per custodian, each change audited before it is made, on every
storage adapter (attacks 3 and 4 of issue 24, and the refusals of attack 12)."""

from __future__ import annotations

import pytest

from archiver.core.errors import InvalidQuery, StorageUnavailable
from archiver.core.governance.holds import Scope
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage
from tests.builders import ALICE, CAROL, message_event, thread_event
from tests.governance.archives import (
    ADMIN,
    archived,
    audit,
    custodian_threads,
    deliver,
    dispose,
    everything_of,
    hold,
    holds,
    legacy_hold,
)
from tests.governance.interleaving import Interleaved
from tests.instrumented import Instrumented


async def test_a_second_matters_hold_keeps_the_first_ones_matter_and_reason(storage: Storage):
    thread = (await archived(storage)).threads[0]

    await hold(storage, thread, "CASE-4471", "Contoso v. Fabrikam")
    await hold(storage, thread, "CASE-9000", "Regulator's inquiry")

    in_force = await holds(storage).of(Scope.THREAD, thread)
    assert sorted((h.matter, h.reason) for h in in_force) == [
        ("CASE-4471", "Contoso v. Fabrikam"),
        ("CASE-9000", "Regulator's inquiry"),
    ]
    assert sorted(h.matter or "" for h in await holds(storage).listed()) == [
        "CASE-4471",
        "CASE-9000",
    ]


async def test_a_thread_held_by_two_matters_survives_disposal_until_both_release(
    storage: Storage,
):
    thread, *_ = (await archived(storage)).threads
    await hold(storage, thread, "CASE-4471")
    await hold(storage, thread, "CASE-9000")
    before = await everything_of(storage, thread)

    await holds(storage).release(
        Scope.THREAD, thread, matter="CASE-4471", reason="Settled", principal=ADMIN
    )
    first = await dispose(storage)
    await holds(storage).release(
        Scope.THREAD, thread, matter="CASE-9000", reason="Closed", principal=ADMIN
    )
    second = await dispose(storage)

    assert (thread, "held") in first
    assert [h.matter for h in await holds(storage).listed(everything=True)] == [
        "CASE-4471",
        "CASE-9000",
    ]
    assert before != []
    assert second == [(thread, "disposed")]
    assert await everything_of(storage, thread) == []


async def test_a_release_names_its_matter_and_never_releases_another(storage: Storage):
    thread = (await archived(storage)).threads[0]
    await hold(storage, thread, "CASE-4471")
    await hold(storage, thread, "CASE-9000")
    release = holds(storage).release

    with pytest.raises(InvalidQuery, match=r"name the matter to release: .* CASE-4471, CASE-9000"):
        await release(Scope.THREAD, thread, matter=None, reason="Closed", principal=ADMIN)
    with pytest.raises(InvalidQuery, match="not on hold for matter 'CASE-1'"):
        await release(Scope.THREAD, thread, matter="CASE-1", reason="Closed", principal=ADMIN)

    assert len(await holds(storage).of(Scope.THREAD, thread)) == 2
    assert [r["outcome"] for r in await audit(storage) if r["action"] == "hold.release"] == [
        "refused",
        "refused",
    ]


async def test_a_custodian_hold_holds_every_thread_they_are_or_were_in_and_later_ones(
    storage: Storage,
):
    ids = await custodian_threads(storage)
    await holds(storage).add(
        Scope.PARTICIPANT, CAROL, matter="CASE-4471", reason="Custodian", principal=ADMIN
    )
    later = "19:carol-later@thread.v2"
    await deliver(
        storage,
        thread_event("ChatThreadCreated", thread_id=later, participants=(ALICE, CAROL)),
        message_event(thread_id=later, message_id="1613694358930", sender=ALICE),
    )

    results = dict(await dispose(storage))

    assert results == {
        ids["member"]: "held",
        ids["former"]: "held",
        ids["sender"]: "held",  # her messages are the thread's: found on looking again
        ids["stranger"]: "disposed",
        later: "held",
    }
    assert [h.label for h in await holds(storage).of(Scope.THREAD, later)] == [
        f"CASE-4471 (custodian {CAROL})"
    ]


async def test_a_custodian_hold_is_released_per_matter(storage: Storage):
    ids = await custodian_threads(storage)
    add, release = holds(storage).add, holds(storage).release
    await add(Scope.PARTICIPANT, CAROL, matter="CASE-1", reason="Custodian", principal=ADMIN)
    await add(Scope.PARTICIPANT, CAROL, matter="CASE-2", reason="Custodian", principal=ADMIN)
    await hold(storage, ids["member"], "CASE-3")

    freed = await release(
        Scope.PARTICIPANT, CAROL, matter="CASE-1", reason="Closed", principal=ADMIN
    )

    assert [h.matter for h in freed.holds] == ["CASE-2"]
    assert sorted(h.label for h in await holds(storage).of(Scope.THREAD, ids["member"])) == [
        f"CASE-2 (custodian {CAROL})",
        "CASE-3",
    ]


async def test_a_hold_an_older_archiver_wrote_is_the_legacy_matters_and_keeps_its_thread(
    storage: Storage,
):
    thread = (await archived(storage)).threads[0]
    await legacy_hold(storage, thread, reason="Litigation hold", case="CASE-OLD")
    await hold(storage, thread, "CASE-NEW")

    listed = await holds(storage).listed()
    first = await dispose(storage)
    await holds(storage).release(
        Scope.THREAD, thread, matter=None, reason="Old case closed", principal=ADMIN
    )
    second = await dispose(storage)

    assert sorted((h.matter or "(legacy)", h.case, h.reason) for h in listed) == [
        ("(legacy)", "CASE-OLD", "Litigation hold"),
        ("CASE-NEW", None, "Hold"),
    ]
    assert (thread, "held") in first
    assert (thread, "held") in second  # CASE-NEW still holds it
    assert [h.matter for h in await holds(storage).of(Scope.THREAD, thread)] == ["CASE-NEW"]


async def test_each_hold_change_is_recorded_before_the_row_changes(storage: Storage):
    thread = (await archived(storage)).threads[0]
    watched = Interleaved(storage)
    seen: list[list[str]] = []

    async def records_so_far() -> None:
        seen.append([r["outcome"] async for r in AuditTrail(storage).records()])

    watched.before("holds.insert", records_so_far)
    watched.before("holds.replace", records_so_far)
    await holds(watched).add(Scope.THREAD, thread, matter="M-1", reason="Hold", principal=ADMIN)

    assert seen[0] == ["started"]  # the intent was stored before the hold row was written
    assert [r["outcome"] for r in await audit(storage)] == ["started", "done"]


@pytest.mark.parametrize("change", ["add", "release"])
async def test_a_hold_change_whose_intent_cannot_be_recorded_changes_nothing(
    storage: Storage, change: str
):
    thread = (await archived(storage)).threads[0]
    await hold(storage, thread, "CASE-4471")
    unrecorded = holds(Instrumented(storage, failing={"create": 1}))
    before = await holds(storage).of(Scope.THREAD, thread)

    changing = unrecorded.add if change == "add" else unrecorded.release
    matter = "CASE-9000" if change == "add" else "CASE-4471"

    with pytest.raises(StorageUnavailable):
        await changing(Scope.THREAD, thread, matter=matter, reason="Second", principal=ADMIN)

    assert await holds(storage).of(Scope.THREAD, thread) == before
    assert [r["action"] for r in await audit(storage)] == ["hold.add", "hold.add"]


async def test_a_hold_change_that_fails_after_its_intent_leaves_a_failed_record(
    storage: Storage,
):
    thread = (await archived(storage)).threads[0]
    await hold(storage, thread, "CASE-4471")
    failing = Interleaved(storage)

    async def outage() -> None:
        raise StorageUnavailable("the table did not answer")

    failing.before("holds.replace", outage)

    with pytest.raises(StorageUnavailable):
        await holds(failing).release(
            Scope.THREAD, thread, matter="CASE-4471", reason="Closed", principal=ADMIN
        )

    records = [r for r in await audit(storage) if r["action"] == "hold.release"]
    assert [r["outcome"] for r in records] == ["started", "failed"]
    assert records[1]["details"]["why"] == "the table did not answer"
    assert records[1]["details"]["started"] == records[0]["id"]
    assert [h.matter for h in await holds(storage).of(Scope.THREAD, thread)] == ["CASE-4471"]


@pytest.mark.parametrize(
    ("scope", "target", "matter", "reason", "why"),
    [
        (Scope.THREAD, "19:" + "x" * 300, "M-1", "Hold", "threadId is too long"),
        (Scope.PARTICIPANT, "8:acs:" + "y" * 300, "M-1", "Hold", "participant is too long"),
        (Scope.THREAD, "19:nothing@thread.v2", "M" * 300, "Hold", "matter is too long"),
        (Scope.THREAD, "19:nothing@thread.v2", None, "Hold", "a hold needs a matter"),
        (Scope.THREAD, "19:nothing@thread.v2", "M-1", " ", "a hold needs a reason"),
        (Scope.THREAD, "", "M-1", "Hold", "threadId is empty"),
    ],
)
async def test_a_refused_hold_request_is_recorded_once_with_why(
    storage: Storage, scope: Scope, target: str, matter: str | None, reason: str, why: str
):
    for change in (holds(storage).add, holds(storage).release):
        with pytest.raises(InvalidQuery, match=why if change.__name__ == "add" else None):
            await change(scope, target, matter=matter, reason=reason, principal=ADMIN)

    records = await audit(storage)
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("hold.add", "refused"),
        ("hold.release", "refused"),
    ]
    assert why in records[0]["details"]["why"]
