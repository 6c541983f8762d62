"""`verify` against a real Azurite: an archive written from a simulation, then tampered with.

The archiver itself writes the archive (a simulation's events through the intake); each
spec then changes one thing behind its back through the Azure SDK and expects exactly
the finding that names it, and nothing else.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from azure.data.tables import EdmType, EntityProperty, UpdateMode
from azure.data.tables.aio import TableClient
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from archiver.bootstrap import Services, build
from archiver.core.envelopes import split_body
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import LatestRow
from archiver.core.settings import Settings
from archiver.sim.conversations import Shape, conversations
from archiver.sim.judge import verify
from archiver.sim.publication import Publisher
from archiver.sim.schedule import Batch, event_text
from archiver.sim.truth import ExpectedVersion, GroundTruth
from archiver.storage.clients import EMULATOR_BLOB_API_VERSION
from archiver.verification.findings import Findings, report
from tests.builders import THREAD, TOPIC, body, message_event, thread_event
from tests.conftest import PROJECT, archiver_command, storage_environment

SEED = 4  # two threads, twelve messages, edits and deletions, five thread changes
SHAPE = Shape(threads=2, messages=6, participants=(2, 3))


def simulation() -> tuple[list[str], GroundTruth]:
    """The events a small simulated run publishes, and its ground truth."""
    rng = random.Random(SEED)
    resource = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    happenings = conversations(SHAPE, rng=rng, start=start, resource=resource)
    publisher = Publisher(topic=TOPIC)
    events = [event_text(e) for h in happenings for e in publisher.events(h, rng)]
    return events, GroundTruth.of(happenings, seed=SEED)


def kinds(findings: Findings) -> dict[str, list[str]]:
    """Only the kinds of finding that are not empty."""
    found = {
        "missing": findings.missing,
        "extra": findings.extra,
        "wrong": findings.wrong,
        "stray": findings.stray,
    }
    return {kind: sorted(items) for kind, items in found.items() if items}


@dataclass
class Archived:
    """A written archive, the truth it must match, and raw SDK clients to tamper with it."""

    services: Services
    truth: GroundTruth
    container: ContainerClient
    table: TableClient
    names: dict[tuple[str, str, int, str], str]

    def name_of(self, version: ExpectedVersion) -> str:
        return self.names[(version.thread_id, version.message_id, version.version, version.action)]

    def history(self, versions: int) -> list[ExpectedVersion]:
        """The versions of the first message that has exactly this many."""
        per_message = Counter((v.thread_id, v.message_id) for v in self.truth.versions)
        key = next(k for k, n in per_message.items() if n == versions)
        return [v for v in self.truth.versions if (v.thread_id, v.message_id) == key]

    async def row(self, version: ExpectedVersion) -> LatestRow:
        rows = [r async for r in self.services.storage.messages.scan()]
        return next(
            r
            for r in rows
            if (r.thread_id, r.message_id) == (version.thread_id, version.message_id)
        )

    async def judge(self, *, truth: bool = True, exact: bool = False) -> dict[str, list[str]]:
        return kinds(
            await verify(self.services.storage, self.truth if truth else None, exact=exact)
        )

    async def accept(self, *events: dict) -> None:
        await self.services.intake.accept(split_body(body(*events)))


@pytest.fixture
async def archived(settings: Settings) -> AsyncIterator[Archived]:
    events, truth = simulation()
    services = build(settings)
    await services.intake.accept(split_body(Batch(tuple(events)).body))
    connection = settings.storage.connection_string
    assert connection is not None
    blobs = BlobServiceClient.from_connection_string(
        connection, api_version=EMULATOR_BLOB_API_VERSION
    )
    async with (
        blobs,
        TableClient.from_connection_string(connection, settings.messages_table) as table,
    ):
        listed = [entry(name) async for name in services.storage.blobs.names()]
        names = {
            (e.thread_id, e.message_id, e.version, str(e.action)): e.name
            for e in listed
            if isinstance(e, MessageBlob)
        }
        container = blobs.get_container_client(settings.container)
        yield Archived(services, truth, container, table, names)
    await services.close()


async def test_an_archive_written_from_a_simulation_verifies_exactly(archived):
    truth = archived.truth

    exact = await verify(archived.services.storage, truth, exact=True)
    consistent = await verify(archived.services.storage, None)

    assert (exact.ok, consistent.ok) == (True, True), (kinds(exact), kinds(consistent))
    assert exact.checked == {
        "versions": len(truth.versions),
        "changes": len(truth.changes),
        "rows": len(truth.latest),
        "thread rows": len(truth.threads),
    }
    assert consistent.checked == {
        "versions": len(truth.versions),
        "rows": len(truth.latest),
        "thread rows": len(truth.threads),
    }


async def test_a_deleted_version_blob_is_missing(archived):
    edit = next(v for v in archived.truth.versions if v.action == "edited")

    await archived.container.delete_blob(archived.name_of(edit))

    assert await archived.judge() == {
        "missing": [
            f"version blob of message {edit.message_id} in {edit.thread_id} v{edit.version} edited"
        ]
    }


async def test_a_blob_rewritten_with_another_body_is_wrong(archived):
    version = next(v for v in archived.truth.versions if v.body and len(v.body) < 60)
    name = archived.name_of(version)
    document = json.loads(await (await archived.container.download_blob(name)).readall())

    document["body"] = "Tampered with"
    await archived.container.upload_blob(name, json.dumps(document), overwrite=True)

    assert await archived.judge() == {
        "wrong": [f"blob {name}: body is 'Tampered with', expected {version.body!r}"]
    }


@pytest.mark.parametrize("name", ["notes/x.txt", "messages/bad-name.json"])
async def test_a_blob_outside_the_storage_contract_is_a_stray(archived, name):
    await archived.container.upload_blob(name, b"{}")

    stray = {"stray": [f"outside the storage contract: {name}"]}
    assert await archived.judge() == stray
    assert await archived.judge(truth=False) == stray


async def test_a_version_that_never_happened_is_extra(archived):
    said = archived.history(1)[0]
    real = archived.name_of(said)
    forged = real.replace(f"{said.version:020d}-received", f"{said.version + 1:020d}-edited")
    content = await (await archived.container.download_blob(real)).readall()

    await archived.container.upload_blob(forged, content)

    assert await archived.judge() == {"extra": [f"unexpected version blob {forged}"]}


async def test_a_row_set_back_to_an_older_version_is_wrong_even_without_truth(archived):
    older, *_, newest = archived.history(2)
    row = await archived.row(newest)
    entity = await archived.table.get_entity(row.thread_key, row.message_key)

    entity["version"] = EntityProperty(older.version, EdmType.INT64)
    entity |= {"action": older.action, "body": older.body, "blobName": archived.name_of(older)}
    await archived.table.update_entity(entity, mode=UpdateMode.REPLACE)

    [wrong] = (await archived.judge())["wrong"]
    assert wrong.startswith(
        f"row of message {newest.message_id} in {newest.thread_id}: "
        f"version is {older.version}, expected {newest.version}; action is 'received'"
    )
    assert "; body is " in wrong
    assert wrong.endswith(f"blobName is {archived.name_of(older)!r}")
    assert await archived.judge(truth=False) == {
        "wrong": [
            f"row {newest.message_id} in {newest.thread_id} holds v{older.version} received, "
            f"older than its newest blob {archived.name_of(newest)}"
        ]
    }


async def test_a_deleted_row_is_missing(archived):
    *_, newest = archived.history(2)
    row = await archived.row(newest)

    await archived.table.delete_entity(row.thread_key, row.message_key)

    where = f"{newest.message_id} in {newest.thread_id}"
    assert await archived.judge() == {"missing": [f"latest row of message {where}"]}
    assert await archived.judge(truth=False) == {
        "missing": [f"no row for message {where} (newest blob {archived.name_of(newest)})"]
    }


async def test_a_row_pointing_at_a_missing_blob_is_inconsistent(archived):
    [only] = archived.history(1)
    name = archived.name_of(only)

    await archived.container.delete_blob(name)

    assert await archived.judge(truth=False) == {
        "wrong": [f"row {only.message_id} in {only.thread_id} points at a missing blob {name}"]
    }


async def test_a_quarantined_event_of_a_truth_thread_is_extra(archived):
    thread = archived.truth.threads[0]

    await archived.accept(message_event(thread_id=thread, version="12a"))

    [name] = [n async for n in archived.services.storage.blobs.names("quarantine/")]
    [extra] = (await archived.judge())["extra"]
    assert extra.startswith(
        f"quarantined event {name}: invalid Microsoft.Communication.ChatMessageReceived"
    )


async def test_other_threads_are_ignored_unless_exact(archived):
    message = message_event(thread_id=THREAD, message_id="1613694358927")
    await archived.accept(message, thread_event("ChatThreadCreated", thread_id=THREAD, version=7))
    await archived.accept(message_event(thread_id=THREAD, version="12a"))

    assert await archived.judge() == {}
    quarantined, *others = (await archived.judge(exact=True))["extra"]
    assert quarantined.startswith("quarantined event quarantine/")
    assert others == [
        f"unexpected row for message 1613694358927 in {THREAD}",
        f"unexpected thread change blob threads/{THREAD}/{7:020d}-created.json",
        f"unexpected thread row for {THREAD}",
        f"unexpected version blob messages/{THREAD}/1613694358927/{1613694358927:020d}-received"
        ".json",
    ]


async def test_an_empty_archive_misses_everything_the_truth_holds(settings):
    _, truth = simulation()
    services = build(settings)
    try:
        findings = await verify(services.storage, truth)
    finally:
        await services.close()

    versions = [
        f"version blob of message {v.message_id} in {v.thread_id} v{v.version} {v.action}"
        for v in truth.versions
    ]
    rows = [f"latest row of message {v.message_id} in {v.thread_id}" for v in truth.latest]
    assert set(versions + rows) <= set(findings.missing)
    assert len(findings.missing) == (
        len(truth.versions) + len(truth.changes) + len(truth.latest) + len(truth.thread_rows)
    )
    assert kinds(findings).keys() == {"missing"}


async def test_an_empty_archive_is_consistent_with_nothing_checked(settings):
    services = build(settings)
    try:
        findings = await verify(services.storage, None)
    finally:
        await services.close()
    out = io.StringIO()

    report(findings, out)

    assert (findings.ok, findings.checked) == (True, Counter())
    assert out.getvalue() == "OK: the archive is complete and correct (checked nothing)\n"


@pytest.mark.process
@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--truth", "missing.json"], "archiver: cannot read ground truth missing.json: "),
        (["--exact"], "archiver: --exact needs --truth"),
    ],
)
def test_verify_refuses_a_bad_command_line_with_one_line(settings, tmp_path, arguments, says):
    done = subprocess.run(
        archiver_command("verify", "--settings", str(tmp_path / "absent.json"), *arguments),
        cwd=tmp_path,
        env=storage_environment(settings) | {"PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(says)
    assert done.stdout == ""
