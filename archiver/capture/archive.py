"""The archive use case: store every version once, then advance each latest row.

For each message the version blobs are written first (create-only), then the row is
moved to the newest version, so a row never points at a missing blob. A redelivery
after a crash between the two writes finds the blob stored and repairs the row: the
row step runs whether the blob was new or a duplicate. Once every blob and message
row of a request is stored, what the request says about each thread is joined into
its `ChatThreads` row (archiver.core.threads), again whether the events were new or not.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.capture.ledger import Ledger
from archiver.capture.threadwrites import ThreadRows
from archiver.capture.turns import Turns
from archiver.core.errors import AlreadyStored, ConcurrentUpdate, StorageError, StorageUnavailable
from archiver.core.layout import (
    LatestRow,
    latest_row,
    message_blob_name,
    message_document,
    quarantine_document,
    thread_document,
)
from archiver.core.plan import MessageWrites, Write, plan
from archiver.core.records import Action, MessageVersion, Quarantined, Record, ThreadEvent
from archiver.core.threads import Patch, patches
from archiver.core.versions import supersedes
from archiver.storage.ports import Current, Storage

# Enough for a hot message with many concurrent writers; each lost race means another
# writer advanced the row, so running out means contention, not a lost write.
ROW_ATTEMPTS = 12


class Outcome(enum.StrEnum):
    """What happened to one event of a request."""

    ARCHIVED = "archived"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Report:
    """The outcome of each event of a request, in request order."""

    outcomes: tuple[Outcome, ...]

    def summary(self) -> dict[str, int]:
        """Counts by outcome, with the keys the webhook answers with."""
        counts = {outcome: self.outcomes.count(outcome) for outcome in Outcome}
        return {
            "received": len(self.outcomes),
            "archived": counts[Outcome.ARCHIVED],
            "duplicates": counts[Outcome.DUPLICATE],
            "quarantined": counts[Outcome.QUARANTINED],
            "ignored": counts[Outcome.IGNORED],
        }


class Archive:
    """Writes records to storage idempotently, whatever the order or repetition."""

    def __init__(
        self,
        storage: Storage,
        *,
        concurrency: int,
        timeout_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ledger: Ledger | None = None,
    ) -> None:
        self._storage = storage
        self._ledger = Ledger() if ledger is None else ledger
        self._turns = Turns()
        self._limit = asyncio.Semaphore(concurrency)
        self._timeout = timeout_seconds
        self._clock = clock
        self._prepared = False
        self._preparing = asyncio.Lock()
        self._threads = ThreadRows(
            storage, ledger=self._ledger, limit=self._limit, turns=self._turns
        )

    async def store(self, records: Sequence[Record]) -> Report:
        """Store every record durably, or raise StorageUnavailable (nothing is lost)."""
        work = plan(records)
        outcomes = [Outcome.IGNORED] * len(records)
        if work.messages or work.others:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._prepare()
                    results = await asyncio.gather(
                        *(self._message(m) for m in work.messages),
                        *(self._other(w) for w in work.others),
                        return_exceptions=True,
                    )
                    _raise_first_failure(results)
                    joined = await asyncio.gather(
                        *(self._threads.join(p) for p in patches(records)),
                        return_exceptions=True,
                    )
                    _raise_first_failure(joined)
            except TimeoutError as exc:
                raise StorageUnavailable("storage did not finish within the request time") from exc
            for result in results:
                assert not isinstance(result, BaseException)
                for write, created in result:
                    _record_outcomes(outcomes, write, created=created)
        return Report(tuple(outcomes))

    async def _prepare(self) -> None:
        # Once per process: containers and tables are created before the first write.
        if self._prepared:
            return
        async with self._preparing:
            if not self._prepared:
                await self._storage.prepare()
                self._prepared = True

    async def _message(self, message: MessageWrites) -> list[tuple[Write, bool]]:
        # One message at a time in this process: per-user copies and neighbouring
        # versions travel in concurrent batches, and whoever comes second finds the
        # versions archived and the row's ETag known, so it needs few or no requests.
        newest = message.newest
        async with self._turns.of((newest.thread_key, newest.message_key)):
            todo = [w for w in message.writes if not self._ledger.archived(w.name)]
            if not todo:
                return [(w, False) for w in message.writes]
            results = await asyncio.gather(*(self._create(w) for w in todo), return_exceptions=True)
            _raise_first_failure(results)
            created = {w.name: bool(r) for w, r in zip(todo, results, strict=True)}
            if message_blob_name(newest) in created:  # else the row is already past these
                await self._advance(newest, fresh=created[message_blob_name(newest)])
            self._ledger.note_archived(created)
        return [(w, created.get(w.name, False)) for w in message.writes]

    async def _other(self, write: Write) -> list[tuple[Write, bool]]:
        async with self._turns.of((write.name,)):
            if self._ledger.archived(write.name):
                return [(write, False)]
            created = await self._create(write)
            self._ledger.note_archived([write.name])
        return [(write, created)]

    async def join(self, patch: Patch) -> None:
        """Join facts from elsewhere (the ACS API) into a thread's row, by the same rules."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._prepare()
                await self._threads.join(patch)
        except TimeoutError as exc:
            raise StorageUnavailable("storage did not finish within the request time") from exc

    async def _create(self, write: Write) -> bool:
        content = _document(write.record, archived_at=self._clock())
        try:
            async with self._limit:
                await self._storage.blobs.create(write.name, content)
        except AlreadyStored:
            return False
        return True

    async def _advance(self, version: MessageVersion, *, fresh: bool) -> None:
        """Make the row hold `version` unless it already holds a newer one."""
        row = latest_row(version)
        known = self._ledger.row(row.thread_key, row.message_key)
        if known is not None and not supersedes(row.stamp, known.stamp):
            return  # the row was seen at this version or newer; rows never go back
        if (known is not None or (fresh and version.action is Action.RECEIVED)) and (
            await self._write_blind(row, known)
        ):
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

    async def _advance_once(self, row: LatestRow) -> None:
        """Read the row, decide, write it conditionally; ConcurrentUpdate if raced."""
        current = await self._storage.messages.current(row.thread_key, row.message_key)
        if current is None or supersedes(row.stamp, current.stamp):
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


def _document(
    record: MessageVersion | ThreadEvent | Quarantined, *, archived_at: datetime
) -> bytes:
    if isinstance(record, MessageVersion):
        return message_document(record, archived_at=archived_at)
    if isinstance(record, ThreadEvent):
        return thread_document(record, archived_at=archived_at)
    return quarantine_document(record, archived_at=archived_at)


def _record_outcomes(outcomes: list[Outcome], write: Write, *, created: bool) -> None:
    if isinstance(write.record, Quarantined):
        for index in write.events:
            outcomes[index] = Outcome.QUARANTINED
        return
    first, *repeats = write.events
    outcomes[first] = Outcome.ARCHIVED if created else Outcome.DUPLICATE
    for index in repeats:
        outcomes[index] = Outcome.DUPLICATE


def _raise_first_failure(results: Sequence[object]) -> None:
    """Raise after every job has finished: a bug as itself, a storage failure as 503."""
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, StorageError):
            raise failure
    if failures:
        raise StorageUnavailable(str(failures[0])) from failures[0]
