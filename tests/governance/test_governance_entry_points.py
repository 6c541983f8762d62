"""Holds, retention and the audit trail from the command line and the timer."""

from __future__ import annotations

import csv
import io
import json
import logging
import os

import pytest
from azure.functions.timer import TimerRequest

from archiver.core.governance.holds import Scope
from archiver.core.governance.principals import TIMER
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from tests.builders import CAROL, message_event
from tests.chats import archive, chat
from tests.conftest import archive_settings, drain_jobs, imported_function_app, run_archiver
from tests.governance.archives import SHAPE, deliver


async def archived(settings: Settings) -> list[str]:
    simulated = chat(7, SHAPE)
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        await archive(storage, simulated.events)
    finally:
        await storage.close()
    return list(simulated.threads)


def run(settings: Settings, *arguments: str, retention: int | None = None):
    saved = os.environ.get("ARCHIVE_RETENTION_DAYS")
    if retention is not None:
        os.environ["ARCHIVE_RETENTION_DAYS"] = str(retention)
    try:
        return run_archiver(settings, *arguments, "--settings", "/nonexistent.json")
    finally:
        os.environ.pop("ARCHIVE_RETENTION_DAYS", None)
        if saved is not None:
            os.environ["ARCHIVE_RETENTION_DAYS"] = saved


@pytest.mark.process
async def test_hold_dispose_and_audit_from_the_command_line(settings: Settings):
    held, *others = await archived(settings)

    placed = run(settings, "hold", "add", "--thread", held, "--matter", "CASE-4471",
                 "--reason", "Litigation hold")  # fmt: skip
    second = run(settings, "hold", "add", "--thread", held, "--case", "CASE-9000",
                 "--reason", "Regulator")  # fmt: skip
    listed = run(settings, "hold", "list")
    dry = run(settings, "dispose", "--dry-run", retention=30)
    disposed = run(settings, "dispose", retention=30)
    off = run(settings, "dispose")
    records = run(settings, "audit", "--format", "jsonl")
    table = run(settings, "audit", "--thread", held, "--format", "csv")

    assert placed.returncode == 0, placed.stderr
    assert placed.stdout == (
        f"held {held} for CASE-4471: Litigation hold\n{held} is on hold for CASE-4471\n"
    )
    assert second.stdout.endswith(f"{held} is on hold for CASE-4471, CASE-9000\n")
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[:4] for line in lines] == [
        [held, "held", "CASE-4471", "Litigation hold"],
        [held, "held", "CASE-9000", "Regulator"],
    ]
    assert all(line.endswith("\tthread") for line in lines)
    assert dry.returncode == 0, dry.stderr
    assert f"held {held} (0 blobs): CASE-4471: Litigation hold; CASE-9000: Regulator" in dry.stdout
    for thread in others:
        assert f"would dispose {thread} (" in dry.stdout
    assert disposed.returncode == 0, disposed.stderr
    for thread in others:
        assert f"disposed {thread} (" in disposed.stdout
    assert "2 disposed, 1 held, 0 kept by immutability, 0 active again" in disposed.stderr
    assert off.returncode == 2
    assert "ARCHIVE_RETENTION_DAYS is 0" in off.stderr
    actions = [(r["action"], r["outcome"]) for r in map(json.loads, records.stdout.splitlines())]
    assert actions == [
        *[("hold.add", o) for _ in range(2) for o in ("started", "done")],
        *[("dispose", o) for _ in others for o in ("started", "done")],
    ]
    rows = list(csv.reader(io.StringIO(table.stdout)))
    assert rows[0][:3] == ["time", "action", "outcome"]
    assert [(r[1], r[2], r[5]) for r in rows[1:]] == [
        ("hold.add", o, held) for _ in range(2) for o in ("started", "done")
    ]
    assert rows[1][4]  # the local user who ran the command


@pytest.mark.process
async def test_a_custodian_hold_and_its_release_per_matter_from_the_command_line(
    settings: Settings,
):
    await archived(settings)
    storage = AzureStorage.from_settings(settings)
    try:
        await deliver(storage, message_event(thread_id="19:carol@thread.v2", sender=CAROL))
    finally:
        await storage.close()

    placed = run(settings, "hold", "add", "--participant", CAROL, "--matter", "CASE-1",
                 "--reason", "Custodian")  # fmt: skip
    kept = run(settings, "dispose", retention=30)
    unnamed = run(settings, "hold", "release", "--participant", CAROL, "--reason", "Closed")
    released = run(settings, "hold", "release", "--participant", CAROL, "--matter", "CASE-1",
                   "--reason", "Closed")  # fmt: skip
    listed = run(settings, "hold", "list", "--all")

    assert placed.returncode == 0, placed.stderr
    assert "held 19:carol@thread.v2 (0 blobs): CASE-1 (custodian " in kept.stdout
    assert unnamed.returncode == 2
    assert "name the matter to release" in unnamed.stderr
    assert released.stdout.endswith(f"{CAROL} is on hold no more\n")
    assert listed.stdout.split("\t")[:3] == [CAROL, "released", "CASE-1"]


@pytest.mark.process
async def test_a_hold_on_an_unknown_thread_exits_3_and_releasing_one_not_held_exits_2(
    settings: Settings,
):
    await archived(settings)

    unknown = run(settings, "hold", "add", "--thread", "19:nothing@thread.v2", "--matter", "M",
                  "--reason", "x")  # fmt: skip
    not_held = run(settings, "hold", "release", "--thread", "19:nothing@thread.v2",
                   "--matter", "M", "--reason", "x")  # fmt: skip
    too_long = run(settings, "hold", "release", "--thread", "19:" + "x" * 300, "--reason", "x")

    assert unknown.returncode == 3
    assert "holds nothing of thread" in unknown.stderr
    assert not_held.returncode == 2
    assert "not on hold" in not_held.stderr
    assert too_long.returncode == 2
    assert "threadId is too long" in too_long.stderr


async def test_the_timer_enqueues_expired_threads_and_run_job_disposes_of_all_but_the_held(
    settings: Settings, caplog
):
    held, *others = await archived(settings)
    environment = archive_settings(settings) | {"ARCHIVE_RETENTION_DAYS": "1"}

    with imported_function_app(environment) as app, caplog.at_level(logging.INFO, "archiver"):
        services = app.runtime.services()
        await services.holds.add(
            Scope.THREAD, held, matter="CASE-1", reason="Hold", principal=TIMER
        )
        await app.dispose_expired_threads(TimerRequest())
        await drain_jobs(app)
        left = [n async for n in services.storage.blobs.names("messages/")]
        await app.runtime.close()

    assert {n.split("/")[1] for n in left} == {encode_key(held, field="threadId")}
    [done] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Job done")]
    assert f"{len(others) + 1} threads:" in done
    assert "'held': 1" in done
    assert f"'disposed': {len(others)}" in done


async def test_the_timer_does_nothing_when_retention_is_off(settings: Settings, caplog):
    with (
        imported_function_app(archive_settings(settings)) as app,
        caplog.at_level(logging.INFO, "archiver"),
    ):
        await app.dispose_expired_threads(TimerRequest())
        await app.runtime.close()

    assert "Disposal is off (ARCHIVE_RETENTION_DAYS is 0" in caplog.text
