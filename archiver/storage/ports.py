"""What the archiver needs from storage, as small async ports.

Each adapter (Azure, in-memory) passes the same contract suite in
tests/storage_contract.py, and raises only errors from archiver.core.errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import Hold
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow
from archiver.core.transactions import RowWrite
from archiver.core.versions import Stamp
from archiver.storage.jobports import ActivityTable, JobQueue
from archiver.storage.keyports import KeyTable

if TYPE_CHECKING:
    from archiver.storage.versions import Versions


@dataclass(frozen=True)
class Current:
    """The stamp of the row as it is now, and the ETag that proves it."""

    stamp: Stamp
    etag: str


@dataclass(frozen=True, kw_only=True)
class Window:
    """Which messages of a thread: composed in [since, until), and deleted ones or not."""

    since: datetime | None = None
    until: datetime | None = None
    include_deleted: bool = True

    def holds(self, row: LatestRow) -> bool:
        """True when `row` is in the window (a row without a compose time is only in an
        unbounded one)."""
        if not self.include_deleted and row.action == "deleted":
            return False
        if self.since is None and self.until is None:
            return True
        when = row.compose_time
        return (
            when is not None
            and (self.since is None or when >= self.since)
            and (self.until is None or when < self.until)
        )


@dataclass(frozen=True)
class Page:
    """Some rows of a thread in key order, and the token for the rest (None at the end)."""

    rows: tuple[LatestRow, ...]
    token: str | None


@dataclass(frozen=True, kw_only=True)
class StoredBlob:
    """A blob as a listing shows it: name, size, the SHA-256 recorded when it was
    written (None for a blob written without one), and when the store created it."""

    name: str
    size: int
    sha256: str | None
    created: datetime | None


class BlobArchive(Protocol):
    """Immutable blobs, written once under their natural name, each with the SHA-256 of
    its bytes recorded in its metadata (`sha256`) by the same write."""

    async def create(self, name: str, content: bytes) -> str:
        """Store `content` under `name` and return its SHA-256; raise AlreadyStored if
        the name is taken."""

    async def create_from(
        self, name: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> str:
        """Store the concatenated `chunks` under `name`, streamed, and return their
        SHA-256; raise AlreadyStored if the name is taken (nothing is then stored)."""

    def listing(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        """Yield every blob whose name starts with `prefix`, in name order, with its
        size and recorded SHA-256, without reading any content."""

    async def recorded_sha256(self, name: str) -> str | None:
        """The SHA-256 recorded when `name` was written (None if none was); raise
        NotFound if there is no such blob."""

    async def delete(self, name: str) -> None:
        """Delete a blob (one already gone is fine); raise Immutable when an
        immutability policy or legal hold keeps it."""

    async def set_legal_hold(self, name: str, held: bool) -> None:
        """Set or clear a blob's legal-hold flag (version-level immutability only); raise
        NotFound if there is no such blob."""

    def legal_holds(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names under `prefix` whose legal-hold flag is set, in order."""

    def prefixes(self, prefix: str) -> AsyncIterator[str]:
        """Yield the distinct `prefix` + segment + "/" that names under `prefix` begin
        with, in order (the folders directly under `prefix`)."""

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

    async def transact(self, writes: Sequence[RowWrite]) -> list[str]:
        """Apply `writes` (rows of one thread, each once, as archiver.core.transactions
        groups them) as one transaction: all or nothing, each an insert or an ETag-checked
        replace as `insert` and `replace` are. Return each new ETag in order; raise
        RowConflict naming the first write that lost a race (nothing is then written)."""

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        """Return the whole row, or None."""

    async def delete(self, thread_key: str, message_key: str, *, etag: str | None = None) -> None:
        """Delete a row (one already gone is fine); with `etag`, only if the row still
        has it, raising ConcurrentUpdate when it changed."""

    def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        """Yield every row, or one thread's, in key order; none before any write."""

    async def page(
        self, thread_key: str, window: Window, *, size: int, token: str | None = None
    ) -> Page:
        """At most `size` of a thread's rows in `window`, in key order, from where
        `token` (from the previous page with the same window) left off; raise
        InvalidQuery for a token this table did not issue."""


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

    async def delete(self, thread_key: str, *, etag: str | None = None) -> None:
        """Delete a thread's row (one already gone is fine); with `etag`, only if the row
        still has it, raising ConcurrentUpdate when it changed."""


@dataclass(frozen=True)
class KnownHold:
    """A hold row as it is now, and the ETag that proves it."""

    row: Hold
    etag: str


@dataclass(frozen=True)
class KnownState:
    """A thread's own hold-table row as it is now, and the ETag that proves it."""

    row: ThreadState
    etag: str


class HoldTable(Protocol):
    """The `ChatHolds` table: one row per hold (its scope's key, its matter's key), and
    one row per thread a hold or a disposal has touched (the thread's key, RowKey "")."""

    async def get(self, scope_key: str, matter_key: str) -> KnownHold | None:
        """Return the hold row and its ETag, or None when there is none."""

    async def state(self, thread_key: str) -> KnownState | None:
        """Return the thread's own row and its ETag, or None when there is none."""

    async def insert(self, row: Hold | ThreadState) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""

    async def replace(self, row: Hold | ThreadState, *, etag: str) -> str:
        """Replace the row if it still has `etag`; raise ConcurrentUpdate otherwise."""

    async def delete(self, row: Hold, *, etag: str) -> None:
        """Delete a hold row if it still has `etag` (one already gone is fine); raise
        ConcurrentUpdate when it changed."""

    def scan(self, scope_key: str | None = None) -> AsyncIterator[Hold | ThreadState]:
        """Yield every row, or one scope's, in key order; none before any write."""


class DeadLetterBox(Protocol):
    """A container Event Grid dead-letters into: read, then moved aside once replayed."""

    async def exists(self) -> bool:
        """True when the container exists."""

    def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the blob names that start with `prefix`, in order."""

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""

    async def move(self, name: str, to: str) -> None:
        """Copy `name` to `to` (create-only; a copy already there is kept) and then
        delete `name`; safe to repeat after a failure between the two."""


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

    @property
    def holds(self) -> HoldTable:
        """The legal-hold table."""

    @property
    def keys(self) -> KeyTable:
        """The wrapped keys of envelope mode, mutable, outside WORM (archiver.storage.keyports)."""

    @property
    def versions(self) -> Versions:
        """Version blobs read back as plain documents, envelopes opened; new ones sealed
        (archiver.storage.versions)."""

    def container(self, name: str) -> BlobArchive:
        """Another container of the account, with the archive container's contract
        (create-only blobs, each with its SHA-256), e.g. the checkpoints'."""

    async def prepare_container(self, name: str) -> None:
        """Create the container `name` when missing; safe to call again."""

    @property
    def activity(self) -> ActivityTable:
        """The activity table the daily jobs read (archiver.core.activity)."""

    def queue(self, name: str) -> JobQueue:
        """A queue of the account (the jobs queue and its poison queue)."""

    def dead_letters(self, container: str) -> DeadLetterBox:
        """The dead-letter container `container` of the same account."""

    async def prepare(self) -> None:
        """Create the container and tables when missing; safe to call again."""

    async def ping(self) -> None:
        """Return when storage answers; raise StorageUnavailable otherwise."""

    async def close(self) -> None:
        """Release connections."""
