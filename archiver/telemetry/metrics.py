"""The archive's metrics: what each request and each event came to, and how late.

- `archive.versions` (counter, {version}): versions stored for the first time (message,
  thread and quarantine blobs) by requests that succeeded; a version stored by a request
  that then failed counts as a duplicate when its redelivery finds it.
- `archive.duplicates` (counter, {event}): events whose version was already stored.
- `archive.quarantined` (counter, {event}): events kept in quarantine.
- `archive.ignored` (counter, {event}): events of types the archive does not keep.
- `archive.refused` (counter, {request}): requests answered 400, 403 or 413 (`status`).
- `archive.storage_failures` (counter, {request}): requests or trigger invocations that
  storage failed (answered 503, or the trigger raised so Event Grid redelivers).
- `archive.lag` (histogram, s): archive time minus the event's `eventTime`, per version.
- `archive.request.duration` (histogram, s): time to answer a webhook request (`status`).

Nothing here raises into the request path: a metric that cannot be recorded is dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from opentelemetry.metrics import Meter

from archiver.capture.intake import FAILED
from archiver.capture.report import Outcome
from archiver.core.envelopes import RawEvent
from archiver.core.fields import parse_timestamp
from archiver.core.records import Record

log = logging.getLogger("archiver")
METER_NAME = "archiver"
REFUSED = frozenset({400, 403, 413})


class Metrics:
    """The intake's observer and the webhook's answer hook, counting into `meter`."""

    def __init__(
        self, meter: Meter, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._clock = clock
        self._versions = meter.create_counter(
            "archive.versions", unit="{version}", description="Versions stored for the first time"
        )
        self._duplicates = meter.create_counter(
            "archive.duplicates", unit="{event}", description="Events already stored"
        )
        self._quarantined = meter.create_counter(
            "archive.quarantined", unit="{event}", description="Events kept in quarantine"
        )
        self._ignored = meter.create_counter(
            "archive.ignored", unit="{event}", description="Events of types not archived"
        )
        self._refused = meter.create_counter(
            "archive.refused", unit="{request}", description="Requests answered 400, 403 or 413"
        )
        self._failures = meter.create_counter(
            "archive.storage_failures",
            unit="{request}",
            description="Requests storage failed (answered 503, or the trigger raised)",
        )
        self._lag = meter.create_histogram(
            "archive.lag", unit="s", description="Archive time minus event time, per version"
        )
        self._duration = meter.create_histogram(
            "archive.request.duration", unit="s", description="Time to answer a webhook request"
        )

    def observe(
        self,
        events: Sequence[RawEvent],
        records: Sequence[Record],
        outcomes: Sequence[str],
        *,
        detail: str | None = None,
    ) -> None:
        """The intake's observer: count what became of each event of a request."""
        try:
            self._count(events, outcomes)
        except Exception:  # metrics must never fail a request
            log.exception("Could not record the request's metrics")

    def answered(self, status: int, seconds: float) -> None:
        """The webhook's answer hook: how long it took, and whether it was refused."""
        try:
            self._duration.record(seconds, {"status": status})
            if status in REFUSED:
                self._refused.add(1, {"status": status})
        except Exception:
            log.exception("Could not record the answer's metrics")

    def _count(self, events: Sequence[RawEvent], outcomes: Sequence[str]) -> None:
        if FAILED in outcomes:
            self._failures.add(1)
            return
        counts = Counter(outcomes)
        for instrument, kind in (
            (self._versions, Outcome.ARCHIVED),
            (self._duplicates, Outcome.DUPLICATE),
            (self._quarantined, Outcome.QUARANTINED),
            (self._ignored, Outcome.IGNORED),
        ):
            if counts[kind]:
                instrument.add(counts[kind])
        now = self._clock()
        for event, outcome in zip(events, outcomes, strict=True):
            if outcome == Outcome.ARCHIVED and (sent := _event_time(event)) is not None:
                self._lag.record(max(0.0, (now - sent).total_seconds()))


def _event_time(event: RawEvent) -> datetime | None:
    """When Event Grid says the event happened (`eventTime`, CloudEvents `time`)."""
    value = event.value.get("time" if event.schema == "cloudevents" else "eventTime")
    try:
        return parse_timestamp(value)
    except ValueError:
        return None
