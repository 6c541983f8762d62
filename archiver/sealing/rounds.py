"""The daily sealing round: the threads sealed, then the checkpoint of the round.

What is refused is logged as a warning that starts "Not sealed, altered since its last
seal" or "Not checkpointed, altered since the last checkpoint": the `altered` alert
(infra/app/alerts.bicep) fires on either. In Azure the threads are sealed in batches
from the jobs queue and the checkpoint is a job of its own (archiver.jobs); the command
line runs both steps here, in one process.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Awaitable, Callable

from archiver.core.errors import StorageUnavailable
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.sealer import Sealer, Sealing


async def sealing_round(
    sealer: Sealer,
    checkpointer: Checkpointer,
    log: logging.Logger,
    *,
    between: Callable[[], Awaitable[None]] | None = None,
    results: AsyncIterable[Sealing] | None = None,
) -> dict[str, int]:
    """Seal every thread (or take `results`, the sealing of some), run `between` (if
    given), write the checkpoint; the counts of each outcome. Storage being unavailable
    ends the step it stopped, never the round."""
    counts = {"sealed": 0, "unchanged": 0, "refused": 0, "busy": 0}
    try:
        async for result in sealer.seal_all() if results is None else results:
            counts[result.outcome] += 1
            report_sealing(result, log)
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; the next run goes on: %s", exc)
    log.info(
        "Sealing done: %(sealed)d sealed, %(unchanged)d unchanged, %(refused)d refused, "
        "%(busy)d sealed elsewhere meanwhile",
        counts,
    )
    if between is not None:
        await between()
    await checkpoint_step(checkpointer, log)
    return counts


def report_sealing(result: Sealing, log: logging.Logger) -> None:
    """Log a refusal as the warning the `altered` alert fires on."""
    if result.refused:
        why = "; ".join(result.refused)
        log.warning("Not sealed, altered since its last seal: %s: %s", result.thread_id, why)


async def checkpoint_step(checkpointer: Checkpointer, log: logging.Logger) -> None:
    """Write the checkpoint and log what it says, or why there is none."""
    try:
        written = await checkpointer.write()
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; no checkpoint this run: %s", exc)
        return
    for problem in written.refused:
        log.warning("Not checkpointed, altered since the last checkpoint: %s", problem)
    if written.checkpoint is not None:
        note = written.checkpoint.note
        log.info(
            "Checkpoint %d written: %d threads, %d audit records",
            note.number,
            note.threads.size,
            note.audit.size,
        )
