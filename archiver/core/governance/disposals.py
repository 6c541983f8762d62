"""A disposal's claim on a thread, as the thread's own `ChatHolds` row records it, and
which blobs a disposal of the thread may delete.

The thread's row (RowKey "") is written only with ETag checks. A disposal claims it
(`claimed_at`), looks again at the thread's holds and activity, and only then confirms
(`confirmed_at`) with the ETag of its claim: a hold placed meanwhile touches the row
(`hold_changed_at`), so the confirmation fails and the disposal looks again. Once
confirmed, the thread is going: a hold asked for then is refused. When the disposal ends
(done, or backed off) the claim is cleared, so a thread that comes back is an ordinary
thread again. The same row keeps whether blob legal-hold flags may be set on the
thread's blobs, and the hold an older archiver wrote in it (the legacy matter). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from archiver.core.erasure.receipts import is_receipt_name
from archiver.core.errors import OnHold
from archiver.core.evidence.seals import Link, is_seal_name
from archiver.core.fields import format_timestamp
from archiver.core.governance.holds import Hold
from archiver.core.inventory import MessageBlob, ThreadBlob, entry
from archiver.core.layout import (
    MESSAGES_PREFIX,
    SEALS_PREFIX,
    THREADS_PREFIX,
    TRANSCRIPTS_PREFIX,
    is_transcript_name,
)
from archiver.core.summaries import is_summary_name
from archiver.core.threads import ThreadRow


@dataclass(frozen=True, kw_only=True)
class ThreadState:
    """What holds and disposal have recorded of one thread."""

    thread_key: str
    thread_id: str
    claimed_at: datetime | None = None  # a disposal claimed the thread
    confirmed_at: datetime | None = None  # and, having looked again, is deleting it
    plan: str | None = None  # the audit record listing what that disposal deletes
    planned_etag: str | None = None  # the thread row's ETag when the plan was made
    disposed_at: datetime | None = None  # the last disposal that finished
    hold_changed_at: datetime | None = None  # a hold of the thread was placed then
    flagged: bool = False  # blob legal-hold flags may be set on the thread's blobs
    legacy: Hold | None = None  # the one hold an older archiver kept in this row

    @property
    def claiming(self) -> bool:
        """True while a disposal has claimed the thread and not yet confirmed."""
        return self.claimed_at is not None and self.confirmed_at is None

    @property
    def disposing(self) -> bool:
        """True once a disposal has confirmed its claim: the thread is going."""
        return self.claimed_at is not None and self.confirmed_at is not None


def blank(thread_key: str, thread_id: str) -> ThreadState:
    """The row of a thread nothing was recorded of yet."""
    return ThreadState(thread_key=thread_key, thread_id=thread_id)


def claimed(current: ThreadState, *, at: datetime) -> ThreadState | None:
    """The row with a disposal's claim (an earlier claim is resumed as it is), or None
    when the legacy hold holds the thread."""
    if current.legacy is not None and current.legacy.held:
        return None
    if current.claimed_at is not None:
        return current
    return replace(current, claimed_at=at, confirmed_at=None, plan=None, planned_etag=None)


def confirmed(current: ThreadState, *, at: datetime) -> ThreadState:
    """The claimed row, confirmed: the disposal has found no hold and no new activity."""
    return replace(current, confirmed_at=at)


def planned(current: ThreadState, *, record: str, etag: str | None) -> ThreadState:
    """The confirmed row with the audit record of its plan and the thread row's ETag."""
    return replace(current, plan=record, planned_etag=etag)


def cleared(current: ThreadState, *, disposed_at: datetime | None) -> ThreadState:
    """The row without a claim: after a disposal that finished (`disposed_at`) or that
    backed off (None, the last finished disposal is kept)."""
    return replace(
        current,
        claimed_at=None,
        confirmed_at=None,
        plan=None,
        planned_etag=None,
        disposed_at=disposed_at or current.disposed_at,
    )


def touched(current: ThreadState, *, at: datetime, flagged: bool | None = None) -> ThreadState:
    """The row after a hold of the thread changed: a claim not yet confirmed must look
    again; `flagged` when the thread's blobs are (or no longer are) to carry flags."""
    return replace(
        current,
        hold_changed_at=at,
        flagged=current.flagged if flagged is None else flagged,
    )


def refuse_if_disposing(current: ThreadState | None) -> None:
    """Raise OnHold when a disposal has confirmed its claim on the thread."""
    if current is None or not current.disposing or current.claimed_at is None:
        return
    raise OnHold(
        f"thread {current.thread_id!r} is being disposed of under the retention policy "
        f"(since {current.claimed_at:%Y-%m-%dT%H:%M:%SZ}); it can no longer be held"
    )


def of_thread(name: str, *, thread_id: str, thread_key: str) -> bool:
    """True for a blob a disposal of the thread deletes: one of its message versions,
    thread changes, transcripts, summaries, erasure receipts or seals. Nothing else,
    however its name begins (a thread `keys` never reaches `seals/keys/*.pem`)."""
    found = entry(name)
    if isinstance(found, MessageBlob):
        return found.thread_id == thread_id and name.startswith(f"{MESSAGES_PREFIX}{thread_key}/")
    if isinstance(found, ThreadBlob):
        return found.thread_id == thread_id and name.startswith(f"{THREADS_PREFIX}{thread_key}/")
    if name.startswith(f"{TRANSCRIPTS_PREFIX}{thread_key}/"):
        return is_transcript_name(name)
    if is_summary_name(name, thread_key) or is_receipt_name(name, thread_key):
        return True
    return _seal_of(thread_key).fullmatch(name) is not None


def _seal_of(thread_key: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(SEALS_PREFIX)}{re.escape(thread_key)}/\d{{8}}T\d{{6}}Z\.json")


def held_by(held: Sequence[Hold]) -> str:
    """Which matters hold a thread, and why, in one line."""
    return "; ".join(f"{hold.label}: {hold.reason}" for hold in held)


def moved_since(row: ThreadRow, cutoff: datetime) -> bool:
    """True when the thread's last activity is no longer before the cutoff."""
    return row.last_activity is not None and row.last_activity >= cutoff


def active_again(row: ThreadRow) -> str:
    """Why a due thread is kept after all: it was active since."""
    return f"active again (last activity {format_timestamp(row.last_activity)})"


def newest_seal(blobs: Sequence[dict[str, Any]], thread_key: str) -> Link | None:
    """The thread's newest seal in the plan, by name and SHA-256."""
    seals = sorted(b["name"] for b in blobs if is_seal_name(b["name"], thread_key))
    if not seals:
        return None
    [newest] = [b for b in blobs if b["name"] == seals[-1]]
    return Link(name=newest["name"], sha256=str(newest["sha256"]))
