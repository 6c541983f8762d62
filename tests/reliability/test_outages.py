"""Storage outages: the webhook answers 503, and redelivery makes the archive complete."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import build
from archiver.core.keys import encode_key
from archiver.core.records import Action
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.storage.azure import AzureStorage
from tests.builders import THREAD, body, fan_out, message_event, new_message_id
from tests.conftest import PROJECT, fresh_settings
from tests.instrumented import Instrumented

pytestmark = pytest.mark.process


class Outage:
    """An Azurite of this test's own, on disk, that can go down and come back."""

    def __init__(self, location: Path) -> None:
        blob, queue, table = emulator.free_ports(3)
        self.endpoints = emulator.Endpoints(blob_port=blob, queue_port=queue, table_port=table)
        self.location = location
        self.process: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        self.process = emulator.start(
            PROJECT, self.endpoints, location=self.location, log=self.location / "azurite.log"
        )

    def down(self) -> None:
        assert self.process is not None
        emulator.stop(self.process)


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    controlled = Outage(tmp_path)
    controlled.up()
    yield controlled
    controlled.down()


@pytest.fixture
async def client_for(outage: Outage) -> AsyncIterator[tuple[TestClient, Settings]]:
    settings = fresh_settings(outage.endpoints.connection_string, request_timeout_seconds=8.0)
    services = build(settings)
    async with TestClient(TestServer(create_app(services))) as client:
        yield client, settings
    await services.close()


def conversation() -> list[dict]:
    message_id = new_message_id()
    base = int(message_id)
    recipients = ["8:acs:109f0644_00000001", "8:acs:109f0644_00000002"]
    return (
        fan_out(recipients, message_id=message_id, version=base)
        + fan_out(
            recipients,
            action="edited",
            message_id=message_id,
            version=base + 5,
            body="edited while storage was down",
        )
        + [message_event(message_id=new_message_id())]
    )


async def test_storage_down_answers_503_and_redelivery_archives_everything(
    outage: Outage, client_for: tuple[TestClient, Settings]
):
    client, settings = client_for
    before, during, later = conversation(), conversation(), conversation()
    assert (await client.post("/api/events", data=body(*before))).status == 200

    outage.down()
    refused = [
        await client.post("/api/events", data=body(*during)),
        await client.post("/api/events", data=body(*later)),
    ]
    health = await client.get("/api/health")
    outage.up()
    redelivered = [
        await client.post("/api/events", data=body(*during)),
        await client.post("/api/events", data=body(*later)),
    ]

    assert [r.status for r in refused] == [503, 503]
    assert refused[0].headers["Retry-After"] == "30"
    assert (await refused[0].json())["title"] == "Service Unavailable"
    assert health.status == 503
    assert [r.status for r in redelivered] == [200, 200]
    await assert_archived(settings, before + during + later)


async def test_a_crash_between_blob_and_row_is_repaired_by_the_next_delivery(settings: Settings):
    message_id = new_message_id()
    received = body(message_event(message_id=message_id))
    edited = body(message_event("edited", message_id=message_id, body="after the crash"))
    storage = AzureStorage.from_settings(settings)
    crashing = build(settings, storage=Instrumented(storage, failing={"replace": 1}))
    try:
        async with TestClient(TestServer(create_app(crashing))) as client:
            statuses = [
                (await client.post("/api/events", data=payload)).status
                for payload in (received, edited)
            ]
            redelivered = await client.post("/api/events", data=edited)
            summary = await redelivered.json()
        row = await storage.messages.get(encode_key(THREAD, field="t"), message_id)
    finally:
        await crashing.close()

    assert statuses == [200, 503]
    assert redelivered.status == 200
    assert summary == {
        "received": 1,
        "archived": 0,
        "duplicates": 1,
        "quarantined": 0,
        "ignored": 0,
    }
    assert row is not None
    assert (row.action, row.body) == (Action.EDITED, "after the crash")


async def assert_archived(settings: Settings, events: list[dict]) -> None:
    """Every version of every event is stored, and each row holds its newest version."""
    storage = AzureStorage.from_settings(settings)
    try:
        names = {name async for name in storage.blobs.names("messages/")}
        newest: dict[str, tuple[int, str]] = {}
        for event in events:
            data = event["data"]
            action = event["eventType"].removeprefix("Microsoft.Communication.ChatMessage")
            action = action.removesuffix("InThread").lower()
            version = int(data["version"])
            assert (
                f"messages/{encode_key(data['threadId'], field='t')}/{data['messageId']}/"
                f"{version:020d}-{action}.json"
            ) in names
            newest[data["messageId"]] = max(
                newest.get(data["messageId"], (0, "")), (version, action)
            )
        for message_id, (version, action) in newest.items():
            row = await storage.messages.get(encode_key(THREAD, field="t"), message_id)
            assert row is not None
            assert (row.version, str(row.action)) == (version, action)
    finally:
        await storage.close()
