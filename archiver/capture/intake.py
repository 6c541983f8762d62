"""The one path every event takes in, whether it came by webhook or native trigger."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from archiver.capture.archive import Archive
from archiver.capture.report import Report
from archiver.core.envelopes import RawEvent
from archiver.core.errors import StorageUnavailable, TopicNotAllowed
from archiver.core.events import classify
from archiver.core.records import Quarantined, Record
from archiver.core.settings import Settings

log = logging.getLogger("archiver")
# What became of a whole request, beyond the archive's own outcomes for each event.
REJECTED = "rejected"  # 403: the topic is not on ARCHIVE_ALLOWED_TOPICS
FAILED = "failed"  # 503: storage failed; Event Grid will deliver it again


class Observer(Protocol):
    """Told what became of each event of a request (the metrics and the local viewer)."""

    def __call__(
        self,
        events: Sequence[RawEvent],
        records: Sequence[Record],
        outcomes: Sequence[str],
        *,
        detail: str | None = None,
    ) -> None:
        """Called once per request, after its outcome is known; must not raise or block."""


class Intake:
    """Checks where events come from, classifies them and archives them."""

    def __init__(
        self, archive: Archive, settings: Settings, *, observers: Sequence[Observer] = ()
    ) -> None:
        self._archive = archive
        self._settings = settings
        self._observers = tuple(observers)

    async def accept(self, events: Sequence[RawEvent]) -> Report:
        """Archive `events`; raise TopicNotAllowed (before any write) or StorageUnavailable."""
        for event in events:
            if not self._settings.topic_allowed(event.topic):
                problem = TopicNotAllowed(
                    f"Events from topic {_shown(event.topic)} are not accepted here; "
                    "ARCHIVE_ALLOWED_TOPICS does not list it."
                )
                self._tell(events, None, REJECTED, detail=str(problem))
                raise problem
        records = [classify(event) for event in events]
        for record in records:
            if isinstance(record, Quarantined):
                log.warning("Quarantined a %s event: %s", record.event_type, record.reason)
        try:
            report = await self._archive.store(records)
        except StorageUnavailable as exc:
            self._tell(events, records, FAILED, detail=str(exc))
            raise
        outcomes = [str(o) for o in report.outcomes]
        for observer in self._observers:
            observer(events, records, outcomes)
        return report

    def _tell(
        self,
        events: Sequence[RawEvent],
        records: Sequence[Record] | None,
        outcome: str,
        *,
        detail: str,
    ) -> None:
        if not self._observers:
            return
        classified = [classify(e) for e in events] if records is None else list(records)
        for observer in self._observers:
            observer(events, classified, [outcome] * len(events), detail=detail)


def _shown(topic: str | None) -> str:
    if topic is None:
        return "(none)"
    return repr(topic[:300])
