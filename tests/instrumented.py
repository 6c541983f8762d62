"""A wrapper around a real storage adapter that counts calls and injects failures.

It changes nothing about how the wrapped store behaves; it only records what the
archiver asked of it, and can make chosen operations fail the way an outage would.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Collection, Sequence
from datetime import datetime, timedelta

from archiver.core.errors import ConcurrentUpdate, RowConflict, StorageUnavailable
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow
from archiver.core.transactions import RowWrite
from archiver.storage.ports import Current, Known, Page, Storage, StoredBlob, Window


class Instrumented:
    """Storage that counts `calls` and misbehaves on chosen operations.

    `failing` ops raise StorageUnavailable N times, `stalling` ops never answer, `racing`
    ops always lose to another writer, and `broken` ops raise a plain bug.
    """

    def __init__(
        self,
        inner: Storage,
        *,
        failing: dict[str, int] | None = None,
        stalling: frozenset[str] = frozenset(),
        racing: frozenset[str] = frozenset(),
        broken: frozenset[str] = frozenset(),
    ) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.failing = Counter(failing or {})
        self.stalling = stalling
        self.racing = racing
        self.broken = broken
        self.blobs = _Blobs(self)
        self.messages = _Messages(self)
        self.threads = _Threads(self)
        self.holds = inner.holds  # not counted: the disposal specs count blobs and rows
        self.activity = _Activity(self)
        self.keys = inner.keys  # not counted: the key rows' transactions are the keyring's
        self.versions = inner.versions.over(self.blobs)  # reads counted as blob reads

    @property
    def requests(self) -> Counter[str]:
        """Storage requests made for the deliveries: all calls but the once-per-process prepare."""
        return Counter({op: n for op, n in self.calls.items() if op != "prepare"})

    async def hit(self, operation: str) -> None:
        self.calls[operation] += 1
        if operation in self.stalling:
            await asyncio.sleep(3600)
        if operation in self.racing:
            lost = f"another writer changed the row first ({operation})"
            raise RowConflict(lost, index=0) if operation == "transact" else ConcurrentUpdate(lost)
        if operation in self.broken:
            raise RuntimeError(f"a bug in {operation}")
        if self.failing[operation] > 0:
            self.failing[operation] -= 1
            raise StorageUnavailable(f"injected failure of {operation}")

    def dead_letters(self, container: str):
        return self.inner.dead_letters(container)

    def container(self, name: str):
        return self.inner.container(name)

    def queue(self, name: str):
        return self.inner.queue(name)

    async def prepare_container(self, name: str) -> None:
        await self.hit("prepare_container")
        await self.inner.prepare_container(name)

    async def prepare(self) -> None:
        await self.hit("prepare")
        await self.inner.prepare()

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class _Blobs:
    def __init__(self, owner: Instrumented) -> None:
        self._owner = owner

    async def create(self, name: str, content: bytes) -> str:
        await self._owner.hit("create")
        return await self._owner.inner.blobs.create(name, content)

    async def create_from(
        self, name: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> str:
        await self._owner.hit("create_from")
        return await self._owner.inner.blobs.create_from(name, chunks, content_type=content_type)

    async def listing(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        await self._owner.hit("listing")
        async for blob in self._owner.inner.blobs.listing(prefix):
            yield blob

    async def recorded_sha256(self, name: str) -> str | None:
        await self._owner.hit("recorded_sha256")
        return await self._owner.inner.blobs.recorded_sha256(name)

    async def delete(self, name: str) -> None:
        await self._owner.hit("delete")
        await self._owner.inner.blobs.delete(name)

    async def set_legal_hold(self, name: str, held: bool) -> None:
        await self._owner.hit("set_legal_hold")
        await self._owner.inner.blobs.set_legal_hold(name, held)

    async def legal_holds(self, prefix: str = "") -> AsyncIterator[str]:
        async for name in self._owner.inner.blobs.legal_holds(prefix):
            yield name

    async def prefixes(self, prefix: str) -> AsyncIterator[str]:
        async for folder in self._owner.inner.blobs.prefixes(prefix):
            yield folder

    async def read(self, name: str) -> bytes:
        await self._owner.hit("read")
        return await self._owner.inner.blobs.read(name)

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        async for name in self._owner.inner.blobs.names(prefix):
            yield name


class _Messages:
    def __init__(self, owner: Instrumented) -> None:
        self._owner = owner

    async def current(self, thread_key: str, message_key: str) -> Current | None:
        await self._owner.hit("current")
        return await self._owner.inner.messages.current(thread_key, message_key)

    async def insert(self, row: LatestRow) -> str:
        await self._owner.hit("insert")
        return await self._owner.inner.messages.insert(row)

    async def replace(self, row: LatestRow, *, etag: str) -> str:
        await self._owner.hit("replace")
        return await self._owner.inner.messages.replace(row, etag=etag)

    async def transact(self, writes: Sequence[RowWrite]) -> list[str]:
        await self._owner.hit("transact")
        return await self._owner.inner.messages.transact(writes)

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        return await self._owner.inner.messages.get(thread_key, message_key)

    async def delete(self, thread_key: str, message_key: str, *, etag: str | None = None) -> None:
        await self._owner.hit("row.delete")
        await self._owner.inner.messages.delete(thread_key, message_key, etag=etag)

    async def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        async for row in self._owner.inner.messages.scan(thread_key):
            yield row

    async def page(
        self, thread_key: str, window: Window, *, size: int, token: str | None = None
    ) -> Page:
        await self._owner.hit("page")
        return await self._owner.inner.messages.page(thread_key, window, size=size, token=token)


class _Threads:
    def __init__(self, owner: Instrumented) -> None:
        self._owner = owner

    async def get(self, thread_key: str) -> Known | None:
        await self._owner.hit("thread.get")
        return await self._owner.inner.threads.get(thread_key)

    async def insert(self, row: ThreadRow) -> str:
        await self._owner.hit("thread.insert")
        return await self._owner.inner.threads.insert(row)

    async def replace(self, row: ThreadRow, *, etag: str) -> str:
        await self._owner.hit("thread.replace")
        return await self._owner.inner.threads.replace(row, etag=etag)

    async def scan(self) -> AsyncIterator[ThreadRow]:
        async for row in self._owner.inner.threads.scan():
            yield row

    async def delete(self, thread_key: str, *, etag: str | None = None) -> None:
        await self._owner.hit("thread.delete")
        await self._owner.inner.threads.delete(thread_key, etag=etag)


class _Activity:
    def __init__(self, owner: Instrumented) -> None:
        self._owner = owner

    async def record(self, partition: str, thread_keys: Collection[str]) -> None:
        await self._owner.hit("activity.record")
        await self._owner.inner.activity.record(partition, thread_keys)

    async def thread_keys(self, first: str, last: str) -> AsyncIterator[str]:
        await self._owner.hit("activity.thread_keys")
        async for key in self._owner.inner.activity.thread_keys(first, last):
            yield key

    async def forget(self, partition: str, thread_key: str) -> None:
        await self._owner.hit("activity.forget")
        await self._owner.inner.activity.forget(partition, thread_key)

    async def claim(self, partition: str, key: str, *, now: datetime, hold: timedelta) -> bool:
        await self._owner.hit("activity.claim")
        return await self._owner.inner.activity.claim(partition, key, now=now, hold=hold)

    async def cursor(self, job: str) -> str | None:
        return await self._owner.inner.activity.cursor(job)

    async def move_cursor(self, job: str, hour: str) -> None:
        await self._owner.inner.activity.move_cursor(job, hour)
