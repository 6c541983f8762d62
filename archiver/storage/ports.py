"""What the archiver needs from storage, as small async ports.

Each adapter (Azure, in-memory) passes the same contract suite in
tests/storage_contract.py, and raises only errors from archiver.errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from archiver.layout import LatestRow
from archiver.threads import ThreadRow
from archiver.versions import Stamp


@dataclass(frozen=True)
class Current:
    """The stamp of the row as it is now, and the ETag that proves it."""

    stamp: Stamp
    etag: str


class BlobArchive(Protocol):
    """Immutable blobs, written once under their natural name."""

    async def create(self, name: str, content: bytes) -> None:
        """Store `content` under `name`; raise AlreadyStored if the name is taken."""

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""

    def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names that start with `prefix`, in order; none before any write."""


class MessageTable(Protocol):
    """The `ChatMessages` table: one row per message, the newest version seen."""

    async def current(self, thread_key: str, message_key: str) -> Current | None:
        """Return the row's stamp and ETag, or None when there is no row."""

    async def insert(self, row: LatestRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""

    async def replace(self, row: LatestRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        """Return the whole row, or None."""

    def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        """Yield every row, or one thread's, in key order; none before any write."""


@dataclass(frozen=True)
class Known:
    """A thread row as it is now, and the ETag that proves it."""

    row: ThreadRow
    etag: str


class ThreadTable(Protocol):
    """The `ChatThreads` table: one row per thread."""

    async def get(self, thread_key: str) -> Known | None:
        """Return the row and its ETag, or None when there is no row."""

    async def insert(self, row: ThreadRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""

    async def replace(self, row: ThreadRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""

    def scan(self) -> AsyncIterator[ThreadRow]:
        """Yield every thread row, in key order; none before any write."""


class Storage(Protocol):
    """The archive's storage, as one thing to prepare, check and close."""

    @property
    def blobs(self) -> BlobArchive:
        """The blob container."""

    @property
    def messages(self) -> MessageTable:
        """The latest-message table."""

    @property
    def threads(self) -> ThreadTable:
        """The thread table."""

    async def prepare(self) -> None:
        """Create the container and tables when missing; safe to call again."""

    async def ping(self) -> None:
        """Return when storage answers; raise StorageUnavailable otherwise."""

    async def close(self) -> None:
        """Release connections."""
