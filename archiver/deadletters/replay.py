"""Replaying Event Grid's dead letters into the archive, safely, as often as needed.

Each dead-letter blob's events go through the same Intake as a delivery (topic
allow-list, quarantine, create-only blobs, ordered rows), a batch at a time; once
every event of a blob is stored, the blob moves under `replayed/` in the same
container. A run stopped at any point is finished by the next: archiving is idempotent,
and a move repeats safely. A blob with an event from a topic the archive refuses, or
that holds no events, is left where it is and reported.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archiver.capture.intake import Intake
from archiver.core.blobevents import created_blob
from archiver.core.envelopes import RawEvent
from archiver.core.errors import InvalidBody, NotFound, TopicNotAllowed, UnknownContainer
from archiver.core.governance.principals import APP
from archiver.core.progress import Progress
from archiver.deadletters.letters import REPLAYED_PREFIX, letters, place
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import DeadLetterBox, Storage

BATCH_EVENTS = 100  # events stored per Intake call, within the request time budget


@dataclass
class Replayed:
    """What a replay did, by dead-letter reason and by what became of the events."""

    blobs: int = 0
    events: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # deadLetterReason
    outcomes: Counter[str] = field(default_factory=Counter)  # lastDeliveryOutcome
    results: Counter[str] = field(default_factory=Counter)  # archived, duplicate, ...
    moved: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # blob name -> why it stays
    skipped: int = 0  # names outside Event Grid's layout, or before --since


async def replay(
    storage: Storage,
    intake: Intake,
    container: str,
    *,
    since: datetime | None = None,
    progress: Callable[[int], Progress] | None = None,
) -> Replayed:
    """Replay every dead-letter blob of `container` written at or after `since`'s hour."""
    box = storage.dead_letters(container)
    if not await box.exists():
        raise UnknownContainer(f"the storage account has no container {container!r}")
    report = Replayed()
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without an offset is UTC, as everywhere
    floor = since.replace(minute=0, second=0, microsecond=0) if since else None
    names = [name async for name in box.names() if not name.startswith(REPLAYED_PREFIX)]
    bar = progress(len(names)) if progress is not None else None
    for name in names:
        if bar is not None:
            bar.advance(1)
        where = place(name)
        if where is None or (floor is not None and where.hour < floor):
            report.skipped += 1
            continue
        await _replay_blob(box, intake, name, report)
    if bar is not None:
        bar.finish()
    return report


async def replay_created(
    storage: Storage, intake: Intake, event: RawEvent, *, container: str
) -> Replayed:
    """Replay the one blob a `Microsoft.Storage.BlobCreated` event announces, if it is a
    dead letter in `container` (the event of the move under replayed/ is ignored)."""
    report = Replayed()
    name = created_blob(event, container)
    if name is None or name.startswith(REPLAYED_PREFIX) or place(name) is None:
        report.skipped += 1
        return report
    box = storage.dead_letters(container)
    try:
        await _replay_blob(box, intake, name, report)
    except NotFound:
        report.skipped += 1  # replayed and moved already (a repeated event)
    return report


async def replay_recorded(
    storage: Storage,
    intake: Intake,
    trail: AuditTrail,
    event: RawEvent,
    *,
    container: str,
    log: logging.Logger,
) -> None:
    """`replay_created`, as the `replay_dead_letter` function does it: each blob moved is
    logged and recorded in the audit trail; each left where it is, logged with why."""
    report = await replay_created(storage, intake, event, container=container)
    for name in report.moved:
        log.info("Replayed the dead letter %s/%s: %s", container, name, dict(report.results))
        await trail.record(
            "deadletter.replay",
            APP,
            outcome="done",
            target={"file": f"{container}/{name}"},
            details={"results": dict(report.results)},
        )
    for name, why in report.left.items():
        log.warning("Left the dead letter %s/%s where it is: %s", container, name, why)


async def _replay_blob(box: DeadLetterBox, intake: Intake, name: str, report: Replayed) -> None:
    """Archive one dead-letter blob's events, then move it under replayed/."""
    try:
        found = letters(await box.read(name))
    except InvalidBody as exc:
        report.left[name] = f"not a dead-letter blob: {exc}"
        return
    try:
        for start in range(0, len(found), BATCH_EVENTS):
            batch = found[start : start + BATCH_EVENTS]
            stored = await intake.accept([letter.event for letter in batch])
            report.results.update(str(outcome) for outcome in stored.outcomes)
    except TopicNotAllowed as exc:
        report.left[name] = str(exc)
        return
    report.blobs += 1
    report.events += len(found)
    report.reasons.update(letter.reason for letter in found)
    report.outcomes.update(letter.outcome for letter in found)
    await box.move(name, REPLAYED_PREFIX + name)
    report.moved.append(name)
