"""The analytics export: its two Parquet tables hold the figures worked out by hand, of a
hand-written chat and of a simulated archive, for the threads and window asked, with no
message text, to a folder or to the analytics container, never half written."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from archiver.core.errors import AlreadyStored, DamagedArchive, InvalidQuery, UnknownThread
from archiver.core.keys import encode_key
from archiver.retrieval.analytics.export import Analytics, blob_names, to_container, to_folder
from archiver.retrieval.analytics.tables import METADATA_KEY
from archiver.sim.conversations import Shape
from archiver.storage.ports import Storage, Window
from tests.builders import TEAMS_USER
from tests.chats import archive, chat
from tests.retrieval.analytics.chats import (
    DAY_ONE,
    ORDER,
    QUIET,
    TALKS,
    by_hand,
    composed,
    events,
    message_id,
)

CONTAINER = "chat-analytics-specs"


def rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def made(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return folder


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def exported(storage: Storage, folder: Path, **selection: Any) -> tuple[list, list]:
    await to_folder(storage, Analytics(**selection), made(folder))
    return rows(folder / "messages.parquet"), rows(folder / "threads.parquet")


async def test_the_threads_table_holds_what_each_hand_written_thread_is_known_to_be(
    storage: Storage, tmp_path: Path
):
    await archive(storage, tuple(events()))

    _, threads = await exported(storage, tmp_path)

    by_id = {row["thread_id"]: row for row in threads}
    assert sorted(by_id) == sorted(talk.thread_id for talk in TALKS)
    for talk in TALKS:
        row = by_id[talk.thread_id]
        assert row["messages"] == len(talk.lines)
        assert row["participant_ids"] == sorted({line.sender for line in talk.lines})
        assert row["participants"] == len(row["participant_ids"])
        assert row["first_message_time"] == composed(talk, talk.lines[0])
        assert row["last_message_time"] == composed(talk, talk.lines[-1])
        assert row["duration_seconds"] == talk.lines[-1].at - talk.lines[0].at
        assert row["first_response_seconds"] == talk.first_response
        assert row["median_reply_seconds"] == talk.median_reply


async def test_the_messages_table_counts_each_version_edit_and_deletion_and_no_text(
    storage: Storage, tmp_path: Path
):
    await archive(storage, tuple(events()))

    messages, _ = await exported(storage, tmp_path, threads=(ORDER.thread_id,))

    assert [m["message_id"] for m in messages] == [message_id(ORDER, ln) for ln in ORDER.lines]
    assert [m["reply_seconds"] for m in messages] == list(ORDER.replies)
    edited, deleted = messages[1], messages[3]
    assert (edited["versions"], edited["edits"], edited["edited"], edited["deleted"]) == (
        3,
        2,
        True,
        False,
    )
    assert edited["body_length"] == len("Order 4471, placed on Monday")
    assert edited["created"] == edited["first_version_time"] == composed(ORDER, ORDER.lines[1])
    assert edited["last_version_time"] == DAY_ONE + timedelta(seconds=70)
    assert (deleted["versions"], deleted["deleted"], deleted["edited"]) == (2, True, False)
    assert deleted["body_length"] == len("Found it: it left the depot")
    assert deleted["last_version_time"] == DAY_ONE + timedelta(seconds=200)
    assert deleted["sender_kind"] == "microsoftTeamsUser"
    assert deleted["sender_id"] == TEAMS_USER
    texts = [line.body for line in ORDER.lines]
    files = (tmp_path / "messages.parquet").read_bytes() + (
        tmp_path / "threads.parquet"
    ).read_bytes()
    assert [text for text in texts if text.encode() in files] == []


async def test_the_figures_of_a_simulated_archive_equal_those_worked_out_by_hand_from_its_blobs(
    storage: Storage, tmp_path: Path
):
    conversation = chat(20261204, Shape(threads=4, messages=30, participants=(2, 5)))
    await archive(storage, conversation.events)

    messages, threads = await exported(storage, tmp_path)

    expected_messages, expected_threads = await by_hand(storage)
    assert sorted(threads, key=lambda t: t["thread_id"]) == expected_threads
    assert sorted(messages, key=_in_order) == sorted(expected_messages, key=_in_order)
    assert any(m["edited"] for m in messages)
    assert any(m["deleted"] for m in messages)
    assert any(t["first_response_seconds"] is not None for t in threads)
    assert len({m["sender_id"] for m in messages}) > len(threads)


def _in_order(row: dict[str, Any]) -> tuple[str, Any, str]:
    return (row["thread_id"], row["created"], row["message_id"])


async def test_a_window_keeps_messages_composed_in_it_and_times_replies_among_them_alone(
    storage: Storage, tmp_path: Path
):
    await archive(storage, tuple(events()))
    since = DAY_ONE + timedelta(seconds=90)  # ORDER from Bob's "Let me check" on
    until = DAY_ONE + timedelta(hours=5)  # QUIET in, REFUND and the second day out

    messages, threads = await exported(storage, tmp_path, window=Window(since=since, until=until))

    assert [t["thread_id"] for t in threads] == [ORDER.thread_id, QUIET.thread_id]
    order = [m for m in messages if m["thread_id"] == ORDER.thread_id]
    assert [m["message_id"] for m in order] == [message_id(ORDER, ln) for ln in ORDER.lines[2:]]
    assert [m["reply_seconds"] for m in order] == [None, None, 60, 240]
    first, *_, last = ORDER.lines[2:]
    assert threads[0]["first_response_seconds"] == ORDER.lines[4].at - first.at
    assert threads[0]["duration_seconds"] == last.at - first.at


async def test_labels_add_display_names_and_topics_which_are_left_out_by_default(
    storage: Storage, tmp_path: Path
):
    await archive(storage, tuple(events((ORDER,))))

    plain = await exported(storage, tmp_path / "plain")
    labelled = await exported(storage, tmp_path / "labelled", labels=True)

    assert {m["sender_display_name"] for m in plain[0]} == {None}
    assert [t["topic"] for t in plain[1]] == [None]
    assert {m["sender_display_name"] for m in labelled[0]} == {"Bob(Admin)"}
    assert [t["topic"] for t in labelled[1]] == [ORDER.topic]
    about = json.loads(
        pq.read_schema(tmp_path / "labelled" / "threads.parquet").metadata[METADATA_KEY]
    )
    assert about["format"] == "acs-chat-archiver/analytics@1"
    assert (about["threads"], about["labels"], about["since"]) == ("all", True, None)


async def test_a_named_thread_the_archive_lacks_is_refused_before_a_file_is_made(
    storage: Storage, tmp_path: Path
):
    await archive(storage, tuple(events((ORDER,))))

    with pytest.raises(UnknownThread):
        await to_folder(
            storage, Analytics(threads=(ORDER.thread_id, "19:none@thread.v2")), tmp_path
        )

    assert names_in(tmp_path) == []


async def test_a_failed_export_leaves_neither_table_behind(storage: Storage, tmp_path: Path):
    await archive(storage, tuple(events((ORDER,))))
    key = encode_key(QUIET.thread_id, field="threadId")
    await storage.blobs.create(f"messages/{key}/1/{1:020d}-received.json", b"not a version")
    (tmp_path / "threads.parquet").write_bytes(b"an earlier export")

    with pytest.raises(DamagedArchive):
        await to_folder(storage, Analytics(), tmp_path)

    assert names_in(tmp_path) == ["threads.parquet"]
    assert (tmp_path / "threads.parquet").read_bytes() == b"an earlier export"


async def test_the_tables_go_to_the_analytics_container_create_only_and_nothing_to_the_archive(
    storage: Storage,
):
    await archive(storage, tuple(events((ORDER,))))
    before = [name async for name in storage.blobs.names()]
    names = blob_names("2026-11", at=DAY_ONE)

    written = await to_container(storage, Analytics(), CONTAINER, names)

    assert written == names == ["messages/2026-11.parquet", "threads/2026-11.parquet"]
    blobs = storage.container(CONTAINER)
    stored = {name: await blobs.read(name) for name in names}
    assert len(pq.read_table(io.BytesIO(stored[names[0]]))) == len(ORDER.lines)
    assert pq.read_table(io.BytesIO(stored[names[1]])).column("thread_id").to_pylist() == [
        ORDER.thread_id
    ]
    assert [name async for name in storage.blobs.names()] == before
    with pytest.raises(AlreadyStored):
        await to_container(storage, Analytics(), CONTAINER, names)


@pytest.mark.parametrize("name", ["../up", "a/./b", "a b", "x" * 1100])
def test_an_unsafe_blob_name_is_refused(name: str):
    with pytest.raises(InvalidQuery, match="not a safe blob name"):
        blob_names(name, at=DAY_ONE)


def test_each_table_has_a_folder_of_its_own_and_an_export_is_named_for_its_time_by_default():
    assert blob_names(None, at=DAY_ONE) == [
        "messages/20261102T090000Z.parquet",
        "threads/20261102T090000Z.parquet",
    ]
    assert blob_names("/monthly/2026-11.parquet", at=DAY_ONE) == [
        "messages/monthly/2026-11.parquet",
        "threads/monthly/2026-11.parquet",
    ]
