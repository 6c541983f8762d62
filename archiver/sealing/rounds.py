"""The daily sealing round: every thread sealed, then the checkpoint of the round.

What is refused is logged as a warning that starts "Not sealed, altered since its last
seal" or "Not checkpointed, altered since the last checkpoint": the `altered` alert
(infra/app/alerts.bicep) fires on either.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from archiver.core.errors import StorageUnavailable
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.sealer import Sealer


async def sealing_round(
    sealer: Sealer,
    checkpointer: Checkpointer,
    log: logging.Logger,
    *,
    between: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, int]:
    """Seal every thread, run `between` (if given), write the checkpoint; the counts of
    each outcome. Storage being unavailable ends the step it stopped, never the round."""
    counts = {"sealed": 0, "unchanged": 0, "refused": 0}
    try:
        async for result in sealer.seal_all():
            counts[result.outcome] += 1
            if result.refused:
                why = "; ".join(result.refused)
                log.warning(
                    "Not sealed, altered since its last seal: %s: %s", result.thread_id, why
                )
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; the next run goes on: %s", exc)
    log.info(
        "Sealing done: %(sealed)d sealed, %(unchanged)d unchanged, %(refused)d refused", counts
    )
    if between is not None:
        await between()
    try:
        written = await checkpointer.write()
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; no checkpoint this run: %s", exc)
        return counts
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
    return counts
