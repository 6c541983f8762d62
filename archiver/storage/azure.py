"""Azure Blob + Table adapters over the async SDK clients.

Create-only blobs are `If-None-Match: *` uploads; latest rows are inserts and
ETag-conditional replaces. Every Azure, aiohttp or socket error is translated here,
once, into archiver.errors; nothing from azure.* escapes this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from archiver.errors import (
    AlreadyStored,
    ConcurrentUpdate,
    NotFound,
    StorageError,
    StorageUnavailable,
)
from archiver.layout import LatestRow
from archiver.settings import Settings
from archiver.storage.clients import clients
from archiver.storage.entities import from_entity, stamp_of, to_entity
from archiver.storage.ports import Current

_JSON = ContentSettings(content_type="application/json; charset=utf-8")
_ROW_STAMP = ["version", "action"]


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn whatever storage or the network raised into an archiver StorageError."""
    try:
        yield
    except StorageError:
        raise
    except ResourceModifiedError as exc:
        raise ConcurrentUpdate(f"{what}: {_code(exc)}") from exc
    except (AzureError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StorageUnavailable(f"{what} failed: {_code(exc)}") from exc


def _etag(metadata: Any) -> str:
    etag = metadata.get("etag") if isinstance(metadata, dict) else None
    if not isinstance(etag, str):
        raise StorageUnavailable("the table service answered a write without an ETag")
    return etag


def _code(exc: BaseException) -> str:
    # Only the status and the service's error code: messages can echo URLs with SAS.
    if isinstance(exc, HttpResponseError):
        headers = getattr(exc.response, "headers", None) or {}
        code = getattr(exc, "error_code", None) or headers.get("x-ms-error-code") or ""
        return f"{type(exc).__name__} {exc.status_code} {code}".strip()
    return type(exc).__name__


class AzureBlobArchive:
    """Blobs in one container, written create-only."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def create(self, name: str, content: bytes) -> None:
        """Store `content` under `name`; raise AlreadyStored if the name is taken."""
        with _translated(f"writing blob {name}"):
            try:
                await self._container.upload_blob(
                    name, content, overwrite=False, content_settings=_JSON
                )
            except ResourceExistsError as exc:
                raise AlreadyStored(name) from exc

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""
        with _translated(f"reading blob {name}"):
            try:
                download = await self._container.download_blob(name)
                return await download.readall()
            except ResourceNotFoundError as exc:
                raise NotFound(name) from exc

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names that start with `prefix`, in lexicographic order."""
        with _translated(f"listing blobs under {prefix!r}"):
            try:
                async for blob in self._container.list_blobs(name_starts_with=prefix or None):
                    yield blob.name
            except ResourceNotFoundError:
                return  # no container yet: an archive nothing was written to is empty


class AzureMessageTable:
    """The latest-message table, written with inserts and ETag-checked replaces."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def current(self, thread_key: str, message_key: str) -> Current | None:
        """Return the row's stamp and ETag, or None when there is no row."""
        entity = await self._entity(thread_key, message_key, select=_ROW_STAMP)
        if entity is None:
            return None
        return Current(stamp_of(entity), entity.metadata["etag"])

    async def insert(self, row: LatestRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        with _translated(f"inserting row {row.thread_key}/{row.message_key}"):
            try:
                return _etag(await self._table.create_entity(to_entity(row)))
            except ResourceExistsError as exc:
                raise ConcurrentUpdate("row already exists") from exc

    async def replace(self, row: LatestRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""
        with _translated(f"replacing row {row.thread_key}/{row.message_key}"):
            try:
                return _etag(
                    await self._table.update_entity(
                        to_entity(row),
                        mode=UpdateMode.REPLACE,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                )
            except ResourceNotFoundError as exc:
                raise ConcurrentUpdate("row was deleted") from exc

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        """Return the whole row, or None."""
        entity = await self._entity(thread_key, message_key)
        return None if entity is None else from_entity(entity)

    async def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        """Yield every row, or one thread's, in key order."""
        with _translated("listing rows"):
            try:
                if thread_key is None:
                    pages = self._table.list_entities()
                else:
                    pages = self._table.query_entities(
                        "PartitionKey eq @thread", parameters={"thread": thread_key}
                    )
                async for entity in pages:
                    yield from_entity(entity)
            except ResourceNotFoundError:
                return  # no table yet: nothing was archived

    async def _entity(
        self, thread_key: str, message_key: str, select: list[str] | None = None
    ) -> Any:
        with _translated(f"reading row {thread_key}/{message_key}"):
            try:
                return await self._table.get_entity(thread_key, message_key, select=select)
            except ResourceNotFoundError:
                return None


class AzureStorage:
    """The archive container and tables of one storage account."""

    def __init__(
        self,
        *,
        blob_service: BlobServiceClient,
        table_service: TableServiceClient,
        container: str,
        messages_table: str,
        credential: Any = None,
    ) -> None:
        self._blob_service = blob_service
        self._table_service = table_service
        self._container = blob_service.get_container_client(container)
        self._messages_name = messages_table
        self._blobs = AzureBlobArchive(self._container)
        self._messages = AzureMessageTable(table_service.get_table_client(messages_table))
        self._credential = credential

    @classmethod
    def from_settings(
        cls, settings: Settings, *, request_hook: Callable[[Any], None] | None = None
    ) -> AzureStorage:
        """Clients for the configured account; no network traffic until first use.

        `request_hook` sees every HTTP attempt, retries included (the benchmark counts
        storage requests with it).
        """
        blob_service, table_service, credential = clients(settings.storage, request_hook)
        return cls(
            blob_service=blob_service,
            table_service=table_service,
            container=settings.container,
            messages_table=settings.messages_table,
            credential=credential,
        )

    @property
    def blobs(self) -> AzureBlobArchive:
        """The blob container."""
        return self._blobs

    @property
    def messages(self) -> AzureMessageTable:
        """The latest-message table."""
        return self._messages

    async def prepare(self) -> None:
        """Create the container and table when missing; safe to call again."""
        with _translated("creating the archive container and table"):
            with contextlib.suppress(ResourceExistsError):
                await self._container.create_container()
            await self._table_service.create_table_if_not_exists(self._messages_name)

    async def ping(self) -> None:
        """Return when both services answer; raise StorageUnavailable otherwise."""
        with _translated("checking storage"):
            with contextlib.suppress(ResourceNotFoundError):
                await self._container.get_container_properties()
            await self._messages.current("~ping", "~ping")

    async def close(self) -> None:
        """Release connections and the credential."""
        await self._blob_service.close()
        await self._table_service.close()
        if self._credential is not None:
            await self._credential.close()
