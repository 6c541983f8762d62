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
SEALING = "~sealing"  # RowKey: a thread being sealed; `until`: when its lease ends
AGAIN = "~again:"  # + job: the threads that job visits on every run until it settles them
MARGIN = timedelta(minutes=10)


def hour_of(moment: datetime) -> str:
    """The activity partition of a moment: its UTC hour, `YYYYmmddHH`."""
    return moment.astimezone(UTC).strftime(HOUR_FORMAT)


def parse_hour(hour: str) -> datetime:
    """The start of an activity partition's hour; ValueError if it is not one."""
    problem = ValueError(f"not an activity hour (YYYYmmddHH): {hour!r}")
    if len(hour) != 10 or not hour.isdigit():
        raise problem
    try:
        return datetime.strptime(hour, HOUR_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise problem from None


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


def since_cursor(cursor: str, now: datetime) -> Window:
    """What a sealing run reads: from its cursor to this hour. (A job without a cursor,
    on its first run, sweeps every thread instead.)"""
    return Window(cursor, hour_of(now))


def due(cursor: str, now: datetime, age: timedelta) -> Window:
    """What a job for things `age` old reads: the arrivals between `age` before its last
    run (the cursor, an hour of the run) and `age` before now. A thread that arrived in
    those hours and has been quiet since is due; one active later is in a later hour."""
    return Window(hour_of(parse_hour(cursor) - age), hour_of(now - age))


def next_cursor(started: datetime) -> str:
    """The cursor a run that started at `started` leaves: the hour MARGIN before it."""
    return hour_of(started - MARGIN)
