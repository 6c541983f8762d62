"""The precedence of erasure: legal hold > retention obligation > erasure, per item.

- A version a matter holds (a thread hold, or a custodian's) is queued: nothing of it
  changes until every matter has released it; then it is shredded.
- A version under a retention obligation (ARCHIVE_MINIMUM_RETENTION_DAYS: the law says
  keep the thread this long after its last activity) is restricted: its key re-wrapped
  under the restriction key that no one person can open, and shredded once the
  obligation ends.
- Otherwise it goes now: its key destroyed (envelope mode), or, in a plain archive, its
  blob deleted. Pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from archiver.core.erasure.receipts import Decision


def obligation_ends(last_activity: datetime | None, days: int) -> datetime | None:
    """When the thread's retention obligation ends (None: it has none)."""
    if days <= 0 or last_activity is None:
        return None
    return last_activity + timedelta(days=days)


def decide(
    *, held_by: tuple[str, ...], obligation_until: datetime | None, now: datetime, envelope: bool
) -> Decision:
    """What becomes of one version now."""
    if held_by:
        return Decision.QUEUED
    if obligation_until is not None and now < obligation_until:
        return Decision.RESTRICTED
    return Decision.SHREDDED if envelope else Decision.DELETED
