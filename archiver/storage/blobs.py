"""The archive container over the async Blob SDK: create-only writes, reads, listings."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobPrefix, ContainerClient

from archiver.errors import AlreadyStored, NotFound
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
