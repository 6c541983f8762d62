"""One job of the queue done: a batch of threads sealed, disposed of or transcribed, or
the checkpoint written (archiver.core.jobs says what a job is).

A job that cannot be done now (storage or ACS unavailable) raises, so the queue delivers
it again, and after five failures the host moves it to the poison queue, where
`report_poisoned_job` logs it ("Job poisoned:", alerted) and records it. A message that
is no job raises InvalidJob and goes the same way. What a job decides per thread is
logged as the timers logged it, so the alerts read the same lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archiver.core.errors import AlreadyStored, StorageUnavailable
from archiver.core.governance.principals import TIMER
from archiver.core.jobs import Job, Kind
from archiver.core.jsontext import dumps
from archiver.core.keys import encode_key
from archiver.jobs.selection import DISPOSE, Selection
from archiver.sealing.rounds import checkpoint_step, report_sealing
from archiver.sealing.sealcheck import inspect_threads
from archiver.search.indexing import Indexing
from archiver.search.pushing import push
from archiver.storage.ports import Storage

if TYPE_CHECKING:
    from archiver.acs.reconciliation import Reconciler
    from archiver.governance.disposal import Disposal
    from archiver.sealing.checkpointer import Checkpointer
    from archiver.sealing.sealer import Sealer
    from archiver.search.indexes import Indexes

SEALING_CONCURRENCY = 8  # threads of a batch sealed at once, as the full sweep does
REPORTS_PREFIX = "reports/verify/"  # + run/batch.json: what a verify job found


@dataclass(frozen=True, kw_only=True)
class Crew:
    """What the jobs are done with, each built on first use (a sealer needs the seal key,
    a reconciler ACS)."""

    sealer: Callable[[], Sealer]
    checkpointer: Callable[[], Checkpointer]
    disposal: Callable[[], Disposal]
    reconciler: Callable[[], Reconciler]
    hold_flags: Callable[[], Awaitable[None]]
    selection: Selection
    inactive_days: int
    storage: Storage
    container: str = "chat-archive"  # ARCHIVE_CONTAINER: whose BlobCreated events are pushed
    index: Callable[[], Indexes | None] = lambda: None  # None: ARCHIVE_SEARCH=off


class Work:
    """Does jobs; the counts of what each did."""

    def __init__(self, crew: Crew, log: logging.Logger) -> None:
        self._crew = crew
        self._log = log

    async def run(self, job: Job) -> dict[str, int]:
        """Do `job`; raise what makes the queue deliver it again."""
        if job.job is Kind.SEAL:
            return await self._seal(job)
        if job.job is Kind.DISPOSE:
            return await self._dispose(job)
        if job.job is Kind.TRANSCRIBE:
            return await self._transcribe(job)
        if job.job is Kind.VERIFY:
            return await self._verify(job)
        if job.job is Kind.INDEX:
            return await self._index(job)
        await self._crew.hold_flags()
        await checkpoint_step(self._crew.checkpointer(), self._log)
        return {"checkpoints": 1}

    async def _seal(self, job: Job) -> dict[str, int]:
        sealer = self._crew.sealer()
        limit = asyncio.Semaphore(SEALING_CONCURRENCY)

        async def one(thread_id: str) -> str:
            async with limit:
                result = await sealer.seal(thread_id)
            report_sealing(result, self._log)
            return result.outcome

        outcomes = await asyncio.gather(*(one(t) for t in job.threads))
        if (busy := outcomes.count("busy")) > 0:
            # Sealed elsewhere meanwhile (this batch delivered twice): again, later.
            raise StorageUnavailable(f"{busy} threads of {job.run} were being sealed elsewhere")
        return _counts(outcomes)

    async def _dispose(self, job: Job) -> dict[str, int]:
        outcomes: dict[str, str] = {}
        async for result in self._crew.disposal().run(TIMER, threads=job.threads):
            outcomes[result.thread_id] = result.outcome
            if result.outcome == "kept":
                self._log.warning("Not disposed of: %s: %s", result.thread_id, result.why)
            if result.outcome == "disposed" and (indexes := self._crew.index()) is not None:
                await indexes.forget_threads([encode_key(result.thread_id, field="threadId")])
        for thread_id in job.threads:
            # Held or failed: visited by every disposal run until it settles.
            again = outcomes.get(thread_id) in ("held", "kept")
            await self._crew.selection.again(DISPOSE, thread_id, again=again)
        return _counts(outcomes.values())

    async def _verify(self, job: Job) -> dict[str, int]:
        """Check the batch's threads with the seal key's own keys (never the archive's)
        into `reports/verify/{run}/{batch}.json`; an alteration is logged as the warning
        the `altered` alert fires on."""
        storage = self._crew.storage
        keys = await self._crew.sealer().trusted_keys()
        report = await inspect_threads(storage, keys, job.threads)
        document = dumps(report.as_json()).encode()
        with contextlib.suppress(AlreadyStored):  # delivered again: the report stands
            await storage.blobs.create(f"{REPORTS_PREFIX}{job.run}/{job.batch:05d}.json", document)
        for item in report.findings:
            finding = item.finding
            self._log.warning(
                "Verified, altered since its last seal: %s: %s %s (%s)",
                item.thread_id,
                finding.what,
                finding.subject,
                finding.detail,
            )
        return {"verified": report.threads, "altered": len(report.findings)}

    async def _index(self, job: Job) -> dict[str, int]:
        indexes = self._crew.index()
        if indexes is None:
            self._log.info("Indexing for search is off (ARCHIVE_SEARCH=off): %s", job.run)
            return {"off": len(job.threads)}
        keys = [encode_key(thread_id, field="threadId") for thread_id in job.threads]
        run = await Indexing(self._crew.storage, await indexes.ready()).threads(keys)
        await indexes.written(self._crew.storage, keys)
        return {"indexed": run.added, "unreadable": len(run.unreadable)}

    async def index_pushed(self, text: str) -> None:
        """One message of the search queue (`index_versions`): the versions its BlobCreated
        events announce, indexed; raise what makes the queue deliver it again."""
        indexes = self._crew.index()
        if indexes is None:
            self._log.info("Indexing for search is off (ARCHIVE_SEARCH=off): a push ignored")
            return
        storage = self._crew.storage
        pushed = await push(Indexing(storage, await indexes.ready()), text, self._crew.container)
        await indexes.written(storage, pushed.run.touched)
        self._log.info("Indexed %d versions (%d events ignored)", pushed.run.added, pushed.ignored)

    async def _transcribe(self, job: Job) -> dict[str, int]:
        outcomes = []
        reconciler = self._crew.reconciler()
        async for report in reconciler.inactive(self._crew.inactive_days, threads=job.threads):
            if report.refused:
                self._log.warning("Not archived from ACS: %s: %s", report.thread_id, report.refused)
                outcomes.append("refused")
            else:
                self._log.info(
                    "Archived %s from %s: %d versions repaired, transcripts %s",
                    report.thread_id,
                    report.source,
                    len(report.repaired),
                    ", ".join(report.transcripts),
                )
                outcomes.append("archived")
            if report.summary is not None:  # "summary written", "summary failed", ...
                outcomes.append(f"summary {report.summary.outcome}")
        return _counts(outcomes)


def _counts(outcomes: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
