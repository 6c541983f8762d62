"""Archiving finished threads from ACS, against the ACS stand-in and Azurite, with the
real Chat and Identity SDKs: matching transcripts, repairs, refusals and throttling."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from archiver.acs.client import PAGE_SIZE, create_identity
from archiver.acs.completeness import Gaps
from archiver.acs.reconciliation import Reconciler
from archiver.bootstrap import Services, build
from archiver.core.acssettings import AcsSettings
from archiver.core.errors import AcsDenied, ThreadNotInAcs
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.retrieval.export import Export, transcript
from archiver.retrieval.formats import Format
from archiver.sim.conversations import Said, Shape
from archiver.sim.judge import verify
from archiver.verification.snapshot import check
from tests.acs_standin import AcsStandin, threads_from
from tests.chats import Chat, archive, chat, latest_entries
from tests.conftest import archive_settings, drain_jobs, fresh_settings, imported_function_app

SHAPE = Shape(threads=3, messages=40, participants=(2, 6), delete_threads=0.0)


@pytest.fixture
async def standin() -> AsyncIterator[AcsStandin]:
    async with AcsStandin() as running:
        yield running


@dataclasses.dataclass
class World:
    """One conversation, as ACS holds it (the stand-in) and as events delivered it."""

    chat: Chat
    standin: AcsStandin
    archiver: str
    settings: Settings

    def services(self) -> Services:
        return build(self.settings)


async def world_of(azurite, standin: AcsStandin, conversation: Chat, **acs: Any) -> World:
    keyed = AcsSettings(endpoint=standin.host_url, access_key=standin.access_key)
    archiver = await create_identity(keyed)
    standin.add_threads(threads_from(conversation.happenings, archiver=archiver))
    settings = dataclasses.replace(
        fresh_settings(azurite.connection_string),
        acs=dataclasses.replace(keyed, archiver_user_id=archiver, **acs),
    )
    return World(conversation, standin, archiver, settings)


@pytest.fixture
async def world(azurite, standin) -> World:
    return await world_of(azurite, standin, chat(31, SHAPE))


def with_acs(world: World, **changes: Any) -> Settings:
    acs = world.settings.acs
    assert acs is not None
    return dataclasses.replace(world.settings, acs=dataclasses.replace(acs, **changes))


async def transcripts(services: Services, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name.rsplit(".", 1)[1]: await services.storage.blobs.read(name) for name in names}


async def exported(services: Services, thread_id: str, form: Format) -> bytes:
    chunks = await transcript(services.storage, Export(threads=(thread_id,), form=form))
    return b"".join([chunk async for chunk in chunks])


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("exportedAt", "source")}


async def test_real_time_and_acs_archiving_give_matching_transcripts(world, azurite):
    realtime = build(fresh_settings(azurite.connection_string))
    from_acs = world.services()
    try:
        await archive(realtime.storage, world.chat.events, seed=5)
        for thread_id in world.chat.threads:
            report = await from_acs.reconciler.thread(thread_id)

            written = await transcripts(from_acs, report.transcripts)
            assert report.source == "acs"
            assert comparable(json.loads(written["json"])) == comparable(
                json.loads(await exported(realtime, thread_id, Format.JSON))
            )
            assert written["csv"] == await exported(realtime, thread_id, Format.CSV)
            assert json.loads(written["json"])["source"] == "acs"
            assert json.loads(written["json"])["threads"][0]["messages"] == latest_entries(
                world.chat, thread_id
            )
    finally:
        await realtime.close()
        await from_acs.close()


async def test_reconciliation_archives_what_an_empty_archive_lacks_then_nothing(world):
    services = world.services()
    try:
        thread_id = world.chat.threads[0]
        first = await services.reconciler.thread(thread_id)
        second = await services.reconciler.thread(thread_id)
    finally:
        await services.close()

    latest = latest_entries(world.chat, thread_id)
    assert first.listed == len(latest)
    assert sorted(first.repaired) == sorted(
        f"{e['messageId']} v{e['version']} {e['action']}" for e in latest
    )
    assert first.unrecoverable == sum(e["action"] != "received" for e in latest)
    assert (second.repaired, second.present, second.unrecoverable) == ([], len(latest), 0)


async def test_reconciliation_repairs_deliberately_missing_versions_exactly(world):
    """Events for the last version of some messages never came: ACS shows those versions,
    and after the run the archive is exactly what the conversations say, versions, rows
    and thread rows."""
    last: dict[tuple[str, str], Said] = {}
    for happening in world.chat.happenings:
        if isinstance(happening, Said):
            last[(happening.thread_id, happening.message_id)] = happening
    chosen = random.Random(3).sample(sorted(last), 12)
    dropped = {(last[k].thread_id, last[k].message_id, last[k].version) for k in chosen}
    kept = tuple(
        e
        for e in world.chat.events
        if (
            e["data"].get("threadId"),
            e["data"].get("messageId"),
            int(e["data"].get("version", 0)),
        )
        not in dropped
    )
    services = world.services()
    try:
        await archive(services.storage, kept)
        before = await verify(services.storage, world.chat.truth, exact=True)
        reports = [await services.reconciler.thread(t) for t in world.chat.threads]
        after = await verify(services.storage, world.chat.truth, exact=True)
    finally:
        await services.close()

    assert len(before.missing) >= len(dropped)
    repaired = {r for report in reports for r in report.repaired}
    assert repaired == {
        f"{message} v{version} {last[(thread, message)].action}"
        for thread, message, version in dropped
    }
    assert after.ok, (after.missing, after.extra, after.wrong)
    assert all(report.unrecoverable == 0 for report in reports)


async def test_a_repaired_version_keeps_the_message_as_acs_listed_it(world):
    services = world.services()
    thread_id = world.chat.threads[1]
    try:
        report = await services.reconciler.thread(thread_id)
        message_id = report.repaired[0].split(" ")[0]
        names = [
            n
            async for n in services.storage.blobs.names(
                f"messages/{encode_key(thread_id, field='t')}/{message_id}/"
            )
        ]
        document = json.loads(await services.storage.blobs.read(names[-1]))
    finally:
        await services.close()

    assert document["eventType"] == "ListChatMessages"
    assert document["event"]["id"] == message_id
    assert document["event"]["version"] == str(document["version"])


async def test_the_archivers_identity_must_be_a_participant(azurite, standin):
    world = await world_of(azurite, standin, chat(31, SHAPE))
    thread_id = world.chat.threads[0]
    standin.leave(thread_id, world.archiver)
    services = world.services()
    try:
        with pytest.raises(AcsDenied, match="is not a participant of thread"):
            await services.reconciler.thread(thread_id)
    finally:
        await services.close()


async def test_a_token_acs_did_not_issue_is_refused_with_what_to_check(azurite, standin):
    world = await world_of(azurite, standin, chat(31, SHAPE))
    forged = standin.grant("8:acs:someone-else")
    services = build(with_acs(world, archiver_token=forged + "x"))
    try:
        with pytest.raises(AcsDenied, match="refused the archiver's token"):
            await services.reconciler.thread(world.chat.threads[0])
    finally:
        await services.close()


async def test_a_wrong_access_key_is_refused(azurite, standin):
    world = await world_of(azurite, standin, chat(31, SHAPE))
    services = build(with_acs(world, access_key="d3Jvbmc="))
    try:
        with pytest.raises(AcsDenied, match="refused the access key"):
            await services.reconciler.thread(world.chat.threads[0])
    finally:
        await services.close()


async def test_throttling_is_waited_out_and_pages_are_200_messages(azurite, standin):
    big = chat(8, Shape(threads=1, messages=450, participants=(2, 3), delete_threads=0.0))
    world = await world_of(azurite, standin, big)
    standin.throttle(times=3, retry_after=0.2)
    services = world.services()
    try:
        report = await services.reconciler.thread(big.threads[0])
    finally:
        await services.close()

    listings = [s for s in standin.served if s.path.endswith("/messages")]
    assert [s.status for s in standin.served if s.status == 429] == [429] * 3
    assert {s.query.get("maxPageSize") for s in listings} == {str(PAGE_SIZE)}
    assert sum(s.status == 200 for s in listings) == 3  # 450+ messages in pages of 200
    assert report.listed == len(latest_entries(big, big.threads[0]))


async def test_a_thread_acs_deleted_gets_its_transcript_from_the_archive(world):
    services = world.services()
    thread_id = world.chat.threads[2]
    try:
        await archive(services.storage, world.chat.events)
        world.standin.remove_thread(thread_id)
        report = await services.reconciler.thread(thread_id)
        document = json.loads(await services.storage.blobs.read(report.transcripts[0]))
    finally:
        await services.close()

    assert report.source == "archive"
    assert "ACS has no thread" in (report.note or "")
    assert document["source"] == "archive"
    assert document["threads"][0]["messages"] == latest_entries(world.chat, thread_id)


async def test_a_thread_neither_acs_nor_the_archive_holds_is_not_found(world):
    services = world.services()
    try:
        with pytest.raises(ThreadNotInAcs):
            await services.reconciler.thread("19:nowhere@thread.v2")
    finally:
        await services.close()


async def test_the_timer_archives_inactive_threads_once_until_they_are_active_again(world):
    services = world.services()
    try:
        await archive(services.storage, world.chat.events)
        later = Reconciler(
            services.storage,
            services.archive,
            services._chat,
            clock=lambda: datetime(2026, 11, 20, tzinfo=UTC),  # 18 days after the chat
        )
        soon = [r async for r in later.inactive(30)]
        first = [r async for r in later.inactive(7)]
        again = [r async for r in later.inactive(7)]
        await archive(
            services.storage,
            tuple(
                e | {"data": e["data"] | {"composeTime": "2026-11-19T10:00:00Z"}}
                for e in world.chat.events[-1:]
            ),
        )
        revived = [r async for r in later.inactive(0)]
        rows = [row async for row in services.storage.threads.scan()]
    finally:
        await services.close()

    assert soon == []
    assert sorted(r.thread_id for r in first) == sorted(world.chat.threads)
    assert all(r.source == "acs" and len(r.transcripts) == 2 for r in first)
    assert again == []
    assert [r.thread_id for r in revived] == [world.chat.events[-1]["data"]["threadId"]]
    assert all(row.transcript_time == datetime(2026, 11, 20, tzinfo=UTC) for row in rows)


async def test_a_thread_known_only_to_acs_gets_a_row_from_what_acs_says(world):
    services = world.services()
    thread_id = world.chat.threads[0]
    expected = world.chat.truth.thread_rows[0]
    try:
        await services.reconciler.thread(thread_id)
        known = await services.storage.threads.get(encode_key(thread_id, field="t"))
    finally:
        await services.close()

    assert known is not None
    row = known.row
    assert (row.topic, row.created_by) == (expected.topic, expected.created_by)
    assert [m.raw_id for m in row.participants] == list(expected.participants)
    assert world.archiver not in {m.raw_id for m in row.members}
    assert row.transcript_time is not None


async def test_transcripts_from_acs_name_former_participants_from_system_messages(azurite):
    async with AcsStandin() as standin:
        shape = Shape(threads=4, messages=60, participants=(3, 8), delete_threads=0.0)
        world = await world_of(azurite, standin, chat(12, shape))
        services = world.services()
        try:
            reports = [await services.reconciler.thread(t) for t in world.chat.threads]
            documents = [
                json.loads(await services.storage.blobs.read(r.transcripts[0])) for r in reports
            ]
        finally:
            await services.close()

    for document, expected in zip(documents, world.chat.truth.thread_rows, strict=True):
        thread = document["threads"][0]
        assert [p["id"] for p in thread["formerParticipants"]] == list(expected.former_participants)
    assert any(expected.former_participants for expected in world.chat.truth.thread_rows)
    assert sum(r.system for r in reports) > 0


async def _command(world: World, *arguments: str) -> tuple[int, str, str]:
    from tests.conftest import PROJECT, archiver_command, storage_environment

    acs = world.settings.acs
    assert acs is not None
    environment = storage_environment(world.settings) | {
        "ACS_ENDPOINT": acs.endpoint,
        "ACS_ACCESS_KEY": acs.access_key or "",
        "ACS_ARCHIVER_USER_ID": acs.archiver_user_id or "",
    }
    process = await asyncio.create_subprocess_exec(
        *archiver_command(*arguments, "--settings", "absent.json"),
        cwd=PROJECT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.process
async def test_the_archive_thread_command_reports_and_exits_as_documented(world):
    thread_id = world.chat.threads[0]
    code, out, err = await _command(world, "archive-thread", "--thread", thread_id, "--json")
    report = json.loads(out)

    assert code == 0, err
    assert report["failures"] == []
    [thread] = report["threads"]
    assert thread["threadId"] == thread_id
    assert len(thread["repaired"]) == thread["listed"] > 0

    world.standin.leave(thread_id, world.archiver)
    refused, _, says = await _command(world, "archive-thread", "--thread", thread_id)
    missing, _, gone = await _command(world, "archive-thread", "--thread", "19:gone@thread.v2")

    assert refused == 1
    assert says.strip().splitlines() == [
        f"archiver: {thread_id}: the archiver's identity {world.archiver} is not a participant "
        f"of thread {thread_id!r} (403): only participants can list messages, so add it to "
        "the thread"
    ]
    assert missing == 3
    assert "ACS has no thread '19:gone@thread.v2'" in gone
    assert "Traceback" not in says + gone


@pytest.mark.process
async def test_without_acs_settings_the_command_says_which_setting(settings):
    from tests.conftest import PROJECT, archiver_command, storage_environment

    process = await asyncio.create_subprocess_exec(
        *archiver_command("archive-thread", "--thread", "19:a@thread.v2", "--settings", "x.json"),
        cwd=PROJECT,
        env=storage_environment(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 2
    assert err.decode().strip() == (
        "archiver: ACS_ENDPOINT (or ACS_CONNECTION_STRING) is not set: archiving threads from "
        "ACS lists them through the ACS Chat API"
    )


async def test_the_timer_enqueues_inactive_threads_and_run_job_archives_them_from_acs(world):
    acs = world.settings.acs
    assert acs is not None
    environment = archive_settings(world.settings) | {
        "ACS_ENDPOINT": acs.endpoint,
        "ACS_ACCESS_KEY": acs.access_key or "",
        "ACS_ARCHIVER_USER_ID": acs.archiver_user_id or "",
        "ARCHIVE_INACTIVE_DAYS": "1",  # the chat happened in November 2026
    }
    services = world.services()
    try:
        await archive(services.storage, world.chat.events)
    finally:
        await services.close()

    with imported_function_app(environment) as app:
        await app.archive_inactive_threads(TimerRequest())
        await drain_jobs(app)
        rows = [row async for row in app.runtime.services().storage.threads.scan()]
        names = [n async for n in app.runtime.services().storage.blobs.names("transcripts/")]
        audited = [r async for r in app.runtime.services().trail.records()]
        await app.runtime.close()

    assert len(names) == 2 * len(world.chat.threads)
    assert all(row.transcript_time is not None for row in rows)
    assert sorted((r["action"], r["outcome"], r["principal"]["kind"]) for r in audited) == [
        ("archive-thread", "done", "timer")
    ] * len(world.chat.threads)
    assert {r["target"]["threadId"] for r in audited} == set(world.chat.threads)


async def test_the_timer_function_does_nothing_without_acs_settings(settings, caplog):
    with (
        imported_function_app(archive_settings(settings)) as app,
        caplog.at_level(logging.INFO, "archiver"),
    ):
        await app.archive_inactive_threads(TimerRequest())
        await app.runtime.close()

    assert "Archiving inactive threads from ACS is off" in caplog.text


async def test_a_thread_with_a_message_that_never_arrived_is_incomplete_with_its_sequence_id(world):
    thread = world.chat.threads[0]
    said = [h for h in world.chat.happenings if isinstance(h, Said) and h.thread_id == thread]
    lost = said[len(said) // 2].message_id
    kept = tuple(
        e
        for e in world.chat.events
        if (e["data"].get("threadId"), e["data"].get("messageId")) != (thread, lost)
    )
    [sequence] = [m.sequence_id for m in world.standin.messages_of(thread) if m.id == lost]
    services = world.services()
    try:
        await archive(services.storage, kept)
        first = await services.reconciler.thread(thread)
        known = await services.storage.threads.get(encode_key(thread, field="threadId"))
        findings = await check(services.storage)
        second = await services.reconciler.thread(thread)
    finally:
        await services.close()

    assert first.complete is False
    assert first.gaps == Gaps(missing=(sequence,))
    assert known is not None
    assert known.row.complete is False
    assert known.row.verified_at is not None
    assert json.loads(known.row.gaps or "") == {"missing": {"count": 1, "ids": [sequence]}}
    assert any(f"thread {thread} was incomplete" in note for note in findings.notes)
    others = len(world.chat.threads) - 1
    assert any(
        f"{others} of {len(world.chat.threads)} threads never checked" in n for n in findings.notes
    )
    assert findings.ok  # worth knowing, not wrong: the repair stored the message
    # The repair stored the message, so the next check finds the archive complete.
    assert second.complete is True
    assert second.gaps == Gaps()
