"""What only the Azure adapter can meet: foreign rows, and storage that is not there."""

from __future__ import annotations

import pytest
from azure.data.tables.aio import TableClient

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.errors import StorageUnavailable
from archiver.core.events import classify
from archiver.core.keys import encode_key
from archiver.core.records import Action
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.storage.azure import AzureStorage
from tests.builders import THREAD, message_event, new_message_id
from tests.conftest import fresh_settings


async def test_a_row_that_cannot_be_read_back_is_replaced_not_trusted(settings: Settings):
    message_id = new_message_id()
    storage = AzureStorage.from_settings(settings)
    await storage.prepare()
    connection = settings.storage.connection_string
    assert connection is not None
    async with TableClient.from_connection_string(connection, settings.messages_table) as table:
        await table.create_entity(
            {
                "PartitionKey": encode_key(THREAD, field="t"),
                "RowKey": message_id,
                "version": "garbage",
                "action": "exploded",
            }
        )
    try:
        archive = Archive(storage, concurrency=4, timeout_seconds=20)
        event = message_event("edited", message_id=message_id)
        await archive.store([classify(RawEvent.from_value(event))])

        row = await storage.messages.get(encode_key(THREAD, field="t"), message_id)
    finally:
        await storage.close()

    assert row is not None
    assert row.action is Action.EDITED


async def test_storage_that_is_not_there_raises_only_archiver_errors(azurite: emulator.Endpoints):
    [dead] = emulator.free_ports(1)
    nowhere = emulator.Endpoints(blob_port=dead, queue_port=dead, table_port=dead)
    storage = AzureStorage.from_settings(fresh_settings(nowhere.connection_string))
    operations = [
        storage.prepare(),
        storage.ping(),
        storage.blobs.create("a.json", b"{}"),
        storage.blobs.read("a.json"),
        storage.messages.current("t", "m"),
        storage.messages.get("t", "m"),
    ]
    try:
        for operation in operations:
            with pytest.raises(StorageUnavailable):
                await operation
        with pytest.raises(StorageUnavailable):
            [name async for name in storage.blobs.names()]
    finally:
        await storage.close()
