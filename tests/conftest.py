"""Session fixtures: a real Azurite started by the test session, and fresh storage.

Azurite comes from node_modules (`npm ci`); if it is missing the session fails with
that instruction. Nothing is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from archiver import emulator
from archiver.settings import Settings, StorageSettings
from archiver.storage.azure import AzureStorage
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Endpoints]:
    """One in-memory Azurite for the whole session, on free ports."""
    blob, queue, table = emulator.free_ports(3)
    endpoints = emulator.Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    log = tmp_path_factory.mktemp("azurite") / "azurite.log"
    process = emulator.start(PROJECT, endpoints, log=log)
    yield endpoints
    emulator.stop(process)


def fresh_settings(connection_string: str, **overrides: object) -> Settings:
    """Settings with a container and table no other test uses."""
    unique = uuid.uuid4().hex[:12]
    values: dict[str, object] = {
        "storage": StorageSettings(connection_string=connection_string),
        "container": f"chat-archive-{unique}",
        "messages_table": f"ChatMessages{unique}",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def settings(azurite: emulator.Endpoints) -> Settings:
    """Settings pointing at the session's Azurite, with a fresh container and table."""
    return fresh_settings(azurite.connection_string)


@pytest.fixture(params=["memory", "azurite"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """Each storage adapter in turn, empty and prepared."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    settings: Settings = request.getfixturevalue("settings")
    azure = AzureStorage.from_settings(settings)
    await azure.prepare()
    try:
        yield azure
    finally:
        await azure.close()
