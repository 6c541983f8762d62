"""The settings of the daily jobs: where activity is recorded, and the queue they fan
out over."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from archiver.core.errors import ConfigurationError

DEFAULT_ACTIVITY_TABLE = "ChatActivity"
DEFAULT_JOBS_QUEUE = "chat-jobs"
# Threads per queue message: a seal of one thread costs a few requests, so a batch is a
# few seconds of work, and 25 thread ids stay far inside a message's 64 KiB.
DEFAULT_BATCH = 25
MAX_BATCH = 200
# The checkpoint job waits this long after a sealing run's batches are enqueued, so that
# they are sealed before it is written.
DEFAULT_CHECKPOINT_DELAY_MINUTES = 30
_QUEUE_NAME = re.compile(r"^(?=.{3,57}$)[a-z0-9]+(-[a-z0-9]+)*$")  # room for "-poison"
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    """`ChatActivity` and `chat-jobs` (its poison queue is `chat-jobs-poison`)."""

    activity_table: str = DEFAULT_ACTIVITY_TABLE
    queue: str = DEFAULT_JOBS_QUEUE
    batch: int = DEFAULT_BATCH
    checkpoint_delay_minutes: int = DEFAULT_CHECKPOINT_DELAY_MINUTES

    @property
    def poison_queue(self) -> str:
        """Where the Functions host moves a message that failed five times."""
        return f"{self.queue}-poison"


def read_jobs(values: Mapping[str, str]) -> JobSettings:
    """ARCHIVE_ACTIVITY_TABLE, ARCHIVE_JOBS_QUEUE, ARCHIVE_JOBS_BATCH and
    ARCHIVE_JOBS_CHECKPOINT_DELAY; raise ConfigurationError naming the setting."""
    table = values.get("ARCHIVE_ACTIVITY_TABLE", "").strip() or DEFAULT_ACTIVITY_TABLE
    if not _TABLE_NAME.match(table):
        raise ConfigurationError(
            f"ARCHIVE_ACTIVITY_TABLE must be 3-63 letters and digits, starting with a letter, "
            f"got {table!r}"
        )
    queue = values.get("ARCHIVE_JOBS_QUEUE", "").strip() or DEFAULT_JOBS_QUEUE
    if not _QUEUE_NAME.match(queue):
        raise ConfigurationError(
            f"ARCHIVE_JOBS_QUEUE must be 3-57 lower-case letters, digits and single hyphens, "
            f"got {queue!r}"
        )
    text = values.get("ARCHIVE_JOBS_BATCH", "").strip()
    batch = int(text) if text.isdigit() else DEFAULT_BATCH if not text else 0
    if not 1 <= batch <= MAX_BATCH:
        raise ConfigurationError(
            f"ARCHIVE_JOBS_BATCH must be a whole number from 1 to {MAX_BATCH}, got {text!r}"
        )
    text = values.get("ARCHIVE_JOBS_CHECKPOINT_DELAY", "").strip()
    delay = int(text) if text.isdigit() else DEFAULT_CHECKPOINT_DELAY_MINUTES if not text else -1
    if not 0 <= delay <= 24 * 60:
        raise ConfigurationError(
            f"ARCHIVE_JOBS_CHECKPOINT_DELAY must be minutes from 0 to 1440, got {text!r}"
        )
    return JobSettings(
        activity_table=table, queue=queue, batch=batch, checkpoint_delay_minutes=delay
    )
