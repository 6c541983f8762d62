"""Legal holds, and the claim a disposal takes: one `ChatHolds` row per thread.

A thread on hold must survive every retention or disposal process until released. The
hold and the disposal claim live in the same row, written only with ETag checks, so
they exclude each other: a disposal claims a thread only while it is not held, and a
hold is refused once a disposal has claimed it (the thread is already going). Every
hold placed and released is also in the audit trail; the row keeps the last of each.
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from archiver.core.errors import InvalidQuery, OnHold

MAX_REASON = 1000


@dataclass(frozen=True, kw_only=True)
class HoldRow:
    """What is known of holds and disposal for one thread."""

    thread_key: str
    thread_id: str
    held: bool = False
    reason: str | None = None
    case: str | None = None
    placed_by: str | None = None
    placed_at: datetime | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None
    disposing_since: datetime | None = None  # a disposal claimed the thread
    disposed_at: datetime | None = None  # and finished


def placed(
    current: HoldRow | None,
    *,
    thread_key: str,
    thread_id: str,
    reason: str,
    case: str | None,
    by: str,
    at: datetime,
) -> HoldRow:
    """The row with the thread held; raise OnHold when a disposal has claimed it."""
    _check(reason, "reason")
    if case is not None:
        _check(case, "case")
    base = current or HoldRow(thread_key=thread_key, thread_id=thread_id)
    if base.disposing_since is not None:
        raise OnHold(
            f"thread {thread_id!r} is being disposed of under the retention policy "
            f"(since {base.disposing_since:%Y-%m-%dT%H:%M:%SZ}); it can no longer be held"
        )
    return replace(base, held=True, reason=reason, case=case, placed_by=by, placed_at=at)


def released(current: HoldRow | None, *, reason: str, by: str, at: datetime) -> HoldRow:
    """The row with the hold released; raise InvalidQuery when it is not held."""
    _check(reason, "reason")
    if current is None or not current.held:
        raise InvalidQuery("the thread is not on hold")
    return replace(current, held=False, released_by=by, released_at=at, release_reason=reason)


def claimed(
    current: HoldRow | None, *, thread_key: str, thread_id: str, at: datetime
) -> HoldRow | None:
    """The row with a disposal's claim, or None when the thread is held (skip it)."""
    base = current or HoldRow(thread_key=thread_key, thread_id=thread_id)
    if base.held:
        return None
    if base.disposing_since is not None:
        return base  # an interrupted disposal: resume it
    return replace(base, disposing_since=at)


def _check(text: str, name: str) -> None:
    if not text.strip():
        raise InvalidQuery(f"a hold needs a {name}")
    if len(text) > MAX_REASON:
        raise InvalidQuery(f"the {name} is longer than {MAX_REASON} characters")
