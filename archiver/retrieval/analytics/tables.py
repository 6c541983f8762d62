"""messages.parquet and threads.parquet: the analytics figures as two Parquet tables.

The only module that imports pyarrow. Rows are gathered for a group of threads and
written as one row group of each file (at most THREADS_PER_GROUP threads or
MESSAGES_PER_GROUP messages), so an archive of any size is written in the memory of one
group. Times are UTC timestamps in microseconds, durations seconds as doubles; each
file's schema metadata says what the export was (FORMAT, when, which window).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from archiver.retrieval.analytics.figures import Message, Thread

FORMAT = "acs-chat-archiver/analytics@1"
MESSAGES_FILE = "messages.parquet"
THREADS_FILE = "threads.parquet"
CONTENT_TYPE = "application/vnd.apache.parquet"
THREADS_PER_GROUP = 1000
MESSAGES_PER_GROUP = 100_000
METADATA_KEY = b"acs-chat-archiver"
_TIME = pa.timestamp("us", tz="UTC")
_MESSAGE_FIELDS: list[pa.Field[Any]] = [
    pa.field("thread_id", pa.string(), nullable=False),
    pa.field("message_id", pa.string(), nullable=False),
    pa.field("sender_id", pa.string()),
    pa.field("sender_kind", pa.string(), nullable=False),
    pa.field("sender_display_name", pa.string()),
    pa.field("created", _TIME),
    pa.field("first_version_time", _TIME),
    pa.field("last_version_time", _TIME),
    pa.field("versions", pa.int32(), nullable=False),
    pa.field("edited", pa.bool_(), nullable=False),
    pa.field("edits", pa.int32(), nullable=False),
    pa.field("deleted", pa.bool_(), nullable=False),
    pa.field("body_length", pa.int64()),
    pa.field("reply_seconds", pa.float64()),
]
_THREAD_FIELDS: list[pa.Field[Any]] = [
    pa.field("thread_id", pa.string(), nullable=False),
    pa.field("topic", pa.string()),
    pa.field("participants", pa.int32(), nullable=False),
    pa.field("participant_ids", pa.list_(pa.string()), nullable=False),
    pa.field("messages", pa.int32(), nullable=False),
    pa.field("first_message_time", _TIME),
    pa.field("last_message_time", _TIME),
    pa.field("duration_seconds", pa.float64()),
    pa.field("first_response_seconds", pa.float64()),
    pa.field("median_reply_seconds", pa.float64()),
]
MESSAGES = pa.schema(_MESSAGE_FIELDS)
THREADS = pa.schema(_THREAD_FIELDS)


class Tables:
    """The two files of one export, written a row group at a time; a context manager
    that writes the last group and closes both on a clean exit."""

    def __init__(
        self,
        messages: Path,
        threads: Path,
        *,
        about: Mapping[str, Any],
        threads_per_group: int = THREADS_PER_GROUP,
        messages_per_group: int = MESSAGES_PER_GROUP,
    ) -> None:
        metadata = {METADATA_KEY: json.dumps({"format": FORMAT, **about}).encode()}
        self._messages = pq.ParquetWriter(messages, MESSAGES.with_metadata(metadata))
        self._threads = pq.ParquetWriter(threads, THREADS.with_metadata(metadata))
        self._limits = (threads_per_group, messages_per_group)
        self._thread_rows: list[Thread] = []
        self._message_rows: list[Message] = []

    def add(self, thread: Thread, messages: Sequence[Message]) -> None:
        """Add one thread and its messages; write a row group when one is full."""
        self._thread_rows.append(thread)
        self._message_rows.extend(messages)
        threads, messages_ = self._limits
        if len(self._thread_rows) >= threads or len(self._message_rows) >= messages_:
            self._flush()

    def __enter__(self) -> Tables:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                self._flush()
        finally:
            self._messages.close()
            self._threads.close()

    def _flush(self) -> None:
        if self._thread_rows:
            self._threads.write_table(_table(THREADS, self._thread_rows))
            self._thread_rows = []
        if self._message_rows:
            self._messages.write_table(_table(MESSAGES, self._message_rows))
            self._message_rows = []


def _table(schema: pa.Schema, rows: Sequence[Message | Thread]) -> pa.Table:
    columns = {name: [_value(getattr(row, name)) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def _value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
