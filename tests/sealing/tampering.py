"""Changing the archive behind the archiver's back, as someone with write access to the
storage account could: through the Azure SDK on Azurite, or the in-memory store's dicts."""

from __future__ import annotations

import hashlib

from azure.storage.blob.aio import ContainerClient

from archiver.core.settings import Settings
from archiver.storage.clients import EMULATOR_BLOB_API_VERSION
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage


class Tamperer:
    """Overwrites and deletes blobs of one archive, keeping their metadata as a careful
    forger would (the recorded SHA-256 then still says what was written)."""

    def __init__(self, storage: Storage, settings: Settings | None) -> None:
        self._storage = storage
        self._settings = settings

    async def overwrite(self, name: str, content: bytes) -> None:
        """Replace a blob's bytes, its recorded hash left as it was."""
        if isinstance(self._storage, MemoryStorage):
            self._storage.blobs.contents[name] = content
            return
        async with self._container() as container:
            blob = container.get_blob_client(name)
            metadata = (await blob.get_blob_properties()).metadata
            await blob.upload_blob(content, overwrite=True, metadata=metadata)

    async def forge(self, name: str, content: bytes) -> None:
        """Replace a blob's bytes and its recorded hash with the new bytes' (the blob then
        looks as if it had been written so)."""
        digest = hashlib.sha256(content).hexdigest()
        if isinstance(self._storage, MemoryStorage):
            self._storage.blobs.contents[name] = content
            self._storage.blobs.recorded[name] = digest
            return
        async with self._container() as container:
            blob = container.get_blob_client(name)
            metadata = (await blob.get_blob_properties()).metadata
            await blob.upload_blob(content, overwrite=True, metadata=metadata | {"sha256": digest})

    async def write(self, name: str, content: bytes) -> None:
        """Write a blob (a new one, or over one), with the recorded hash of its bytes."""
        if isinstance(self._storage, MemoryStorage):
            self._storage.blobs.contents[name] = content
            self._storage.blobs.recorded[name] = hashlib.sha256(content).hexdigest()
            return
        async with self._container() as container:
            digest = hashlib.sha256(content).hexdigest()
            await container.upload_blob(name, content, overwrite=True, metadata={"sha256": digest})

    async def delete(self, name: str) -> None:
        """Remove a blob."""
        if isinstance(self._storage, MemoryStorage):
            del self._storage.blobs.contents[name]
            return
        async with self._container() as container:
            await container.delete_blob(name)

    def _container(self) -> ContainerClient:
        assert self._settings is not None
        assert self._settings.storage.connection_string is not None
        return ContainerClient.from_connection_string(
            self._settings.storage.connection_string,
            self._settings.container,
            api_version=EMULATOR_BLOB_API_VERSION,
        )
