"""The one path every event takes in, whether it came by webhook or native trigger."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from archiver.archive import Archive, Report
from archiver.envelopes import RawEvent
from archiver.errors import TopicNotAllowed
from archiver.events import classify
from archiver.records import Quarantined
from archiver.settings import Settings

log = logging.getLogger("archiver")


class Intake:
    """Checks where events come from, classifies them and archives them."""

    def __init__(self, archive: Archive, settings: Settings) -> None:
        self._archive = archive
        self._settings = settings

    async def accept(self, events: Sequence[RawEvent]) -> Report:
        """Archive `events`; raise TopicNotAllowed (before any write) or StorageUnavailable."""
        for event in events:
            if not self._settings.topic_allowed(event.topic):
                raise TopicNotAllowed(
                    f"Events from topic {_shown(event.topic)} are not accepted here; "
                    "ARCHIVE_ALLOWED_TOPICS does not list it."
                )
        records = [classify(event) for event in events]
        for record in records:
            if isinstance(record, Quarantined):
                log.warning("Quarantined a %s event: %s", record.event_type, record.reason)
        return await self._archive.store(records)


def _shown(topic: str | None) -> str:
    if topic is None:
        return "(none)"
    return repr(topic[:300])
