"""The archive use case: store every version once, then advance each latest row.

For each message the version blobs are written first (create-only), then the row is
moved to the newest version, so a row never points at a missing blob. A redelivery
after a crash between the two writes finds the blob stored and repairs the row: the
row step runs whether the blob was new or a duplicate. The rows of a request are
written together once its blobs are stored, one table transaction per thread
(archiver.capture.latestrows). Once every blob and message row of a request is stored,
what the request says about each thread is joined into its `ChatThreads` row
(archiver.core.threads), again whether the events were new or not. Beside the blobs,
the first request of the hour to write to a thread records that hour's activity
(archiver.core.activity), so the daily jobs find the threads that changed by key.

Within a process, a message is worked on by one request at a time: a request that finds
another one writing a message's row (its claim) leaves that message until the other is
done, and then usually finds nothing left to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from archiver.capture.activity import Activity
from archiver.capture.latestrows import LatestRows
from archiver.capture.ledger import Ledger
from archiver.capture.report import Outcome, Report, record_outcomes
from archiver.capture.threadwrites import ThreadRows
from archiver.capture.turns import Turns
from archiver.core.activity import hour_of
from archiver.core.errors import AlreadyStored, StorageError, StorageUnavailable
from archiver.core.layout import (
    LatestRow,
    latest_row,
    message_blob_name,
    message_document,
    quarantine_document,
    thread_document,
)
from archiver.core.plan import MessageWrites, Plan, Write, plan
from archiver.core.records import Action, MessageVersion, Quarantined, Record, ThreadEvent
from archiver.core.threads import Patch, patches
from archiver.core.transactions import RowWrite
from archiver.core.versions import supersedes
from archiver.storage.ports import Storage


@dataclass
class _Staged:
    """A message whose version blobs are stored, and what its row needs next."""

    message: MessageWrites
    created: dict[str, bool]  # blob names written by this request: new or already there
    deferred: bool = False  # another request was writing its row: in the next round
    write: RowWrite | None = None  # the row, written without reading first
    read_first: LatestRow | None = None  # the row, when it must be read before writing

    @property
    def key(self) -> tuple[str, str]:
        """The message's thread key and message key."""
        return _key_of(self.message)

    def results(self) -> list[tuple[Write, bool]]:
        """Each write of the message, and whether this request created its blob."""
        return [(w, self.created.get(w.name, False)) for w in self.message.writes]


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
        # Messages whose rows a request of this process is writing, so that another
        # request waits for it rather than racing it to the same rows.
        self._claims: dict[tuple[str, str], asyncio.Event] = {}
        self._rows = LatestRows(storage, ledger=self._ledger, limit=self._limit)
        self._threads = ThreadRows(
            storage, ledger=self._ledger, limit=self._limit, turns=self._turns
        )
        self._activity = Activity(storage, ledger=self._ledger, limit=self._limit)

    async def store(self, records: Sequence[Record]) -> Report:
        """Store every record durably, or raise StorageUnavailable (nothing is lost)."""
        work = plan(records)
        outcomes = [Outcome.IGNORED] * len(records)
        if work.messages or work.others:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._prepare()
                    active, *results = await asyncio.gather(
                        self._activity.record(hour_of(self._clock()), _threads_of(work)),
                        self._messages(work.messages),
                        *(self._other(w) for w in work.others),
                        return_exceptions=True,
                    )
                    _raise_first_failure([active, *results])
                    joined = await asyncio.gather(
                        *(self._threads.join(p) for p in patches(records)),
                        return_exceptions=True,
                    )
                    _raise_first_failure(joined)
            except TimeoutError as exc:
                raise StorageUnavailable("storage did not finish within the request time") from exc
            for result in results:
                assert isinstance(result, list)
                for write, created in result:
                    record_outcomes(outcomes, write, created=created)
        return Report(tuple(outcomes))

    async def _prepare(self) -> None:
        # Once per process: containers and tables are created before the first write.
        if self._prepared:
            return
        async with self._preparing:
            if not self._prepared:
                await self._storage.prepare()
                self._prepared = True

    async def _messages(self, messages: Sequence[MessageWrites]) -> list[tuple[Write, bool]]:
        """Every message's version blobs, then every row at once: one transaction per
        thread (archiver.core.transactions), the per-row path for what that cannot do.
        Messages another request of this process is writing wait for it, then go in
        this request's round, where the ledger usually says nothing is left to do."""
        done: list[tuple[Write, bool]] = []
        failures: list[object] = []
        while messages:
            # Wait for the messages other requests are writing first, so that this
            # request's rows of a thread still go in one transaction, not one per round.
            busy = {c for m in messages if (c := self._claims.get(_key_of(m))) is not None}
            await asyncio.gather(*(claim.wait() for claim in busy))
            staged, failed = await self._round(messages)
            failures += [*staged, *failed.values()]
            ready = [s for s in staged if isinstance(s, _Staged)]
            for stage in ready:
                if not stage.deferred and stage.key not in failed:
                    self._ledger.note_archived(stage.created)
                    done += stage.results()
            messages = [s.message for s in ready if s.deferred]
        _raise_first_failure(failures)
        return done

    async def _round(
        self, messages: Sequence[MessageWrites]
    ) -> tuple[list[_Staged | BaseException], dict[tuple[str, str], BaseException]]:
        """Stage each message, then write the rows; what was staged, and which rows failed."""
        claims: list[tuple[tuple[str, str], asyncio.Event]] = []
        try:
            staged = await asyncio.gather(
                *(self._stage(m, claims) for m in messages), return_exceptions=True
            )
            ready = [s for s in staged if isinstance(s, _Staged)]
            failed = await self._rows.write(
                (s.write for s in ready if s.write is not None),
                [s.read_first for s in ready if s.read_first is not None],
            )
        finally:
            for key, claim in claims:
                del self._claims[key]
                claim.set()
        return staged, failed

    async def _stage(
        self, message: MessageWrites, claims: list[tuple[tuple[str, str], asyncio.Event]]
    ) -> _Staged:
        """Store the versions the ledger does not know of, and decide the row write."""
        # One message at a time in this process: per-user copies and neighbouring
        # versions travel in concurrent batches, and whoever comes second finds the
        # versions archived and the row's ETag known, so it needs few or no requests.
        newest = message.newest
        key = _key_of(message)
        async with self._turns.of(key):
            todo = [w for w in message.writes if not self._ledger.archived(w.name)]
            if not todo:
                return _Staged(message, created={})
            if key in self._claims:  # another request is writing its row: next round
                return _Staged(message, created={}, deferred=True)
            digests = await self._versions(todo)
            self._claims[key] = claim = asyncio.Event()
            claims.append((key, claim))
        created = {name: digest is not None for name, digest in digests.items()}
        stage = _Staged(message, created=created)
        name = message_blob_name(newest)
        if name not in created:
            return stage  # the row is already past these versions
        row = latest_row(newest)
        known = self._ledger.row(*key)
        if known is not None and not supersedes(row.stamp, known.stamp):
            return stage  # the row was seen at this version or newer; rows never go back
        # The row records its blob's hash: the one just written, or, for a blob an
        # earlier delivery stored (its archivedAt differs), the one recorded with it,
        # looked up only once the row is sure to be written.
        row = replace(row, sha256=digests[name])
        if known is not None:
            stage.write = RowWrite(await self._rows.with_sha256(row), known.etag)
        elif _first_stored_here(message, created):
            # Almost always the message's first row.
            stage.write = RowWrite(await self._rows.with_sha256(row), None)
        else:
            stage.read_first = row
        return stage

    async def _other(self, write: Write) -> list[tuple[Write, bool]]:
        async with self._turns.of((write.name,)):
            if self._ledger.archived(write.name):
                return [(write, False)]
            created = await self._create(write) is not None
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

    async def _versions(self, writes: Sequence[Write]) -> dict[str, str | None]:
        """Create the version blobs of `writes` at once (in envelope mode sealed first,
        their keys stored); the SHA-256 of each new one (None: already stored)."""
        at = self._clock()
        versions = [(w.name, w.record, _document(w.record, archived_at=at)) for w in writes]
        contents = await self._storage.versions.sealed(versions)  # type: ignore[arg-type]
        results = await asyncio.gather(
            *(self._create(w, c) for w, c in zip(writes, contents, strict=True)),
            return_exceptions=True,
        )
        _raise_first_failure(results)
        return {w.name: r for w, r in zip(writes, results, strict=True)}  # type: ignore[misc]

    async def _create(self, write: Write, content: bytes | None = None) -> str | None:
        """The SHA-256 of the blob written for `write`; None when it was already stored."""
        if content is None:
            content = _document(write.record, archived_at=self._clock())
        try:
            async with self._limit:
                return await self._storage.blobs.create(write.name, content)
        except AlreadyStored:
            return None


def _document(
    record: MessageVersion | ThreadEvent | Quarantined, *, archived_at: datetime
) -> bytes:
    if isinstance(record, MessageVersion):
        return message_document(record, archived_at=archived_at)
    if isinstance(record, ThreadEvent):
        return thread_document(record, archived_at=archived_at)
    return quarantine_document(record, archived_at=archived_at)


def _threads_of(work: Plan) -> set[str]:
    """The keys of the threads whose blobs `work` writes (quarantine is no thread's)."""
    keys = {m.newest.thread_key for m in work.messages}
    return keys | {
        w.record.thread_key for w in work.others if not isinstance(w.record, Quarantined)
    }


def _key_of(message: MessageWrites) -> tuple[str, str]:
    return (message.newest.thread_key, message.newest.message_key)


def _first_stored_here(message: MessageWrites, created: dict[str, bool]) -> bool:
    """Whether this request stored the message's received version: then no row of it is
    likely to exist (another process would have had to archive a later version first)."""
    return any(
        created.get(w.name, False)
        and isinstance(w.record, MessageVersion)
        and w.record.action is Action.RECEIVED
        for w in message.writes
    )


def _raise_first_failure(results: Sequence[object]) -> None:
    """Raise after every job has finished: a bug as itself, a storage failure as 503."""
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, StorageError):
            raise failure
    if failures:
        raise StorageUnavailable(str(failures[0])) from failures[0]
