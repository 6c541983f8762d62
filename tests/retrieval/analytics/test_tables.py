"""The two Parquet files: a row group per group of threads (or of messages, for long
threads), so an export holds one group in memory; typed columns a lakehouse reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from archiver.retrieval.analytics.figures import Message, Thread, replied, thread
from archiver.retrieval.analytics.tables import MESSAGES_PER_GROUP, THREADS_PER_GROUP, Tables
from tests.builders import ALICE, BOB

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def talk(number: int, messages: int) -> tuple[Thread, list[Message]]:
    thread_id = f"19:t{number}@thread.v2"
    said = [
        Message(
            thread_id=thread_id,
            message_id=str(index),
            sender_id=(ALICE, BOB)[index % 2],
            sender_kind="communicationUser",
            sender_display_name=None,
            created=T0 + timedelta(seconds=10 * index),
            first_version_time=T0 + timedelta(seconds=10 * index),
            last_version_time=T0 + timedelta(seconds=10 * index),
            versions=1,
            edits=0,
            deleted=False,
            body_length=5,
        )
        for index in range(messages)
    ]
    ordered = replied(said)
    return thread(thread_id, None, ordered), ordered


def written(
    tmp_path: Path,
    threads: int,
    messages: int,
    *,
    threads_per_group: int = THREADS_PER_GROUP,
    messages_per_group: int = MESSAGES_PER_GROUP,
) -> tuple[pq.ParquetFile, pq.ParquetFile]:
    paths = tmp_path / "messages.parquet", tmp_path / "threads.parquet"
    with Tables(
        *paths,
        about={"exportedAt": None},
        threads_per_group=threads_per_group,
        messages_per_group=messages_per_group,
    ) as tables:
        for number in range(threads):
            tables.add(*talk(number, messages))
    return pq.ParquetFile(paths[0]), pq.ParquetFile(paths[1])


def test_each_row_group_holds_a_group_of_threads_and_their_messages(tmp_path: Path):
    messages, threads = written(tmp_path, threads=5, messages=3, threads_per_group=2)

    assert [threads.metadata.row_group(i).num_rows for i in range(3)] == [2, 2, 1]
    assert [messages.metadata.row_group(i).num_rows for i in range(3)] == [6, 6, 3]


def test_a_group_closes_early_when_its_threads_hold_many_messages(tmp_path: Path):
    messages, threads = written(
        tmp_path, threads=4, messages=30, threads_per_group=100, messages_per_group=50
    )

    assert messages.metadata.num_row_groups == threads.metadata.num_row_groups == 2
    assert messages.metadata.num_rows == 4 * 30


def test_times_are_utc_microseconds_and_the_participants_a_list_of_ids(tmp_path: Path):
    messages, threads = written(tmp_path, threads=1, messages=2)

    schema = threads.schema_arrow
    assert schema.field("first_message_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("participant_ids").type == pa.list_(pa.string())
    assert messages.schema_arrow.field("reply_seconds").type == pa.float64()
    assert threads.read().to_pylist()[0]["participant_ids"] == sorted([ALICE, BOB])
