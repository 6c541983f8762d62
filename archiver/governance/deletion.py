"""What a disposal deletes, and only that: the thread's own blobs as planned, each
message row that still points at a planned blob (ETag-checked), and the thread row if
it is as the plan found it and nothing of the thread is left.

A message that arrives while a disposal runs keeps its blob (not planned), its row (it
points at that blob) and the thread row (changed, or needed by what is left): it is an
ordinary thread afterwards, seen by the read API and disposed of by a later run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from archiver.core.errors import ConcurrentUpdate, StorageUnavailable
from archiver.core.evidence.seals import covered_prefixes, seals_prefix
from archiver.core.governance.disposals import of_thread
from archiver.core.layout import LatestRow
from archiver.core.summaries import summaries_prefix
from archiver.storage.ports import Storage

ATTEMPTS = 8


async def listed(storage: Storage, thread_key: str, thread_id: str) -> list[dict[str, Any]]:
    """Every blob that is the thread's own, with its recorded SHA-256 and size: what its
    seals cover, its summaries, and its seals last (a name under the thread's folders
    that is not its own is never listed)."""
    found = []
    for prefix in (*folders(thread_key), seals_prefix(thread_key)):
        async for blob in storage.blobs.listing(prefix):
            if of_thread(blob.name, thread_id=thread_id, thread_key=thread_key):
                found.append({"name": blob.name, "size": blob.size, "sha256": blob.sha256})
    return found


def folders(thread_key: str) -> tuple[str, ...]:
    """The thread's folders but its seals': what they cover, and its summaries (derived,
    never sealed, but the thread's all the same)."""
    return (*covered_prefixes(thread_key), summaries_prefix(thread_key))


@dataclass(frozen=True)
class Rows:
    """Message rows deleted, and kept because they point at a blob not planned."""

    deleted: int
    kept: int


class Deletion:
    """Deletes a disposal's rows as its plan allows."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def rows(self, thread_key: str, planned: Collection[str]) -> Rows:
        """Delete each of the thread's message rows that points at a planned blob."""
        deleted = kept = 0
        for row in [r async for r in self._storage.messages.scan(thread_key)]:
            outcome = await self._row(row, planned)
            deleted += outcome == "deleted"
            kept += outcome == "kept"
        return Rows(deleted, kept)

    async def thread_row(
        self, thread_key: str, thread_id: str, *, planned: str | None, names: Collection[str]
    ) -> bool:
        """Delete the thread row if it has the planned ETag and nothing of the thread is
        left; otherwise keep it, without the seals deleted. True when it is kept."""
        known = await self._storage.threads.get(thread_key)
        if known is None:
            return False
        if known.etag == planned and not await self._left(thread_key, thread_id, names):
            try:
                await self._storage.threads.delete(thread_key, etag=known.etag)
            except ConcurrentUpdate:
                pass  # changed meanwhile: kept
            else:
                if not await self._left(thread_key, thread_id, names):
                    return False
                # something arrived while the row went: what is left keeps a row
                with contextlib.suppress(ConcurrentUpdate):
                    await self._storage.threads.insert(
                        replace(known.row, seal=None, seal_sha256=None)
                    )
                return True
        await self._unseal(thread_key, names)
        return True

    async def _row(self, seen: LatestRow, planned: Collection[str]) -> str:
        for _ in range(ATTEMPTS):
            current = await self._storage.messages.current(seen.thread_key, seen.message_key)
            if current is None:
                return "gone"
            if current.stamp != seen.stamp:  # moved on since it was read: read it again
                fresh = await self._storage.messages.get(seen.thread_key, seen.message_key)
                if fresh is None:
                    return "gone"
                seen = fresh
                continue
            if seen.blob_name not in planned:
                return "kept"
            try:
                await self._storage.messages.delete(
                    seen.thread_key, seen.message_key, etag=current.etag
                )
            except ConcurrentUpdate:
                continue
            return "deleted"
        raise StorageUnavailable(f"row {seen.thread_key}/{seen.message_key} kept changing")

    async def _left(self, thread_key: str, thread_id: str, names: Collection[str]) -> bool:
        """True when a message row or a blob of the thread that was not planned exists."""
        async for _ in self._storage.messages.scan(thread_key):
            return True
        for prefix in folders(thread_key):
            async for name in self._storage.blobs.names(prefix):
                if name not in names and of_thread(
                    name, thread_id=thread_id, thread_key=thread_key
                ):
                    return True
        return False

    async def _unseal(self, thread_key: str, names: Collection[str]) -> None:
        """The kept thread row no longer names a seal the disposal deleted."""
        for _ in range(ATTEMPTS):
            known = await self._storage.threads.get(thread_key)
            if known is None or known.row.seal is None or known.row.seal not in names:
                return
            row = replace(known.row, seal=None, seal_sha256=None)
            try:
                await self._storage.threads.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue
            return
        raise StorageUnavailable(f"thread row {thread_key} kept changing")
