"""Which threads changed when: the hours of the `ChatActivity` table, and the windows of
hours each daily job reads instead of walking every thread.

The write path records, once per thread per UTC hour (per process), that the thread was
written to: the row's PartitionKey is the hour `YYYYmmddHH`, its RowKey the thread key.
A job then reads a range of hours by key, never a scan of every thread:

- sealing reads the hours since its last run (its cursor) up to now;
- disposal reads the hours whose retention day has come: arrivals `retention` ago;
- archive-inactive reads the arrivals `inactive_days` ago.

A cursor is set to the hour of the run's start less MARGIN, so the next run reads that
hour again: a request that recorded its hour just before the run began may still be
writing its blobs while the run reads (up to the request timeout, well under the
margin). A job's work is idempotent, so reading an hour twice costs requests, never
correctness. Partitions whose name starts with `~` are not hours: the cursors, and the
threads a job must visit again (a held thread, a disposal that failed). Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR_FORMAT = "%Y%m%d%H"
CURSORS = "~cursor"  # RowKey: the job; `hour`: the first hour its next run reads
AGAIN = "~again:"  # + job: the threads that job visits on every run until it settles them
MARGIN = timedelta(minutes=10)
# A first run (no cursor) reads this far back; older threads are the full sweep's.
FIRST_LOOK_BACK = timedelta(days=2)


def hour_of(moment: datetime) -> str:
    """The activity partition of a moment: its UTC hour, `YYYYmmddHH`."""
    return moment.astimezone(UTC).strftime(HOUR_FORMAT)


def parse_hour(hour: str) -> datetime:
    """The start of an activity partition's hour; ValueError if it is not one."""
    if len(hour) != 10 or not hour.isdigit():
        raise ValueError(f"not an activity hour (YYYYmmddHH): {hour!r}")
    return datetime.strptime(hour, HOUR_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """The hours a run reads, first and last included."""

    first: str
    last: str

    def __post_init__(self) -> None:
        parse_hour(self.first)
        parse_hour(self.last)

    @property
    def empty(self) -> bool:
        """True when there is no hour to read."""
        return self.first > self.last


def since_cursor(cursor: str | None, now: datetime) -> Window:
    """What a sealing run reads: from its cursor (or FIRST_LOOK_BACK ago) to this hour."""
    first = cursor if cursor is not None else hour_of(now - FIRST_LOOK_BACK)
    return Window(first, hour_of(now))


def due(cursor: str | None, now: datetime, age: timedelta) -> Window:
    """What a job for things `age` old reads: the arrivals between `age` before its last
    run (the cursor, an hour of the run) and `age` before now. A thread that arrived in
    those hours and has been quiet since is due; one active later is in a later hour."""
    last = hour_of(now - age)
    if cursor is None:
        return Window(hour_of(now - age - FIRST_LOOK_BACK), last)
    return Window(hour_of(parse_hour(cursor) - age), last)


def next_cursor(started: datetime) -> str:
    """The cursor a run that started at `started` leaves: the hour MARGIN before it."""
    return hour_of(started - MARGIN)
