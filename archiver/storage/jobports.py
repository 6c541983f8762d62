"""What the daily jobs need from storage: the activity table they read by key, and the
queue their work fans out over (archiver.core.activity, archiver.core.jobs).

Both adapters (Azure, in-memory) pass the same contract suite
(tests/storage/test_job_storage_contract.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class ActivityTable(Protocol):
    """`ChatActivity`: one row per thread per partition (an hour, or a job's `~` list)."""

    async def record(self, partition: str, thread_keys: Collection[str]) -> None:
        """Upsert a row for each thread key in `partition`: repeating it changes nothing."""

    def thread_keys(self, first: str, last: str) -> AsyncIterator[str]:
        """The thread keys of every partition from `first` to `last` (both included), in
        key order; a thread active in several of them comes once from each."""

    async def forget(self, partition: str, thread_key: str) -> None:
        """Delete the row; one that is not there is fine."""

    async def claim(self, partition: str, key: str, *, now: datetime, hold: timedelta) -> bool:
        """Take the row `partition`/`key` as a lease until `now + hold`: True when it was
        free or its lease had ended, False while another holder's lease runs. Two
        claimants at once: exactly one wins (insert, or an ETag-checked replace)."""

    async def cursor(self, job: str) -> str | None:
        """The first hour `job`'s next run reads (None before its first run)."""

    async def move_cursor(self, job: str, hour: str) -> None:
        """Set `job`'s cursor."""


@dataclass(frozen=True)
class Delivery:
    """A queue message as received: its text, how often it was received, and the
    receipt that deletes it (valid until its visibility timeout ends)."""

    message_id: str
    pop_receipt: str
    text: str
    dequeue_count: int


class JobQueue(Protocol):
    """A storage queue of job messages (plain text, not Base64)."""

    @property
    def name(self) -> str:
        """The queue's name."""

    async def prepare(self) -> None:
        """Create the queue when missing; safe to call again."""

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        """Add a message, visible after `delay_seconds`."""

    async def receive(self, *, limit: int, visibility_seconds: int) -> list[Delivery]:
        """Up to `limit` visible messages, hidden from others for `visibility_seconds`."""

    async def delete(self, delivery: Delivery) -> None:
        """Delete a received message (done with it); one already gone is fine."""

    async def release(self, delivery: Delivery) -> None:
        """Make a received message visible again now (it failed: to be retried)."""

    async def length(self) -> int:
        """About how many messages the queue holds."""
