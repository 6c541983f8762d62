"""Envelope-mode archives for the erasure specs: either storage adapter, holding events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.keys import LocalKeyWrapper, new_key
from archiver.core.events import classify
from archiver.core.keysettings import KeySettings, RootKey
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage


async def envelope_archive(
    request: pytest.FixtureRequest, events: Iterable[dict[str, Any]]
) -> Storage:
    """The adapter `request.param` names ("memory" or "azurite"), in envelope mode under a
    development root key, with `events` archived; the caller closes it."""
    root = LocalKeyWrapper(new_key())
    if request.param == "memory":
        store: Storage = MemoryStorage(root_key=root, sealing=True)
    else:
        settings: Settings = request.getfixturevalue("settings")
        material = RootKey(material=b"x" * 32)  # mode only: the wrapper given is the key
        keys = KeySettings(table=settings.keys.table, envelope=True, root_key=material)
        azure = AzureStorage.from_settings(replace(settings, keys=keys), root_key=root)
        await azure.prepare()
        store = azure
    await Archive(store, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in events]
    )
    return store
