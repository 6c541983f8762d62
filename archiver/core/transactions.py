"""Which latest-row writes of a request travel together in one table transaction.

Azure Table storage applies up to 100 operations on one partition (one thread) as a
single entity-group transaction, all or nothing, each with its own condition, in a
request body of at most 4 MiB. So a request's row writes are grouped by thread and cut
into groups that fit: at most MAX_OPERATIONS rows, each at most once, and at most
MAX_BYTES by a worst-case estimate of what each row weighs on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from archiver.core.layout import LatestRow

MAX_OPERATIONS = 100
# The service's limit is 4 MiB per transaction; the estimate below is a ceiling, and the
# rest is room for the multipart framing around each operation.
MAX_BYTES = 3 * 1024 * 1024
# Keys, names, times and flags, with their JSON and the operation's own headers.
_ROW_OVERHEAD_BYTES = 2048
# A UTF-16 unit of text is at most 6 bytes of JSON (a \uXXXX escape).
_BYTES_PER_UNIT = 6


@dataclass(frozen=True)
class RowWrite:
    """A latest row to write: inserted when `etag` is None, else replaced if unchanged."""

    row: LatestRow
    etag: str | None


def transactions(writes: Iterable[RowWrite]) -> list[tuple[RowWrite, ...]]:
    """`writes` grouped by thread, in their order, into groups that fit one transaction."""
    groups: list[tuple[RowWrite, ...]] = []
    by_thread: dict[str, list[RowWrite]] = {}
    for write in writes:
        by_thread.setdefault(write.row.thread_key, []).append(write)
    for thread_writes in by_thread.values():
        group: list[RowWrite] = []
        weight = 0
        keys: set[str] = set()
        for write in thread_writes:
            size = row_bytes(write.row)
            if group and (
                len(group) == MAX_OPERATIONS
                or weight + size > MAX_BYTES
                or write.row.message_key in keys
            ):
                groups.append(tuple(group))
                group, weight, keys = [], 0, set()
            group.append(write)
            weight += size
            keys.add(write.row.message_key)
        groups.append(tuple(group))
    return groups


def row_bytes(row: LatestRow) -> int:
    """A ceiling on the bytes `row` adds to a transaction's body."""
    texts = (row.body, row.metadata, row.sender_display_name, row.sender_id, row.type)
    units = sum(len(text.encode("utf-16-le")) // 2 for text in texts if text)
    return _ROW_OVERHEAD_BYTES + _BYTES_PER_UNIT * (
        units
        + len(row.thread_key)
        + len(row.message_key)
        + len(row.thread_id)
        + len(row.message_id)
        + len(row.blob_name)
        + len(row.sender_kind)
    )


def check(writes: Sequence[RowWrite]) -> None:
    """Raise ValueError unless `writes` can be one transaction: one thread, each row once,
    between 1 and MAX_OPERATIONS writes. (A caller's mistake, not storage's answer.)"""
    if not 0 < len(writes) <= MAX_OPERATIONS:
        raise ValueError(f"a transaction holds 1 to {MAX_OPERATIONS} writes, not {len(writes)}")
    if len({w.row.thread_key for w in writes}) != 1:
        raise ValueError("a transaction writes rows of one thread only")
    if len({w.row.message_key for w in writes}) != len(writes):
        raise ValueError("a transaction writes each row at most once")
