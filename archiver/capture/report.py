"""What became of each event of a request: the archive's answer, and the webhook's counts."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from archiver.core.plan import Write
from archiver.core.records import Quarantined


class Outcome(enum.StrEnum):
    """What happened to one event of a request."""

    ARCHIVED = "archived"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Report:
    """The outcome of each event of a request, in request order."""

    outcomes: tuple[Outcome, ...]

    def summary(self) -> dict[str, int]:
        """Counts by outcome, with the keys the webhook answers with."""
        counts = {outcome: self.outcomes.count(outcome) for outcome in Outcome}
        return {
            "received": len(self.outcomes),
            "archived": counts[Outcome.ARCHIVED],
            "duplicates": counts[Outcome.DUPLICATE],
            "quarantined": counts[Outcome.QUARANTINED],
            "ignored": counts[Outcome.IGNORED],
        }


def record_outcomes(outcomes: list[Outcome], write: Write, *, created: bool) -> None:
    """Set the outcome of every event `write` stands for: archived if this request created
    its blob (the first event only; repeats are duplicates), quarantined, or duplicate."""
    if isinstance(write.record, Quarantined):
        for index in write.events:
            outcomes[index] = Outcome.QUARANTINED
        return
    first, *repeats = write.events
    outcomes[first] = Outcome.ARCHIVED if created else Outcome.DUPLICATE
    for index in repeats:
        outcomes[index] = Outcome.DUPLICATE
