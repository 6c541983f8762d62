"""What each daily timer does: say why its job is off, or enqueue the run's batches.

Sealing sweeps every thread on Sundays (the weekly safety net) and otherwise visits the
threads changed since its last run; disposal visits the threads whose retention day has
come; archive-inactive the threads that went quiet `ARCHIVE_INACTIVE_DAYS` ago; the
weekly verification every thread.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from archiver.core.errors import StorageUnavailable
from archiver.core.jobs import Kind
from archiver.core.settings import Settings
from archiver.jobs.runs import Runs
from archiver.storage.jobports import JobQueue

SWEEP_WEEKDAY = 6  # Sunday: sealing visits every thread


def off(kind: Kind, settings: Settings) -> str | None:
    """Why a run of `kind` does nothing with these settings, or None when it is on."""
    if kind is Kind.SEAL and settings.seal_key is None:
        return "Sealing is off (ARCHIVE_SEAL_KEY unset)"
    if kind is Kind.VERIFY and settings.seal_key is None:
        return "Verifying the seals is off (ARCHIVE_SEAL_KEY unset: no key to prove with)"
    if kind is Kind.DISPOSE and settings.retention_days == 0:
        return "Disposal is off (ARCHIVE_RETENTION_DAYS is 0: threads are kept forever)"
    if kind is Kind.INDEX and settings.search.backend == "off":
        return "Indexing for search is off (ARCHIVE_SEARCH=off)"
    acs = settings.acs
    if kind is Kind.TRANSCRIBE and (
        acs is None or acs.archiver_user_id is None or settings.inactive_days == 0
    ):
        return (
            "Archiving inactive threads from ACS is off "
            "(ACS_ENDPOINT or ACS_ARCHIVER_USER_ID unset, or ARCHIVE_INACTIVE_DAYS=0)"
        )
    return None


def age_of(kind: Kind, settings: Settings) -> timedelta | None:
    """How long a thread has been quiet when a run of `kind` is due to visit it."""
    if kind is Kind.DISPOSE:
        return timedelta(days=settings.retention_days)
    if kind is Kind.TRANSCRIBE:
        return timedelta(days=settings.inactive_days)
    return None


async def start(
    kind: Kind,
    runs: Runs,
    queue: JobQueue,
    settings: Settings,
    log: logging.Logger,
    *,
    today: datetime,
    sweep: bool = False,
) -> int:
    """Enqueue a run of `kind` (unless it is off); how many jobs were sent."""
    if (why := off(kind, settings)) is not None:
        log.info(why)
        return 0
    sweep = sweep or kind is Kind.VERIFY or (kind is Kind.SEAL and today.weekday() == SWEEP_WEEKDAY)
    visit = await runs.visit(kind, sweep=sweep, age=age_of(kind, settings))
    jobs = await runs.enqueue(kind, visit, queue)
    log.info(
        "Enqueued %d %s jobs on %s for %d threads (%s)",
        len(jobs),
        kind,
        queue.name,
        len(visit.thread_ids),
        "every thread" if visit.swept else "the changed or due ones",
    )
    return len(jobs)


async def start_timed(
    kind: Kind, runs: Runs, queue: JobQueue, settings: Settings, log: logging.Logger
) -> None:
    """`start` as a timer does it, today: the queue prepared first (the Bicep creates it;
    locally the first run does); storage unavailable is logged, and the next run starts
    from the same cursor."""
    try:
        await queue.prepare()
        await start(kind, runs, queue, settings, log, today=datetime.now(UTC))
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; the next run starts from the same cursor: %s", exc)
