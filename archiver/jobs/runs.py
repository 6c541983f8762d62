"""A run of a daily job: the threads it visits (archiver.jobs.selection) cut into jobs,
then either enqueued (the timers, in Azure: `run_job` does each batch, on as many
instances as the queue's length asks for) or done here, one after another (the
command line). Either way the cursor moves once every job is enqueued or done.

A sealing run ends with a checkpoint job: enqueued with a delay
(ARCHIVE_JOBS_CHECKPOINT_DELAY, 30 minutes), so the batches are sealed before it is
written; one that is not by then is in the next day's checkpoint, which is no less true,
only later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from archiver.core.jobs import Job, Kind, batches
from archiver.jobs.selection import DISPOSE, INDEX, SEAL, TRANSCRIBE, VERIFY, Selection, Visit
from archiver.jobs.work import Work
from archiver.storage.jobports import JobQueue

_CURSOR = {
    Kind.SEAL: SEAL,
    Kind.DISPOSE: DISPOSE,
    Kind.TRANSCRIBE: TRANSCRIBE,
    Kind.VERIFY: VERIFY,
    Kind.INDEX: INDEX,
}


class Runs:
    """Plans runs of the daily jobs, and enqueues or does them."""

    def __init__(
        self,
        selection: Selection,
        *,
        batch: int,
        checkpoint_delay: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._selection = selection
        self._batch = batch
        self._delay = checkpoint_delay
        self._clock = clock

    async def visit(
        self, kind: Kind, *, sweep: bool = False, age: timedelta | None = None
    ) -> Visit:
        """The threads a run of `kind` visits: every thread (`sweep`), the changed ones
        (sealing), or the due ones (`age`: retention, or inactive days)."""
        job = _CURSOR[kind]
        if sweep:
            return await self._selection.everything(job)
        if kind in (Kind.SEAL, Kind.INDEX):
            return await self._selection.changed(job)
        if age is None:
            raise ValueError(f"a {kind} run needs the age at which a thread is due")
        return await self._selection.due(job, age)

    async def settle(self, visit: Visit) -> None:
        """Move the cursor past a run done some other way (`archiver seal --changed`)."""
        await self._selection.settle(visit)

    def jobs(self, kind: Kind, visit: Visit) -> list[Job]:
        """The run's jobs: its threads in batches, then the checkpoint after sealing."""
        run = f"{kind}-{self._clock().astimezone(UTC):%Y%m%dT%H%M%SZ}"
        found = list(batches(kind, run, visit.thread_ids, self._batch))
        if kind is Kind.SEAL:
            found.append(Job(job=Kind.CHECKPOINT, run=run))
        return found

    async def enqueue(self, kind: Kind, visit: Visit, queue: JobQueue) -> list[Job]:
        """Send the run's jobs to `queue` (the checkpoint delayed), then move the cursor."""
        found = self.jobs(kind, visit)
        for job in found:
            delay = self._delay if job.job is Kind.CHECKPOINT else timedelta(0)
            await queue.send(job.text(), delay_seconds=int(delay.total_seconds()))
        await self._selection.settle(visit)
        return found

    async def do(self, kind: Kind, visit: Visit, work: Work) -> dict[str, int]:
        """Do the run's jobs here, in order, then move the cursor; the summed counts."""
        counts: dict[str, int] = {}
        for job in self.jobs(kind, visit):
            for outcome, n in (await work.run(job)).items():
                counts[outcome] = counts.get(outcome, 0) + n
        await self._selection.settle(visit)
        return counts
