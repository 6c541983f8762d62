"""The archive container over the async Blob SDK: create-only writes, reads, listings."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock, ContentSettings
from azure.storage.blob.aio import BlobPrefix, ContainerClient

from archiver.core.errors import AlreadyStored, Immutable, NotFound, UnknownContainer
from archiver.core.layout import SHA256_METADATA, content_sha256
from archiver.storage.ports import StoredBlob
from archiver.storage.translation import translated

_JSON = ContentSettings(content_type="application/json; charset=utf-8")
# A streamed blob is staged in blocks of this size: aiohttp warns (an error in the test
# suite) when one bytes body passes 1 MiB, since sending it would hold the event loop.
BLOCK_BYTES = 1024 * 1024


class AzureBlobArchive:
    """Blobs in one container, written create-only."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def create(self, name: str, content: bytes) -> str:
        """Store `content` with its SHA-256 in the metadata, in one request; raise
        AlreadyStored if the name is taken."""
        digest = content_sha256(content)
        with translated(f"writing blob {name}"):
            try:
                await self._container.upload_blob(
                    name,
                    content,
                    overwrite=False,
                    content_settings=_JSON,
                    metadata={SHA256_METADATA: digest},
                )
            except ResourceExistsError as exc:
                raise AlreadyStored(name) from exc
            except ResourceNotFoundError as exc:  # the container is not there
                raise UnknownContainer(f"no container for blob {name}") from exc
        return digest

    async def create_from(
        self, name: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> str:
        """Stage `chunks` as blocks, hashing as they pass, then commit the block list
        with the hash in the metadata, create-only: until the commit succeeds nothing is
        visible, and a name already taken stores nothing."""
        blob = self._container.get_blob_client(name)
        digest = hashlib.sha256()
        blocks: list[BlobBlock] = []
        # Block ids of this upload only: a concurrent upload of the same name stages its
        # own blocks, and whichever commits second finds the name taken.
        upload = uuid.uuid4().hex
        with translated(f"writing blob {name}"):
            async for block in _blocks(chunks):
                digest.update(block)
                block_id = base64.b64encode(f"{upload}-{len(blocks):08d}".encode()).decode()
                await blob.stage_block(block_id, block)
                blocks.append(BlobBlock(block_id=block_id))
            try:
                await blob.commit_block_list(
                    blocks,
                    content_settings=ContentSettings(content_type=content_type),
                    metadata={SHA256_METADATA: digest.hexdigest()},
                    match_condition=MatchConditions.IfMissing,
                )
            except (ResourceExistsError, ResourceModifiedError) as exc:
                raise AlreadyStored(name) from exc
        return digest.hexdigest()

    async def listing(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        """Yield the blobs under `prefix` with size and recorded SHA-256, in name order."""
        with translated(f"listing blobs under {prefix!r}"):
            try:
                async for blob in self._container.list_blobs(
                    name_starts_with=prefix or None, include=["metadata"]
                ):
                    yield StoredBlob(
                        name=blob.name,
                        size=int(blob.size or 0),
                        sha256=(blob.metadata or {}).get(SHA256_METADATA),
                        created=blob.creation_time,
                    )
            except ResourceNotFoundError:
                return

    async def recorded_sha256(self, name: str) -> str | None:
        """The SHA-256 recorded when `name` was written; raise NotFound without it."""
        with translated(f"reading the properties of blob {name}"):
            try:
                properties = await self._container.get_blob_client(name).get_blob_properties()
            except ResourceNotFoundError as exc:
                raise NotFound(name) from exc
        found = (properties.metadata or {}).get(SHA256_METADATA)
        return found if isinstance(found, str) else None

    async def delete(self, name: str) -> None:
        """Delete a blob and its snapshots (one already gone is fine); raise Immutable
        when an immutability policy or legal hold keeps it."""
        with translated(f"deleting blob {name}"):
            try:
                await self._container.delete_blob(name, delete_snapshots="include")
            except ResourceNotFoundError:
                return
            except HttpResponseError as exc:
                code = getattr(exc, "error_code", None)  # set by the storage SDK's errors
                if code in _IMMUTABLE_CODES:
                    raise Immutable(f"{name} is kept by {code}") from exc
                raise

    async def set_legal_hold(self, name: str, held: bool) -> None:
        """Set or clear the blob's legal-hold flag (needs version-level immutability on
        the account; Azurite has none); raise NotFound without the blob."""
        with translated(f"setting the legal hold of blob {name}"):
            try:
                await self._container.get_blob_client(name).set_legal_hold(held)
            except ResourceNotFoundError as exc:
                raise NotFound(name) from exc

    async def legal_holds(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names under `prefix` whose legal-hold flag is set, in name order."""
        with translated(f"listing the legal holds under {prefix!r}"):
            try:
                async for blob in self._container.list_blobs(
                    name_starts_with=prefix or None, include=["legalhold"]
                ):
                    if blob.has_legal_hold:
                        yield blob.name
            except ResourceNotFoundError:
                return

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


_IMMUTABLE_CODES = frozenset({"BlobImmutableDueToPolicy", "BlobImmutableDueToLegalHold"})


async def _blocks(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """`chunks` regrouped into blocks of BLOCK_BYTES (the last one shorter)."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        while len(pending) >= BLOCK_BYTES:
            yield bytes(pending[:BLOCK_BYTES])
            del pending[:BLOCK_BYTES]
    if pending:
        yield bytes(pending)


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
