"""Dead letters replay themselves: Event Grid's BlobCreated for a blob in the dead-letter
container reaches the `replay_dead_letter` function, which archives exactly that blob and
moves it aside, without anyone running a command. Posted here to the local host, as the
Functions Event Grid extension would deliver it, with the blob in a real Azurite."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.hosts.devhost import TRIGGER_PATH, create_app
from tests.builders import THREAD, message_event, new_message_id
from tests.deadletters.test_replay import box, fill, names_in

SUBSCRIPTION = "ACS-CHAT"


def dead_letter(*events: dict[str, Any]) -> bytes:
    """A dead-letter blob as Event Grid writes it: the events and why they were not delivered."""
    return json.dumps(
        [
            event
            | {
                "deadLetterReason": "MaxDeliveryAttemptsExceeded",
                "deliveryAttempts": 30,
                "lastDeliveryOutcome": "Probation",
                "publishTime": "2026-12-03T06:00:00.0000000Z",
                "lastDeliveryAttemptTime": "2026-12-03T07:00:00.0000000Z",
            }
            for event in events
        ]
    ).encode()


def blob_created(container: str, name: str) -> dict[str, Any]:
    """Microsoft.Storage.BlobCreated, as the storage account's system topic sends it."""
    return {
        "topic": "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/chat"
        "/providers/Microsoft.Storage/storageAccounts/chatarchive",
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "eventType": "Microsoft.Storage.BlobCreated",
        "id": str(uuid.uuid4()),
        "data": {
            "api": "PutBlockList",
            "contentType": "application/json",
            "contentLength": 1024,
            "blobType": "BlockBlob",
            "url": f"https://chatarchive.blob.core.windows.net/{container}/{name}",
            "sequencer": "0000000000000000000000000000A2B3000000000000c5d6",
            "storageDiagnostics": {"batchId": str(uuid.uuid4())},
        },
        "dataVersion": "",
        "metadataVersion": "1",
        "eventTime": "2026-12-03T07:05:00.0000000Z",
    }


@pytest.fixture
async def local(settings: Settings) -> AsyncIterator[tuple[TestClient, Services]]:
    services = build(dataclasses.replace(settings, dead_letter_container=box(settings)))
    async with TestClient(TestServer(create_app(services))) as client:
        yield client, services
    await services.close()


async def deliver(client: TestClient, event: dict[str, Any]) -> int:
    response = await client.post(
        f"{TRIGGER_PATH}?functionName=replay_dead_letter",
        json=[event],
        headers={"aeg-event-type": "Notification"},
    )
    return response.status


async def test_a_dead_letter_written_to_the_container_is_archived_and_moved_aside(local, settings):
    client, services = local
    message_id = new_message_id()
    name = f"{SUBSCRIPTION}/2026/12/3/7/{uuid.uuid4()}.json"
    await fill(settings, {name: dead_letter(message_event(message_id=message_id))})

    status = await deliver(client, blob_created(box(settings), name))

    assert status == 202
    assert await names_in(settings) == [f"replayed/{name}"]
    row = await services.storage.messages.get(encode_key(THREAD, field="t"), message_id)
    assert row is not None


async def test_the_event_of_its_own_move_and_a_repeated_event_change_nothing(local, settings):
    client, services = local
    name = f"{SUBSCRIPTION}/2026/12/3/7/{uuid.uuid4()}.json"
    await fill(settings, {name: dead_letter(message_event(message_id=new_message_id()))})
    await deliver(client, blob_created(box(settings), name))
    stored = [n async for n in services.storage.blobs.names()]

    again = await deliver(client, blob_created(box(settings), name))
    moved = await deliver(client, blob_created(box(settings), f"replayed/{name}"))

    assert (again, moved) == (202, 202)
    assert await names_in(settings) == [f"replayed/{name}"]
    assert [n async for n in services.storage.blobs.names()] == stored


async def test_blobs_of_other_containers_are_not_touched(local, settings):
    client, _ = local
    name = f"{SUBSCRIPTION}/2026/12/3/7/{uuid.uuid4()}.json"
    await fill(settings, {name: dead_letter(message_event(message_id=new_message_id()))})

    status = await deliver(client, blob_created(settings.container, name))

    assert status == 202
    assert await names_in(settings) == [name]


async def test_a_dead_letter_of_refused_events_stays_and_is_reported(
    settings, caplog: pytest.LogCaptureFixture
):
    strict = dataclasses.replace(
        settings, dead_letter_container=box(settings), allowed_topics=frozenset({"/only/this"})
    )
    services = build(strict)
    name = f"{SUBSCRIPTION}/2026/12/3/7/{uuid.uuid4()}.json"
    await fill(settings, {name: dead_letter(message_event(message_id=new_message_id()))})
    caplog.set_level(logging.INFO)
    try:
        async with TestClient(TestServer(create_app(services))) as client:
            status = await deliver(client, blob_created(box(settings), name))
    finally:
        await services.close()

    assert status == 202
    assert await names_in(settings) == [name]
    assert any(
        r.levelno == logging.WARNING and name in r.getMessage() and "not accepted" in r.getMessage()
        for r in caplog.records
    )
