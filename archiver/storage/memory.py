"""In-memory storage: a real adapter for tests and dry runs, held to the same contract.

Every operation yields to the event loop first, so concurrent callers interleave the
way they do against a network store.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Generic, Protocol, TypeVar

from archiver.core.erasure.keys import KeyWrapper
from archiver.core.errors import ConcurrentUpdate, InvalidQuery, RowConflict
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow
from archiver.core.transactions import RowWrite, check
from archiver.storage.keyring import Keyring
from archiver.storage.memoryblobs import MemoryBlobArchive, MemoryDeadLetters
from archiver.storage.memoryholds import MemoryHoldTable
from archiver.storage.memoryjobs import MemoryActivityTable, MemoryJobQueue
from archiver.storage.memorykeys import MemoryKeyTable
from archiver.storage.ports import Current, Known, Page, Window
from archiver.storage.versions import Versions


class MemoryMessageTable:
    """Rows in a dict, each with an ETag that changes on every write."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[LatestRow, str]] = {}
        self._etags = itertools.count(1)

    async def current(self, thread_key: str, message_key: str) -> Current | None:
        """Return the row's stamp and ETag, or None when there is no row."""
        await asyncio.sleep(0)
        found = self.rows.get((thread_key, message_key))
        return None if found is None else Current(found[0].stamp, found[1])

    async def insert(self, row: LatestRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        await asyncio.sleep(0)
        key = (row.thread_key, row.message_key)
        if key in self.rows:
            raise ConcurrentUpdate(f"row {key} already exists")
        self.rows[key] = (row, etag := self._etag())
        return etag

    async def replace(self, row: LatestRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""
        await asyncio.sleep(0)
        key = (row.thread_key, row.message_key)
        found = self.rows.get(key)
        if found is None or found[1] != etag:
            raise ConcurrentUpdate(f"row {key} changed")
        self.rows[key] = (row, new := self._etag())
        return new

    async def transact(self, writes: Sequence[RowWrite]) -> list[str]:
        """Apply `writes` all or nothing; RowConflict names the first that lost a race."""
        check(writes)
        await asyncio.sleep(0)
        for index, write in enumerate(writes):
            found = self.rows.get((write.row.thread_key, write.row.message_key))
            if (
                (found is not None)
                if write.etag is None
                else (found is None or found[1] != write.etag)
            ):
                raise RowConflict(
                    f"row {write.row.thread_key}/{write.row.message_key} "
                    f"{'already exists' if write.etag is None else 'changed'}",
                    index=index,
                )
        etags = []
        for write in writes:
            self.rows[(write.row.thread_key, write.row.message_key)] = (
                write.row,
                etag := self._etag(),
            )
            etags.append(etag)
        return etags

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        """Return the whole row, or None."""
        await asyncio.sleep(0)
        found = self.rows.get((thread_key, message_key))
        return None if found is None else found[0]

    async def delete(self, thread_key: str, message_key: str, *, etag: str | None = None) -> None:
        """Delete a row (one already gone is fine); with `etag`, only if it still has it."""
        await asyncio.sleep(0)
        found = self.rows.get((thread_key, message_key))
        if found is not None and etag is not None and found[1] != etag:
            raise ConcurrentUpdate(f"row {thread_key}/{message_key} changed")
        self.rows.pop((thread_key, message_key), None)

    async def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        """Yield every row, or one thread's, in key order."""
        await asyncio.sleep(0)
        for key in sorted(self.rows):
            if thread_key is None or key[0] == thread_key:
                yield self.rows[key][0]

    async def page(
        self, thread_key: str, window: Window, *, size: int, token: str | None = None
    ) -> Page:
        """At most `size` of a thread's rows in `window`, from where `token` left off."""
        await asyncio.sleep(0)
        after = _after(token)
        keys = sorted(
            k for k in self.rows if k[0] == thread_key and (after is None or k[1] > after)
        )
        rows = [self.rows[k][0] for k in keys if window.holds(self.rows[k][0])]
        if len(rows) <= size:
            return Page(tuple(rows), None)
        last = rows[size - 1].message_key
        token = base64.urlsafe_b64encode(json.dumps({"after": last}).encode()).decode()
        return Page(tuple(rows[:size]), token)

    def _etag(self) -> str:
        return f'W/"{next(self._etags)}"'


def _after(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidQuery("continuationToken is not one this archive issued") from exc
    after = value.get("after") if isinstance(value, dict) else None
    if not isinstance(after, str):
        raise InvalidQuery("continuationToken is not one this archive issued")
    return after


class _Keyed(Protocol):
    @property
    def thread_key(self) -> str: ...


_Row = TypeVar("_Row", bound=_Keyed)


class _PerThreadTable(Generic[_Row]):
    """One row per thread in a dict, each with an ETag that changes on every write."""

    what = "row"

    def __init__(self) -> None:
        self.rows: dict[str, tuple[_Row, str]] = {}
        self._etags = itertools.count(1)

    async def _found(self, thread_key: str) -> tuple[_Row, str] | None:
        await asyncio.sleep(0)
        return self.rows.get(thread_key)

    async def insert(self, row: _Row) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        await asyncio.sleep(0)
        if row.thread_key in self.rows:
            raise ConcurrentUpdate(f"{self.what} {row.thread_key} already exists")
        self.rows[row.thread_key] = (row, etag := self._etag())
        return etag

    async def replace(self, row: _Row, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""
        await asyncio.sleep(0)
        found = self.rows.get(row.thread_key)
        if found is None or found[1] != etag:
            raise ConcurrentUpdate(f"{self.what} {row.thread_key} changed")
        self.rows[row.thread_key] = (row, new := self._etag())
        return new

    async def scan(self) -> AsyncIterator[_Row]:
        """Yield every row, in key order."""
        await asyncio.sleep(0)
        for key in sorted(self.rows):
            yield self.rows[key][0]

    async def delete(self, thread_key: str, *, etag: str | None = None) -> None:
        """Delete a thread's row (one already gone is fine); with `etag`, only if it has it."""
        await asyncio.sleep(0)
        found = self.rows.get(thread_key)
        if found is not None and etag is not None and found[1] != etag:
            raise ConcurrentUpdate(f"{self.what} {thread_key} changed")
        self.rows.pop(thread_key, None)

    def _etag(self) -> str:
        return f'W/"t{next(self._etags)}"'


class MemoryThreadTable(_PerThreadTable[ThreadRow]):
    """Thread rows in a dict."""

    what = "thread row"

    async def get(self, thread_key: str) -> Known | None:
        """Return the row and its ETag, or None when there is no row."""
        found = await self._found(thread_key)
        return None if found is None else Known(*found)


class MemoryStorage:
    """The in-memory stores, shaped like the Azure adapter."""

    def __init__(
        self,
        *,
        root_key: KeyWrapper | None = None,
        sealing: bool = False,
        blobs: MemoryBlobArchive | None = None,
        keys: MemoryKeyTable | None = None,
    ) -> None:
        """`blobs`, `keys`: stores to use (a benchmark's indexed container; a sibling's)."""
        self._blobs = MemoryBlobArchive() if blobs is None else blobs
        self._messages = MemoryMessageTable()
        self._threads = MemoryThreadTable()
        self._holds = MemoryHoldTable()
        self.boxes: dict[str, MemoryDeadLetters] = {}
        self.containers: dict[str, MemoryBlobArchive] = {}
        self.queues: dict[str, MemoryJobQueue] = {}
        self._activity = MemoryActivityTable()
        self._keys = MemoryKeyTable() if keys is None else keys
        keyring = None if root_key is None else Keyring(self._keys, root_key)
        self._versions = Versions(self._blobs, keyring, sealing=sealing)

    def sibling(self, *, root_key: KeyWrapper | None, sealing: bool) -> MemoryStorage:
        """Another process's view of the same stores, with its own keys' caches and mode."""
        blobs, keys = self._blobs, self._keys
        other = MemoryStorage(root_key=root_key, sealing=sealing, blobs=blobs, keys=keys)
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_versions"})
        return other

    def container(self, name: str) -> MemoryBlobArchive:
        """Another container (created on first use)."""
        return self.containers.setdefault(name, MemoryBlobArchive())

    async def prepare_container(self, name: str) -> None:
        """Create the container `name` when missing."""
        self.container(name)

    def queue(self, name: str) -> MemoryJobQueue:
        """A queue (created on first use)."""
        return self.queues.setdefault(name, MemoryJobQueue(name))

    @property
    def activity(self) -> MemoryActivityTable:
        """The activity table."""
        return self._activity

    def dead_letters(self, container: str) -> MemoryDeadLetters:
        """The dead-letter container `container` (created by putting blobs in it)."""
        return self.boxes.setdefault(container, MemoryDeadLetters())

    @property
    def blobs(self) -> MemoryBlobArchive:
        """The blob container."""
        return self._blobs

    @property
    def messages(self) -> MemoryMessageTable:
        """The latest-message table."""
        return self._messages

    @property
    def threads(self) -> MemoryThreadTable:
        """The thread table."""
        return self._threads

    @property
    def holds(self) -> MemoryHoldTable:
        """The legal-hold table."""
        return self._holds

    @property
    def keys(self) -> MemoryKeyTable:
        """The wrapped keys of envelope mode."""
        return self._keys

    @property
    def versions(self) -> Versions:
        """Version blobs as plain documents, envelopes opened (archiver.storage.versions)."""
        return self._versions

    async def prepare(self) -> None:
        """Nothing to create in memory."""

    async def ping(self) -> None:
        """Memory always answers."""

    async def close(self) -> None:
        """Nothing to release."""
