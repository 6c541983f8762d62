"""The archive container over the async Blob SDK: create-only writes, reads, listings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobPrefix, ContainerClient

from archiver.core.errors import AlreadyStored, NotFound
from archiver.storage.translation import translated

_JSON = ContentSettings(content_type="application/json; charset=utf-8")


class AzureBlobArchive:
    """Blobs in one container, written create-only."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def create(self, name: str, content: bytes) -> None:
        """Store `content` under `name`; raise AlreadyStored if the name is taken."""
        with translated(f"writing blob {name}"):
            try:
                await self._container.upload_blob(
                    name, content, overwrite=False, content_settings=_JSON
                )
            except ResourceExistsError as exc:
                raise AlreadyStored(name) from exc

    async def create_from(
        self, name: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> None:
        """Stream `chunks` into a block blob committed create-only: until the commit
        succeeds nothing is visible, and a name already taken stores nothing."""
        with translated(f"writing blob {name}"):
            try:
                await self._container.upload_blob(
                    name,
                    chunks,
                    overwrite=False,
                    content_settings=ContentSettings(content_type=content_type),
                )
            except ResourceExistsError as exc:
                raise AlreadyStored(name) from exc

    async def prefixes(self, prefix: str) -> AsyncIterator[str]:
        """Yield the folders directly under `prefix`, in order."""
        with translated(f"listing folders under {prefix!r}"):
            try:
                async for item in self._container.walk_blobs(name_starts_with=prefix):
                    if isinstance(item, BlobPrefix):
                        yield item.name
            except ResourceNotFoundError:
                return

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""
        with translated(f"reading blob {name}"):
            try:
                download = await self._container.download_blob(name)
                return await download.readall()
            except ResourceNotFoundError as exc:
                raise NotFound(name) from exc

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names that start with `prefix`, in lexicographic order."""
        with translated(f"listing blobs under {prefix!r}"):
            try:
                async for blob in self._container.list_blobs(name_starts_with=prefix or None):
                    yield blob.name
            except ResourceNotFoundError:
                return  # no container yet: an archive nothing was written to is empty


class AzureDeadLetters:
    """A dead-letter container: listed, read, and replayed blobs moved aside."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def exists(self) -> bool:
        """True when the container exists."""
        with translated("checking the dead-letter container"):
            return bool(await self._container.exists())

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the blob names that start with `prefix`, in order."""
        with translated(f"listing dead letters under {prefix!r}"):
            try:
                async for blob in self._container.list_blobs(name_starts_with=prefix or None):
                    yield blob.name
            except ResourceNotFoundError:
                return

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""
        with translated(f"reading dead letter {name}"):
            try:
                download = await self._container.download_blob(name)
                return await download.readall()
            except ResourceNotFoundError as exc:
                raise NotFound(name) from exc

    async def move(self, name: str, to: str) -> None:
        """Copy `name` to `to` (a copy already there is kept), then delete `name`."""
        with translated(f"moving dead letter {name}"):
            try:
                content = await (await self._container.download_blob(name)).readall()
            except ResourceNotFoundError:
                return  # moved already, by an earlier run that stopped before reporting
            # A copy already there: an earlier run copied it and stopped before the delete.
            with contextlib.suppress(ResourceExistsError):
                await self._container.upload_blob(
                    to, content, overwrite=False, content_settings=_JSON
                )
            try:
                await self._container.delete_blob(name)
            except ResourceNotFoundError:
                return
