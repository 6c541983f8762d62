"""Dead-letter replay: a recorded dead-letter container, and one a refused simulation
left behind, brought into the archive; safe to run again, and nothing foreign let in."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.storage.blob.aio import ContainerClient

from archiver.bootstrap import build
from archiver.core.errors import InvalidBody, UnknownContainer
from archiver.core.settings import Settings
from archiver.deadletters.letters import letters, place
from archiver.deadletters.replay import replay
from archiver.sim.judge import verify
from archiver.storage.ports import Storage
from tests.builders import PAYLOADS, message_event
from tests.conftest import fresh_settings, run_archiver, serving

RECORDED = PAYLOADS / "deadletter"


def recorded() -> dict[str, bytes]:
    return {
        path.relative_to(RECORDED).as_posix(): path.read_bytes()
        for path in sorted(RECORDED.rglob("*.json"))
    }


def box(settings: Settings) -> str:
    """The dead-letter container of a test: one of its own beside its archive."""
    return f"{settings.container}-dead"


async def fill(settings: Settings, blobs: dict[str, bytes]) -> None:
    """Put `blobs` into the dead-letter container, as Event Grid would have."""
    assert settings.storage.connection_string is not None
    async with ContainerClient.from_connection_string(
        settings.storage.connection_string, box(settings)
    ) as container:
        if not await container.exists():
            await container.create_container()
        for name, content in blobs.items():
            await container.upload_blob(name, content, overwrite=True)


async def names_in(settings: Settings) -> list[str]:
    assert settings.storage.connection_string is not None
    async with ContainerClient.from_connection_string(
        settings.storage.connection_string, box(settings)
    ) as container:
        return [name async for name in container.list_blob_names()]


async def archived(storage: Storage) -> list[str]:
    return [name async for name in storage.blobs.names()]


@pytest.mark.parametrize(
    ("name", "hour"),
    [
        ("MY-SUB/2019/8/8/5/111111111-1111-1111-1111-111111111111.json", datetime(2019, 8, 8, 5)),
        ("ACS/2026/11/21/14/5b1e.json", datetime(2026, 11, 21, 14)),
    ],
)
def test_a_dead_letter_name_says_its_subscription_and_hour(name, hour):
    where = place(name)

    assert where is not None
    assert where.hour == hour.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["replayed/ACS/2026/11/21/14/a.json", "ACS/2026/13/1/1/a.json", "ACS/2026/11/21/a.json", "x"],
)
def test_other_names_are_not_dead_letters(name):
    assert place(name) is None


def test_the_reason_is_read_in_either_schema():
    found = [letter for content in recorded().values() for letter in letters(content)]

    assert {(f.event.schema, f.reason, f.outcome) for f in found} == {
        ("eventgrid", "MaxDeliveryAttemptsExceeded", "TimedOut"),
        ("eventgrid", "MaxDeliveryAttemptsExceeded", "Busy"),
        ("eventgrid", "DeliveryFailed", "BadRequest"),
        ("cloudevents", "MaxDeliveryAttemptsExceeded", "Unauthorized"),
    }
    assert {f.attempts for f in found} == {1, 30}


@pytest.mark.parametrize("content", [b"[]", b"not json", b'{"no": "events"}'])
def test_a_blob_without_events_is_not_a_dead_letter(content):
    with pytest.raises(InvalidBody):
        letters(content)


async def test_a_recorded_container_is_replayed_into_the_archive_and_moved_aside(settings):
    await fill(settings, recorded())
    services = build(settings)
    try:
        first = await replay(services.storage, services.intake, box(settings))
        stored = await archived(services.storage)
        second = await replay(services.storage, services.intake, box(settings))
        consistent = await verify(services.storage, None)
    finally:
        await services.close()

    assert (first.blobs, first.events) == (3, 7)
    assert first.reasons == {"MaxDeliveryAttemptsExceeded": 5, "DeliveryFailed": 2}
    assert first.outcomes == {"TimedOut": 2, "Busy": 1, "BadRequest": 2, "Unauthorized": 2}
    assert first.results == {"archived": 7}
    assert sorted(await names_in(settings)) == sorted(f"replayed/{n}" for n in recorded())
    assert sum(n.startswith("messages/") for n in stored) == 4
    assert sum(n.startswith("threads/") for n in stored) == 3
    assert (second.blobs, second.moved, second.left) == (0, [], {})
    assert consistent.ok, consistent.missing + consistent.wrong


async def test_since_leaves_earlier_hours_for_another_run(settings):
    await fill(settings, recorded())
    services = build(settings)
    try:
        report = await replay(
            services.storage, services.intake, box(settings), since=datetime(2026, 11, 21, 14, 30)
        )
    finally:
        await services.close()

    assert (report.blobs, report.skipped) == (2, 1)
    assert "ACS-CHAT-ARCHIVER/2026/11/21/9/0e7d2c4b-1a3f-4b8e-9c6d-5f4e3d2c1b0a.json" in (
        await names_in(settings)
    )


async def test_foreign_topics_and_blobs_without_events_stay_where_they_are(azurite):
    settings = fresh_settings(
        azurite.connection_string, allowed_topics=frozenset({"/subscriptions/ours"})
    )
    foreign = json.dumps([message_event(topic="/subscriptions/theirs")]).encode()
    await fill(
        settings,
        {"SUB/2026/11/21/14/a.json": foreign, "SUB/2026/11/21/14/b.json": b"{}", "notes.txt": b""},
    )
    services = build(settings)
    try:
        report = await replay(services.storage, services.intake, box(settings))
        stored = await archived(services.storage)
    finally:
        await services.close()

    assert set(report.left) == {"SUB/2026/11/21/14/a.json", "SUB/2026/11/21/14/b.json"}
    assert "are not accepted here" in report.left["SUB/2026/11/21/14/a.json"]
    assert report.skipped == 1
    assert stored == []
    assert sorted(await names_in(settings)) == sorted(
        ["SUB/2026/11/21/14/a.json", "SUB/2026/11/21/14/b.json", "notes.txt"]
    )


async def test_a_run_stopped_between_copy_and_delete_is_finished_by_the_next(settings):
    blobs = recorded()
    first = next(iter(blobs))
    await fill(settings, blobs | {f"replayed/{first}": blobs[first]})
    services = build(settings)
    try:
        report = await replay(services.storage, services.intake, box(settings))
    finally:
        await services.close()

    assert len(report.moved) == 3
    assert sorted(await names_in(settings)) == sorted(f"replayed/{n}" for n in blobs)


async def test_a_container_that_does_not_exist_is_named(settings):
    services = build(settings)
    try:
        with pytest.raises(UnknownContainer, match="no-such-container"):
            await replay(services.storage, services.intake, "no-such-container")
    finally:
        await services.close()


async def test_the_memory_adapter_replays_alike():
    from archiver.storage.memory import MemoryStorage

    memory = MemoryStorage()
    memory.dead_letters("dead").contents = dict(recorded())
    services = build(Settings(), storage=memory)

    report = await replay(memory, services.intake, "dead")

    assert (report.blobs, report.events) == (3, 7)
    assert sorted([n async for n in memory.dead_letters("dead").names()]) == sorted(
        f"replayed/{n}" for n in recorded()
    )


@pytest.mark.process
async def test_what_a_refused_simulation_dead_lettered_replays_to_a_complete_archive(
    azurite, tmp_path: Path
):
    settings = fresh_settings(azurite.connection_string)
    letters_file, truth = tmp_path / "dead-letter.jsonl", tmp_path / "truth.json"
    with serving(settings, tmp_path / "serve.log", "--function-key", "s3cret") as url:
        refused = run_archiver(
            settings,
            *("simulate", "--url", f"{url}/api/events", "--seed", "9", "--json"),
            *("--threads", "3", "--messages", "15", "--flavour", "both", "--redelivery", "0.2"),
            *("--truth", str(truth), "--dead-letter", str(letters_file)),
        )
    assert refused.returncode == 1, refused.stderr
    dead = [json.loads(line) for line in letters_file.read_text().splitlines()]
    await fill(settings, _laid_out(dead))

    missing = run_archiver(settings, "verify", "--truth", str(truth), "--settings", "absent.json")
    done = run_archiver(
        settings, "replay-deadletters", "--container", box(settings), "--settings", "x.json"
    )
    again = run_archiver(
        settings, "replay-deadletters", "--container", box(settings), "--settings", "x.json"
    )
    complete = run_archiver(
        settings, "verify", "--truth", str(truth), "--exact", "--settings", "x.json"
    )
    unknown = run_archiver(
        settings, "replay-deadletters", "--container", "nope", "--settings", "x.json"
    )

    assert missing.returncode == 1
    assert done.returncode == 0, done.stderr
    assert f"({len(dead)} events)" in done.stdout
    assert "by dead-letter reason: DeliveryFailed" in done.stdout
    assert again.returncode == 0
    assert "Replayed 0 blobs (0 events)" in again.stdout
    assert complete.returncode == 0, complete.stdout
    assert unknown.returncode == 3
    assert unknown.stderr.strip() == "archiver: the storage account has no container 'nope'"


def _laid_out(dead: list[dict]) -> dict[str, bytes]:
    """Dead letters in Event Grid's layout: by subscription and hour, up to 25 a blob."""
    by_hour: dict[str, list[dict]] = defaultdict(list)
    for letter in dead:
        when = datetime.fromisoformat(letter["lastDeliveryAttemptTime"])
        by_hour[f"ACS-CHAT-ARCHIVER/{when.year}/{when.month}/{when.day}/{when.hour}"].append(letter)
    blobs = {}
    for folder, events in by_hour.items():
        for start in range(0, len(events), 25):
            blobs[f"{folder}/{uuid.uuid4()}.json"] = json.dumps(events[start : start + 25]).encode()
    return blobs
