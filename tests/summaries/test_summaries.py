"""End-of-conversation summaries, with the real `openai` SDK against the Azure OpenAI
stand-in, archive-thread against the ACS stand-in, and Azurite: what is sent, what is
kept, the hold rule, failures that leave no summary, and disposal."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from archiver.acs.reconciliation import Reconciler
from archiver.bootstrap import Services
from archiver.core.governance.holds import Scope
from archiver.core.jobs import Job, Kind
from archiver.core.keys import encode_key
from archiver.core.layout import content_sha256
from archiver.core.settings import Settings
from archiver.core.summaries import NOTICE, RESPONSE_FORMAT
from archiver.core.summarysettings import DEFAULT_API_VERSION, SummarySettings
from archiver.jobs.selection import Selection
from archiver.jobs.work import Crew, Work
from archiver.sim.conversations import Shape
from archiver.storage.memory import MemoryStorage
from archiver.summaries.azureopenai import SCOPE, AzureOpenAIModel
from archiver.summaries.summarizer import Summaries, summaries_for
from archiver.verification.snapshot import check
from tests.acs.test_reconciliation import World, standin, world_of
from tests.chats import archive, chat, latest_entries
from tests.conftest import archive_settings, drain_jobs, imported_function_app
from tests.governance.archives import ADMIN, disposal, everything_of, holds
from tests.openai_standin import MODEL, Asked, Credential, OpenAIStandin

__all__ = ["standin"]  # the ACS stand-in, a fixture
SHAPE = Shape(threads=3, messages=12, participants=(2, 4), delete_threads=0.0)
LATER = datetime(2026, 11, 20, tzinfo=UTC)  # 18 days after the simulated chats


@pytest.fixture
async def model() -> AsyncIterator[OpenAIStandin]:
    async with OpenAIStandin() as running:
        yield running


@pytest.fixture
async def world(azurite, standin) -> World:
    world = await world_of(azurite, standin, chat(41, SHAPE))
    services = world.services()
    try:
        await archive(services.storage, world.chat.events)
    finally:
        await services.close()
    return world


def summaries(services: Services, model: OpenAIStandin, *, held: bool = False) -> Summaries:
    """Summaries as the settings would make them, signed in to as the stand-in's identity."""
    settings = SummarySettings(endpoint=model.endpoint, deployment="summaries", held=held)
    return Summaries(
        services.storage,
        AzureOpenAIModel(settings, credential=lambda: Credential(model), retries=1),
        held=held,
        clock=lambda: LATER + timedelta(seconds=5),
    )


def reconciler(services: Services, made: Summaries | None, at: datetime = LATER) -> Reconciler:
    return Reconciler(
        services.storage,
        services.archive,
        services._chat,
        clock=lambda: at,
        trail=services.trail,
        summaries=made,
    )


def conversation(asked: Asked) -> dict[str, Any]:
    """The conversation a request sent, as the model read it."""
    [system, user] = asked.body["messages"]
    assert system["role"] == "system"
    sent: dict[str, Any] = json.loads(user["content"])
    return sent


def shown(entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the docs say the model is sent of each message with text."""
    said = []
    for entry in entries:
        body = entry["body"]
        if body is None:
            continue
        if "html" in (entry["type"] or ""):
            body = html.unescape(re.sub(r"<[^>]*>", " ", body))
        if text := " ".join(body.split()):
            said.append(
                {"time": entry["composeTime"], "sender": entry["senderDisplayName"], "text": text}
            )
    return sorted(said, key=lambda s: (s["time"], s["text"]))


async def summary_blobs(services: Services) -> list[str]:
    return [name async for name in services.storage.blobs.names("summaries/")]


async def test_a_transcribed_thread_gets_a_summary_of_its_transcript_marked_derived(world, model):
    services = world.services()
    try:
        reports = [r async for r in reconciler(services, summaries(services, model)).inactive(7)]
        documents = {}
        for report in reports:
            assert report.summary is not None
            assert report.summary.name is not None
            [transcript] = [n for n in report.transcripts if n.endswith(".json")]
            content = await services.storage.blobs.read(transcript)
            summary = json.loads(await services.storage.blobs.read(report.summary.name))
            documents[report.thread_id] = (transcript, content, report.summary.name, summary)
        findings = await check(services.storage)
        audited = [r async for r in services.trail.records()]
    finally:
        await services.close()

    assert sorted(documents) == sorted(world.chat.threads)
    assert len(model.served) == len(world.chat.threads)
    for thread_id, (transcript, content, name, document) in documents.items():
        [asked] = [a for a in model.served if conversation(a)["messages"] and _of(a, document)]
        text = "\n".join(m["content"] for m in asked.body["messages"])
        assert document["derived"] is True
        assert document["notice"] == NOTICE
        assert document["threadId"] == thread_id
        assert document["transcript"]["name"] == transcript
        assert document["transcript"]["sha256"] == content_sha256(content)
        # The stand-in's answer is made from what it was sent: this summary is its answer.
        assert document["summary"].endswith(
            f"{len(asked.body['messages'])} messages, {len(text)} characters, sha256 "
            f"{content_sha256(text.encode())}"
        )
        assert (document["model"], document["deployment"]) == (MODEL, "summaries")
        assert document["sentiment"] in ("positive", "neutral", "negative", "mixed")
        assert name == transcript.replace("transcripts/", "summaries/", 1)  # its transcript's time
    assert not findings.stray, findings.stray  # summaries are in the storage contract
    assert {r["details"]["summary"] for r in audited} == {"written"}


def _of(asked: Asked, document: dict[str, Any]) -> bool:
    text = "\n".join(m["content"] for m in asked.body["messages"])
    return str(document["summary"]).endswith(content_sha256(text.encode()))


async def test_the_model_is_sent_the_threads_own_messages_with_the_apps_token_and_the_schema(
    world, model
):
    services = world.services()
    try:
        reports = [r async for r in reconciler(services, summaries(services, model)).inactive(7)]
    finally:
        await services.close()

    assert len(reports) == len(model.served) == len(world.chat.threads)
    for asked in model.served:
        assert asked.token in model.tokens
        assert asked.status == 200
        assert (asked.deployment, asked.api_version) == ("summaries", DEFAULT_API_VERSION)
        assert asked.body["response_format"] == RESPONSE_FORMAT
        sent = conversation(asked)["messages"]
        times = [m["time"] for m in sent]
        assert times == sorted(times)  # oldest first
        # Exactly one thread's messages: every one with text, and nothing else.
        matching = [
            t
            for t in world.chat.threads
            if shown(latest_entries(world.chat, t))
            == sorted(sent, key=lambda s: (s["time"], s["text"]))
        ]
        assert len(matching) == 1
        raw = json.dumps(asked.body)
        assert not any(t in raw for t in world.chat.threads)  # no ids of any thread
        assert "8:acs:" not in raw  # nor of anyone
    assert set(model.scopes) == {(SCOPE,)}


async def test_summaries_are_off_by_default_and_nothing_is_sent(world, model):
    acs = world.settings.acs
    assert acs is not None
    environment = archive_settings(world.settings) | {
        "ACS_ENDPOINT": acs.endpoint,
        "ACS_ACCESS_KEY": acs.access_key or "",
        "ACS_ARCHIVER_USER_ID": acs.archiver_user_id or "",
        "ARCHIVE_INACTIVE_DAYS": "1",
    }

    with imported_function_app(environment) as app:
        await app.archive_inactive_threads(TimerRequest())
        await drain_jobs(app)
        storage = app.runtime.services().storage
        transcripts = [n async for n in storage.blobs.names("transcripts/")]
        written = [n async for n in storage.blobs.names("summaries/")]
        off = summaries_for(app.runtime.services().settings, storage)
        await app.runtime.close()

    assert len(transcripts) == 2 * len(world.chat.threads)
    assert (written, off, model.served, model.scopes) == ([], None, [], [])
    on = Settings.from_mapping(
        {"ARCHIVE_SUMMARY_DEPLOYMENT": "summaries", "AZURE_OPENAI_ENDPOINT": model.endpoint}
    )
    assert isinstance(summaries_for(on, MemoryStorage()), Summaries)
    assert model.served == []  # made, not yet asked anything


async def test_a_held_thread_is_summarised_only_when_the_setting_allows_it(world, model):
    held, *others = world.chat.threads
    services = world.services()
    try:
        await holds(services.storage).add(
            Scope.THREAD, held, matter="CASE-7", reason="Litigation hold", principal=ADMIN
        )
        first = {
            r.thread_id: r.summary
            async for r in reconciler(services, summaries(services, model)).inactive(7)
        }
        asked_before = len(model.served)
        allowed = await reconciler(
            services, summaries(services, model, held=True), at=LATER + timedelta(hours=1)
        ).thread(held)
        names = await summary_blobs(services)
    finally:
        await services.close()

    verdict = first[held]
    assert verdict is not None
    assert verdict.outcome == "held"
    assert "CASE-7" in (verdict.why or "")
    assert [getattr(first[t], "outcome", None) for t in others] == ["written"] * len(others)
    assert asked_before == len(others)  # the held thread's text was never sent
    assert allowed.summary is not None
    assert allowed.summary.outcome == "written"
    assert len(model.served) == asked_before + 1
    key = encode_key(held, field="threadId")
    assert [n for n in names if f"/{key}/" in n] == [allowed.summary.name]


BAD_ANSWERS: dict[str, dict[str, Any]] = {
    "not JSON": dict(content="Sure! Here is the summary you asked for."),
    "an unknown sentiment": dict(
        content='{"summary": "x", "sentiment": "furious", "followUps": []}'
    ),
    "a missing field": dict(content='{"summary": "x", "sentiment": "neutral"}'),
    "cut off": dict(content='{"summary": "the customer', finish="length"),
    "a refusal": dict(content=None, refusal="I can't help with that."),
    "filtered": dict(content=None, finish="content_filter"),
}


@pytest.mark.parametrize("bad", [*BAD_ANSWERS, "a failing service", "throttled"])
async def test_a_bad_answer_or_a_failing_model_writes_nothing_and_the_thread_is_archived(
    world, model, bad, caplog
):
    thread_id = world.chat.threads[0]
    if bad == "a failing service":
        model.fail(500, times=2)  # the first try and the one retry
    elif bad == "throttled":
        model.fail(429, times=2)
    else:
        model.reply(**BAD_ANSWERS[bad])
    services = world.services()
    try:
        with caplog.at_level(logging.INFO, "archiver"):
            report = await reconciler(services, summaries(services, model)).thread(thread_id)
        names = await summary_blobs(services)
        transcripts = [await services.storage.blobs.read(n) for n in report.transcripts]
        known = await services.storage.threads.get(encode_key(thread_id, field="threadId"))
        audited = [r async for r in services.trail.records()]
    finally:
        await services.close()

    assert report.summary is not None
    assert report.summary.outcome == "failed"
    assert names == []  # never half a summary
    assert len(transcripts) == 2
    assert all(transcripts)
    assert known is not None
    assert known.row.transcript_time == LATER
    assert [(r["outcome"], r["details"]["summary"]) for r in audited] == [("done", "failed")]
    [warning] = [r.getMessage() for r in caplog.records if "Not summarised" in r.getMessage()]
    assert thread_id in warning
    bodies = [e["body"] for e in latest_entries(world.chat, thread_id) if e["body"]]
    assert not any(body in warning for body in bodies if len(body) > 12)  # no chat text logged


async def test_a_transcribe_job_counts_its_summaries(world, model):
    services = world.services()
    made = reconciler(services, summaries(services, model))
    model.reply("not JSON")  # one of them fails
    crew = Crew(
        sealer=lambda: services.sealer,
        checkpointer=lambda: services.checkpointer,
        disposal=lambda: services.disposal,
        reconciler=lambda: made,
        hold_flags=services.hold_flags,
        selection=Selection(services.storage),
        inactive_days=7,
        storage=services.storage,
    )
    try:
        job = Job(job=Kind.TRANSCRIBE, run="r1", threads=world.chat.threads)
        counts = await Work(crew, logging.getLogger("archiver")).run(job)
    finally:
        await services.close()

    threads = len(world.chat.threads)
    assert counts == {"archived": threads, "summary written": threads - 1, "summary failed": 1}


async def test_a_disposed_thread_leaves_no_summary_behind(world, model):
    gone, *kept = world.chat.threads
    services = world.services()
    try:
        made = reconciler(services, summaries(services, model))
        reports = [r async for r in made.inactive(7)]
        before = await summary_blobs(services)
        await holds(services.storage).add(
            Scope.THREAD, kept[0], matter="CASE-8", reason="Hold", principal=ADMIN
        )
        results = [
            (r.thread_id, r.outcome)
            async for r in disposal(services.storage, days=1, at=LATER).run(ADMIN, threads=[gone])
        ]
        left = await everything_of(services.storage, gone)
        after = await summary_blobs(services)
    finally:
        await services.close()

    assert len(before) == len(reports) == len(world.chat.threads)
    assert results == [(gone, "disposed")]
    assert left == []
    key = encode_key(gone, field="threadId")
    assert after == [n for n in before if f"/{key}/" not in n]
