"""Keeping the `ChatMessages` rows: each message's newest version, by ETag-checked writes.

A request's rows are written without reading first where the ledger says how: a new
received version's row is inserted, a known row replaced with its remembered ETag, and
all of one thread's go in one table transaction (archiver.core.transactions). A row
that lost a race (another process moved it on) is read and decided again, alone; rows
never go back to an older version (archiver.core.versions).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import replace

from archiver.capture.ledger import Ledger
from archiver.core.errors import ConcurrentUpdate, RowConflict, StorageError, StorageUnavailable
from archiver.core.layout import LatestRow
from archiver.core.transactions import RowWrite, transactions
from archiver.core.versions import supersedes
from archiver.storage.ports import Current, Storage

# Enough for a hot message with many concurrent writers; each lost race means another
# writer advanced the row, so running out means contention, not a lost write.
ROW_ATTEMPTS = 12
# A thread's transaction is tried again once without a row that lost a race; a second
# lost race sends each row its own way, so contention never costs more than that.
TRANSACTION_ATTEMPTS = 2


class LatestRows:
    """Moves latest rows to newer versions, a thread's at a time where it can."""

    def __init__(self, storage: Storage, *, ledger: Ledger, limit: asyncio.Semaphore) -> None:
        self._storage = storage
        self._ledger = ledger
        self._limit = limit

    async def write(
        self, writes: Iterable[RowWrite], reads: Sequence[LatestRow]
    ) -> dict[tuple[str, str], BaseException]:
        """Write `writes` without reading first, a transaction per thread, and `reads` each
        after reading its row; return what failed, by (thread key, message key)."""
        groups = transactions(writes)
        results = await asyncio.gather(
            *(self._transact(group) for group in groups),
            *(self.advance(row, blind=False) for row in reads),
            return_exceptions=True,
        )
        failed: dict[tuple[str, str], BaseException] = {}
        for group, result in zip(groups, results[: len(groups)], strict=True):
            if isinstance(result, BaseException):
                failed.update({_key(w.row): result for w in group})
            elif isinstance(result, dict):
                failed.update(result)
        for row, outcome in zip(reads, results[len(groups) :], strict=True):
            if isinstance(outcome, BaseException):
                failed[_key(row)] = outcome
        return failed

    async def _transact(self, group: Sequence[RowWrite]) -> dict[tuple[str, str], BaseException]:
        """One thread's rows in one request. A row that lost a race (another process moved
        it on) is read and decided alone, the rest tried once more together; after a second
        lost race, each row goes by itself."""
        pending, lost = list(group), []
        for _ in range(TRANSACTION_ATTEMPTS):
            if len(pending) < 2:
                break
            try:
                async with self._limit:
                    etags = await self._storage.messages.transact(pending)
            except RowConflict as conflict:
                loser = pending.pop(conflict.index)
                self._ledger.forget_row(*_key(loser.row))
                lost.append(loser)
                continue
            except StorageError:
                # A transaction that failed may still have landed: every ETag is doubtful.
                for write in pending:
                    self._ledger.forget_row(*_key(write.row))
                raise
            for write, etag in zip(pending, etags, strict=True):
                self._ledger.note_row(*_key(write.row), Current(write.row.stamp, etag))
            pending = []
        alone = [(w, False) for w in lost] + [(w, True) for w in pending]
        results = await asyncio.gather(
            *(self.advance(w.row, blind=blind) for w, blind in alone), return_exceptions=True
        )
        return {
            _key(w.row): r
            for (w, _), r in zip(alone, results, strict=True)
            if isinstance(r, BaseException)
        }

    async def advance(self, row: LatestRow, *, blind: bool) -> None:
        """Make the row hold `row` unless it already holds a newer version; `blind`: a
        new received version, whose row is tried as an insert before any read."""
        known = self._ledger.row(row.thread_key, row.message_key)
        if known is not None and not supersedes(row.stamp, known.stamp):
            return  # the row was seen at this version or newer; rows never go back
        if (known is not None or blind) and await self._write_blind(row, known):
            return
        for _ in range(ROW_ATTEMPTS):
            try:
                async with self._limit:
                    await self._advance_once(row)
            except ConcurrentUpdate:
                continue
            return
        raise StorageUnavailable(
            f"row {row.thread_key}/{row.message_key} kept changing; gave up after "
            f"{ROW_ATTEMPTS} attempts"
        )

    async def _write_blind(self, row: LatestRow, known: Current | None) -> bool:
        """Write without reading first; False if another writer got there first.

        With a known ETag the row is replaced conditionally; without one it is inserted,
        because a newly stored received version is almost always its message's first.
        """
        try:
            async with self._limit:
                await self._write(row, etag=None if known is None else known.etag)
        except ConcurrentUpdate:
            self._ledger.forget_row(row.thread_key, row.message_key)
            return False
        return True

    async def with_sha256(self, row: LatestRow) -> LatestRow:
        """`row` with the SHA-256 recorded with its blob, when it does not carry one (the
        blob was stored by an earlier delivery)."""
        if row.sha256 is not None:
            return row
        async with self._limit:
            return await self._recorded(row)

    async def _recorded(self, row: LatestRow) -> LatestRow:
        if row.sha256 is not None:
            return row
        return replace(row, sha256=await self._storage.blobs.recorded_sha256(row.blob_name))

    async def _advance_once(self, row: LatestRow) -> None:
        """Read the row, decide, write it conditionally; ConcurrentUpdate if raced."""
        current = await self._storage.messages.current(row.thread_key, row.message_key)
        if current is None or supersedes(row.stamp, current.stamp):
            row = await self._recorded(row)  # the caller holds a slot of the limit
            await self._write(row, etag=None if current is None else current.etag)
        else:
            self._ledger.note_row(row.thread_key, row.message_key, current)

    async def _write(self, row: LatestRow, *, etag: str | None) -> None:
        """Insert (no `etag`) or conditionally replace the row; remember its new ETag."""
        table = self._storage.messages
        try:
            written = await (table.insert(row) if etag is None else table.replace(row, etag=etag))
        except StorageError:
            # A write that failed may still have landed: the known ETag is now doubtful.
            self._ledger.forget_row(row.thread_key, row.message_key)
            raise
        self._ledger.note_row(row.thread_key, row.message_key, Current(row.stamp, written))


def _key(row: LatestRow) -> tuple[str, str]:
    return (row.thread_key, row.message_key)
