"""The one path every event takes in, whether it came by webhook or native trigger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from archiver.archive import Archive, Report
from archiver.envelopes import RawEvent
from archiver.errors import StorageUnavailable, TopicNotAllowed
from archiver.events import classify
from archiver.feed import FAILED, REJECTED, Feed, sightings
from archiver.records import Quarantined, Record
from archiver.settings import Settings

log = logging.getLogger("archiver")


class Intake:
    """Checks where events come from, classifies them and archives them.

    With a `feed` (the local viewer), it also reports what became of each event.
    """

    def __init__(
        self,
        archive: Archive,
        settings: Settings,
        *,
        feed: Feed | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._archive = archive
        self._settings = settings
        self._feed = feed
        self._clock = clock

    async def accept(self, events: Sequence[RawEvent]) -> Report:
        """Archive `events`; raise TopicNotAllowed (before any write) or StorageUnavailable."""
        for event in events:
            if not self._settings.topic_allowed(event.topic):
                problem = TopicNotAllowed(
                    f"Events from topic {_shown(event.topic)} are not accepted here; "
                    "ARCHIVE_ALLOWED_TOPICS does not list it."
                )
                self._show(events, None, REJECTED, detail=str(problem))
                raise problem
        records = [classify(event) for event in events]
        for record in records:
            if isinstance(record, Quarantined):
                log.warning("Quarantined a %s event: %s", record.event_type, record.reason)
        try:
            report = await self._archive.store(records)
        except StorageUnavailable as exc:
            self._show(events, records, FAILED, detail=str(exc))
            raise
        if self._feed is not None:
            self._feed.publish(
                sightings(events, records, [str(o) for o in report.outcomes], at=self._clock())
            )
        return report

    def _show(
        self,
        events: Sequence[RawEvent],
        records: Sequence[Record] | None,
        outcome: str,
        *,
        detail: str,
    ) -> None:
        if self._feed is None:
            return
        classified = [classify(e) for e in events] if records is None else list(records)
        self._feed.publish(
            sightings(
                events,
                classified,
                [outcome] * len(events),
                at=self._clock(),
                detail=detail,
            )
        )


def _shown(topic: str | None) -> str:
    if topic is None:
        return "(none)"
    return repr(topic[:300])
