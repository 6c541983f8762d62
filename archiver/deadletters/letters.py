"""Event Grid's dead-letter blobs, read: where each is, and the events it holds. Pure.

Event Grid writes `{container}/{SUBSCRIPTION-NAME}/{yyyy}/{m}/{d}/{h}/{guid}.json`
(UTC, not zero-padded), each a JSON array of one or more events exactly as they were
to be delivered, plus why they were not: `deadLetterReason`, `deliveryAttempts`,
`lastDeliveryOutcome`, `publishTime`, `lastDeliveryAttemptTime` (in the CloudEvents
schema the same names in lower case). Those extra fields change nothing of what an
event archives as.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archiver.core.envelopes import RawEvent, split_body
from archiver.core.errors import InvalidBody

REPLAYED_PREFIX = "replayed/"
_NAME = re.compile(
    r"^(?P<subscription>[^/]+)/(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})/"
    r"(?P<hour>\d{1,2})/(?P<guid>[^/]+)\.json$"
)


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a dead-letter blob sits: its subscription and the hour it was written."""

    name: str
    subscription: str
    hour: datetime


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """One dead-lettered event and why it was not delivered."""

    event: RawEvent
    reason: str
    outcome: str
    attempts: int | None


def place(name: str) -> Place | None:
    """Where `name` says it sits, or None for a name Event Grid would not write."""
    found = _NAME.match(name)
    if found is None:
        return None
    try:
        hour = datetime(
            int(found["year"]),
            int(found["month"]),
            int(found["day"]),
            int(found["hour"]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return Place(name=name, subscription=found["subscription"], hour=hour)


def letters(content: bytes) -> list[DeadLetter]:
    """The events of one dead-letter blob; raise InvalidBody when it holds none."""
    events = split_body(content)
    if not events:
        raise InvalidBody("the blob holds no events")
    return [_letter(event) for event in events]


def _letter(event: RawEvent) -> DeadLetter:
    value = event.value
    attempts = _field(value, "deliveryAttempts")
    return DeadLetter(
        event=event,
        reason=str(_field(value, "deadLetterReason") or "unknown"),
        outcome=str(_field(value, "lastDeliveryOutcome") or "unknown"),
        attempts=attempts if type(attempts) is int else None,
    )


def _field(value: dict[str, Any], name: str) -> Any:
    return value.get(name, value.get(name.lower()))
