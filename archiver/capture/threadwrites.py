"""Keeping the `ChatThreads` rows: each request's facts joined in, by ETag-checked writes.

A known row is replaced with its remembered ETag and a new thread's row is inserted,
without reading first; a stale ETag or an existing row costs one read, then the join
(archiver.core.threads) is decided again on what storage holds. Rows never lose a fact.
"""

from __future__ import annotations

import asyncio

from archiver.capture.ledger import Ledger
from archiver.capture.turns import Turns
from archiver.core.errors import ConcurrentUpdate, StorageError, StorageUnavailable
from archiver.core.threads import Patch, ThreadRow, advance
from archiver.storage.ports import Known, Storage

# Enough for a hot thread with many concurrent writers; each lost race means another
# writer moved the row on, so running out means contention, not a lost write.
ROW_ATTEMPTS = 12


class ThreadRows:
    """Joins patches into thread rows, one thread at a time per process."""

    def __init__(
        self, storage: Storage, *, ledger: Ledger, limit: asyncio.Semaphore, turns: Turns
    ) -> None:
        self._storage = storage
        self._ledger = ledger
        self._limit = limit
        self._turns = turns

    async def join(self, patch: Patch) -> None:
        """Make the thread's row say everything `patch` says; raise StorageUnavailable."""
        key = patch.row.thread_key
        async with self._turns.of(("", "thread", key)):
            known = self._ledger.thread(key)
            if known is not None or patch.creates:
                row = advance(None if known is None else known.row, patch)
                if row is None:
                    return
                if await self._written(row, known):
                    return
            for _ in range(ROW_ATTEMPTS):
                async with self._limit:
                    found = await self._storage.threads.get(key)
                if found is not None:
                    self._ledger.note_thread(found)
                row = advance(None if found is None else found.row, patch)
                if row is None or await self._written(row, found):
                    return
        raise StorageUnavailable(
            f"thread row {key} kept changing; gave up after {ROW_ATTEMPTS} attempts"
        )

    async def _written(self, row: ThreadRow, known: Known | None) -> bool:
        """Insert (nothing known) or conditionally replace a thread row; False if raced."""
        table = self._storage.threads
        try:
            async with self._limit:
                etag = await (
                    table.insert(row) if known is None else table.replace(row, etag=known.etag)
                )
        except ConcurrentUpdate:
            self._ledger.forget_thread(row.thread_key)
            return False
        except StorageError:
            self._ledger.forget_thread(row.thread_key)
            raise
        self._ledger.note_thread(Known(row, etag))
        return True
