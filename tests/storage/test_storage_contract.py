"""The storage contract: every adapter (in-memory and Azure on Azurite) behaves alike."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from archiver.core.errors import (
    AlreadyStored,
    ConcurrentUpdate,
    InvalidQuery,
    NotFound,
    RowConflict,
)
from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import Hold, Scope
from archiver.core.layout import LatestRow
from archiver.core.records import Action
from archiver.core.threads import Member, ThreadRow
from archiver.core.transactions import MAX_OPERATIONS, RowWrite
from archiver.core.versions import Stamp
from archiver.storage.ports import Storage, StoredBlob, Window

THREAD_ID = "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2"


def row(**changes: object) -> LatestRow:
    values: dict[str, object] = {
        "thread_key": "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2",
        "message_key": "1613694358927",
        "thread_id": "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2",
        "message_id": "1613694358927",
        "version": 1613694358927,
        "action": Action.RECEIVED,
        "sender_id": "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7caf",
        "sender_kind": "communicationUser",
        "sender_display_name": "Bob(Admin)",
        "type": "text",
        "body": "Welcome to Azure Communication Services ✅ — ünïcødé 👋",
        "metadata": '{"key":"value"}',
        "compose_time": datetime(2021, 2, 19, 0, 25, 58, 927000, tzinfo=UTC),
        "edit_time": None,
        "delete_time": None,
        "blob_name": "messages/19:6e5d/1613694358927/00000001613694358927-received.json",
    }
    return LatestRow(**(values | changes))  # type: ignore[arg-type]


async def test_a_blob_is_created_once_and_a_second_create_is_a_duplicate(storage: Storage):
    await storage.blobs.create("messages/t/m/1-received.json", b'{"first": true}')

    with pytest.raises(AlreadyStored):
        await storage.blobs.create("messages/t/m/1-received.json", b'{"second": true}')

    assert await storage.blobs.read("messages/t/m/1-received.json") == b'{"first": true}'


async def test_a_blob_over_a_mebibyte_is_created_once_without_holding_up_the_event_loop(
    storage: Storage,
):
    # aiohttp warns (an error in this suite) when one bytes body passes 1 MiB: such a
    # blob goes up in blocks, committed create-only like any other.
    big = b'{"body": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    await storage.blobs.create("messages/t/m/2-received.json", big)

    with pytest.raises(AlreadyStored):
        await storage.blobs.create("messages/t/m/2-received.json", big + b" ")

    assert await storage.blobs.read("messages/t/m/2-received.json") == big


async def test_reading_a_blob_that_does_not_exist_raises_not_found(storage: Storage):
    with pytest.raises(NotFound):
        await storage.blobs.read("messages/nothing/here.json")


async def test_names_are_listed_in_lexicographic_order_under_a_prefix(storage: Storage):
    for name in [
        "messages/b/2.json",
        "threads/a/1.json",
        "messages/a/~2F~3F.json",
        "messages/a/19:x@thread.v2.json",
    ]:
        await storage.blobs.create(name, b"{}")

    names = [name async for name in storage.blobs.names("messages/")]

    assert names == [
        "messages/a/19:x@thread.v2.json",
        "messages/a/~2F~3F.json",
        "messages/b/2.json",
    ]


async def test_a_store_nothing_was_written_to_lists_no_names(settings):
    from archiver.storage.azure import AzureStorage
    from archiver.storage.memory import MemoryStorage

    unprepared = AzureStorage.from_settings(settings)
    try:
        for store in (unprepared, MemoryStorage()):
            assert [name async for name in store.blobs.names()] == []
    finally:
        await unprepared.close()


async def test_a_row_reads_back_exactly_as_written(storage: Storage):
    written = row(
        edit_time=datetime(2021, 2, 19, 0, 28, 20, 784000, tzinfo=UTC),
        action=Action.EDITED,
        truncated=True,
    )

    await storage.messages.insert(written)

    assert await storage.messages.get(written.thread_key, written.message_key) == written


async def test_empty_fields_of_a_deletion_read_back_as_none(storage: Storage):
    written = row(
        action=Action.DELETED,
        body=None,
        metadata=None,
        type=None,
        sender_display_name=None,
        delete_time=datetime(2021, 2, 19, 0, 43, 10, 140000, tzinfo=UTC),
    )

    await storage.messages.insert(written)

    assert await storage.messages.get(written.thread_key, written.message_key) == written


async def test_scan_yields_every_row_in_key_order_or_one_threads_rows(storage: Storage):
    rows = [
        row(thread_key="19:b@thread.v2", message_key="2"),
        row(thread_key="19:a@thread.v2", message_key="9"),
        row(thread_key="19:a@thread.v2", message_key="10"),
    ]
    for each in rows:
        await storage.messages.insert(each)

    everything = [(r.thread_key, r.message_key) async for r in storage.messages.scan()]
    one_thread = [r async for r in storage.messages.scan("19:a@thread.v2")]

    assert everything == [
        ("19:a@thread.v2", "10"),
        ("19:a@thread.v2", "9"),
        ("19:b@thread.v2", "2"),
    ]
    assert one_thread == [rows[2], rows[1]]


async def test_a_table_nothing_was_written_to_scans_no_rows(settings):
    from archiver.storage.azure import AzureStorage
    from archiver.storage.memory import MemoryStorage

    unprepared = AzureStorage.from_settings(settings)
    try:
        for store in (unprepared, MemoryStorage()):
            assert [r async for r in store.messages.scan()] == []
    finally:
        await unprepared.close()


async def test_a_second_insert_of_the_same_row_is_a_conflict(storage: Storage):
    await storage.messages.insert(row())

    with pytest.raises(ConcurrentUpdate):
        await storage.messages.insert(row(version=1613694358999))

    current = await storage.messages.get(row().thread_key, row().message_key)
    assert current is not None
    assert current.version == 1613694358927


async def test_current_is_none_when_there_is_no_row(storage: Storage):
    assert await storage.messages.current("19:none@thread.v2", "1") is None
    assert await storage.messages.get("19:none@thread.v2", "1") is None


async def test_current_reports_the_stamp_of_the_row(storage: Storage):
    await storage.messages.insert(row(version=2**62, action=Action.EDITED))

    current = await storage.messages.current(row().thread_key, row().message_key)

    assert current is not None
    assert current.stamp == Stamp.of(2**62, Action.EDITED)


async def test_replace_with_the_current_etag_succeeds_and_changes_the_etag(storage: Storage):
    await storage.messages.insert(row())
    before = await storage.messages.current(row().thread_key, row().message_key)
    assert before is not None

    await storage.messages.replace(
        row(version=1613694500784, action=Action.EDITED), etag=before.etag
    )

    after = await storage.messages.current(row().thread_key, row().message_key)
    assert after is not None
    assert after.stamp == Stamp.of(1613694500784, Action.EDITED)
    assert after.etag != before.etag


async def test_each_row_write_returns_the_etag_the_row_then_has(storage: Storage):
    inserted = await storage.messages.insert(row())
    after_insert = await storage.messages.current(row().thread_key, row().message_key)

    replaced = await storage.messages.replace(
        row(version=1613694500784, action=Action.EDITED), etag=inserted
    )
    after_replace = await storage.messages.current(row().thread_key, row().message_key)

    assert after_insert is not None
    assert after_replace is not None
    assert (inserted, replaced) == (after_insert.etag, after_replace.etag)


async def test_replace_with_a_stale_etag_is_a_conflict_and_changes_nothing(storage: Storage):
    await storage.messages.insert(row())
    stale = await storage.messages.current(row().thread_key, row().message_key)
    assert stale is not None
    await storage.messages.replace(row(version=2, action=Action.EDITED), etag=stale.etag)

    with pytest.raises(ConcurrentUpdate):
        await storage.messages.replace(row(version=3, action=Action.DELETED), etag=stale.etag)

    current = await storage.messages.current(row().thread_key, row().message_key)
    assert current is not None
    assert current.stamp == Stamp.of(2, Action.EDITED)


async def test_replace_of_a_row_that_does_not_exist_is_a_conflict(storage: Storage):
    with pytest.raises(ConcurrentUpdate):
        await storage.messages.replace(row(), etag="W/\"datetime'2021-02-19T00%3A25%3A59Z'\"")


async def test_prepare_can_run_again_and_keeps_what_is_stored(storage: Storage):
    await storage.blobs.create("messages/t/m/1-received.json", b"{}")
    await storage.messages.insert(row())

    await storage.prepare()
    await storage.ping()

    assert [name async for name in storage.blobs.names()] == ["messages/t/m/1-received.json"]
    assert await storage.messages.get(row().thread_key, row().message_key) == row()


def thread_row(**changes: object) -> ThreadRow:
    values: dict[str, object] = {
        "thread_key": THREAD_ID,
        "thread_id": THREAD_ID,
        "topic": "Claim #4471 — über ✅",
        "topic_version": 1613781114365,
        "metadata": {"case": "4471"},
        "metadata_version": 1613781114365,
        "created_by": "8:acs:109f0644_00000008-5cbb-38a0",
        "create_time": datetime(2021, 2, 20, 0, 31, 54, 365000, tzinfo=UTC),
        "last_activity": datetime(2021, 2, 20, 0, 54, 42, 862264, tzinfo=UTC),
        "members": (
            Member(raw_id="8:acs:a", display_name="Bob", version=1613781114365, present=True),
            Member(raw_id="8:acs:b", display_name=None, version=1613782482822, present=False),
            Member(raw_id="8:orgid:c", display_name="Dr. Ünal", version=2**62, present=True),
        ),
    }
    return ThreadRow(**(values | changes))  # type: ignore[arg-type]


async def test_a_thread_row_reads_back_exactly_as_written(storage: Storage):
    written = thread_row(
        deleted_by="8:acs:a",
        delete_time=datetime(2021, 2, 21, tzinfo=UTC),
        transcript_time=datetime(2021, 3, 1, 3, 0, tzinfo=UTC),
        transcript_activity=datetime(2021, 2, 21, tzinfo=UTC),
        truncated=True,
    )

    etag = await storage.threads.insert(written)

    known = await storage.threads.get(THREAD_ID)
    assert known is not None
    assert (known.row, known.etag) == (written, etag)


async def test_a_thread_row_with_only_its_id_reads_back_with_every_field_unknown(storage: Storage):
    written = ThreadRow(thread_key=THREAD_ID, thread_id=THREAD_ID)

    await storage.threads.insert(written)

    known = await storage.threads.get(THREAD_ID)
    assert known is not None
    assert known.row == written


async def test_participants_longer_than_one_table_property_read_back_whole(storage: Storage):
    members = tuple(
        Member(
            raw_id=f"8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-5cbb-{n:04d}",
            display_name=f"Participant {n} 👩🏽‍⚕️",
            version=1613781114365 + n,
            present=n % 3 != 0,
        )
        for n in range(500)
    )
    written = thread_row(members=members)

    await storage.threads.insert(written)

    known = await storage.threads.get(THREAD_ID)
    assert known is not None
    assert known.row.members == members


async def test_a_second_insert_of_a_thread_row_is_a_conflict(storage: Storage):
    await storage.threads.insert(thread_row())

    with pytest.raises(ConcurrentUpdate):
        await storage.threads.insert(thread_row(topic="other"))

    known = await storage.threads.get(THREAD_ID)
    assert known is not None
    assert known.row.topic == thread_row().topic


async def test_a_thread_row_is_replaced_only_with_its_current_etag(storage: Storage):
    first = await storage.threads.insert(thread_row())
    second = await storage.threads.replace(thread_row(topic="Renamed"), etag=first)

    with pytest.raises(ConcurrentUpdate):
        await storage.threads.replace(thread_row(topic="Stale"), etag=first)
    with pytest.raises(ConcurrentUpdate):
        await storage.threads.replace(thread_row(thread_key="19:none@thread.v2"), etag=second)

    known = await storage.threads.get(THREAD_ID)
    assert known is not None
    assert (known.row.topic, known.etag) == ("Renamed", second)
    assert second != first


async def test_thread_rows_scan_in_key_order_and_a_missing_one_is_none(storage: Storage):
    for key in ("19:b@thread.v2", "19:a@thread.v2"):
        await storage.threads.insert(thread_row(thread_key=key, thread_id=key))

    keys = [r.thread_key async for r in storage.threads.scan()]

    assert keys == ["19:a@thread.v2", "19:b@thread.v2"]
    assert await storage.threads.get("19:none@thread.v2") is None


async def test_a_thread_table_nothing_was_written_to_scans_no_rows(settings):
    from archiver.storage.azure import AzureStorage
    from archiver.storage.memory import MemoryStorage

    unprepared = AzureStorage.from_settings(settings)
    try:
        for store in (unprepared, MemoryStorage()):
            assert [r async for r in store.threads.scan()] == []
            assert await store.threads.get(THREAD_ID) is None
    finally:
        await unprepared.close()


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_a_streamed_blob_is_stored_whole_and_only_once(storage: Storage):
    big = b"x" * (5 * 1024 * 1024)  # more than one block
    await storage.blobs.create_from(
        "transcripts/t/1.csv", _chunks(b"a,b\r\n", big, b"end"), content_type="text/csv"
    )

    with pytest.raises(AlreadyStored):
        await storage.blobs.create_from(
            "transcripts/t/1.csv", _chunks(b"other"), content_type="text/csv"
        )

    assert await storage.blobs.read("transcripts/t/1.csv") == b"a,b\r\n" + big + b"end"


async def test_a_stream_that_fails_midway_stores_nothing(storage: Storage):
    async def failing():
        yield b"first part"
        raise NotFound("a blob the export needed vanished")

    with pytest.raises(NotFound):
        await storage.blobs.create_from("transcripts/t/2.json", failing(), content_type="x")

    assert [n async for n in storage.blobs.names("transcripts/")] == []


async def test_prefixes_are_the_folders_directly_under_a_prefix(storage: Storage):
    for name in ("messages/b/1/x.json", "messages/a/1/x.json", "messages/a/2/y.json", "threads/c"):
        await storage.blobs.create(name, b"{}")

    assert [p async for p in storage.blobs.prefixes("messages/")] == [
        "messages/a/",
        "messages/b/",
    ]
    assert [p async for p in storage.blobs.prefixes("messages/a/")] == [
        "messages/a/1/",
        "messages/a/2/",
    ]
    assert [p async for p in storage.blobs.prefixes("quarantine/")] == []


async def _all_pages(storage: Storage, window: Window, size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = await storage.messages.page(THREAD_ID, window, size=size, token=token)
        pages.append([r.message_key for r in page.rows])
        if page.token is None:
            return pages
        token = page.token


async def test_pages_hold_a_threads_rows_in_key_order_each_once(storage: Storage):
    for n in range(7):
        await storage.messages.insert(row(message_key=f"161369435892{n}"))
    await storage.messages.insert(row(thread_key="19:other@thread.v2"))

    pages = await _all_pages(storage, Window(), size=3)

    assert [key for page in pages for key in page] == [f"161369435892{n}" for n in range(7)]
    assert all(len(page) <= 3 for page in pages)


async def test_a_window_keeps_rows_composed_in_it_and_may_leave_deletions_out(storage: Storage):
    start = datetime(2021, 2, 19, tzinfo=UTC)
    for n in range(6):
        await storage.messages.insert(
            row(
                message_key=str(n),
                compose_time=start + timedelta(hours=n),
                action=Action.DELETED if n == 3 else Action.RECEIVED,
            )
        )
    window = Window(
        since=start + timedelta(hours=1), until=start + timedelta(hours=5), include_deleted=False
    )

    pages = await _all_pages(storage, window, size=2)

    assert [key for page in pages for key in page] == ["1", "2", "4"]


async def test_a_token_the_table_did_not_issue_is_an_invalid_query(storage: Storage):
    for token in ("not base64 at all!", "eyJ4Ijog", "W10="):
        with pytest.raises(InvalidQuery):
            await storage.messages.page(THREAD_ID, Window(), size=5, token=token)


async def test_a_thread_without_rows_has_one_empty_last_page(storage: Storage):
    page = await storage.messages.page("19:none@thread.v2", Window(), size=5)

    assert (page.rows, page.token) == ((), None)


async def _put_dead_letters(storage: Storage, container: str, blobs: dict[str, bytes]) -> None:
    from archiver.storage.memory import MemoryStorage

    if isinstance(storage, MemoryStorage):
        storage.dead_letters(container).contents = dict(blobs)
        return
    client = storage._blob_service.get_container_client(container)  # type: ignore[attr-defined]
    await client.create_container()
    for name, content in blobs.items():
        await client.upload_blob(name, content)


async def test_a_dead_letter_moves_aside_once_and_a_repeated_move_changes_nothing(
    storage: Storage,
):
    container = f"dead-{uuid.uuid4().hex[:12]}"
    box = storage.dead_letters(container)
    assert not await box.exists()
    await _put_dead_letters(
        storage, container, {"S/2026/1/2/3/a.json": b"[1]", "S/2026/1/2/3/b.json": b"[2]"}
    )

    await box.move("S/2026/1/2/3/a.json", "replayed/S/2026/1/2/3/a.json")
    await box.move("S/2026/1/2/3/a.json", "replayed/S/2026/1/2/3/a.json")

    assert await box.exists()
    assert [n async for n in box.names()] == ["S/2026/1/2/3/b.json", "replayed/S/2026/1/2/3/a.json"]
    assert await box.read("replayed/S/2026/1/2/3/a.json") == b"[1]"
    with pytest.raises(NotFound):
        await box.read("S/2026/1/2/3/a.json")


# --- Table transactions: one thread's rows, all or nothing ---------------------------


def message(number: int, **changes: object) -> LatestRow:
    key = str(1613694358900 + number)
    return row(message_key=key, message_id=key, version=int(key), **changes)


async def test_a_transaction_inserts_and_replaces_one_threads_rows_at_once(storage: Storage):
    first = await storage.messages.insert(message(1))

    etags = await storage.messages.transact(
        [
            RowWrite(message(1, action=Action.EDITED, body="edited"), etag=first),
            RowWrite(message(2), etag=None),
            RowWrite(message(3), etag=None),
        ]
    )

    assert [r.body async for r in storage.messages.scan()] == ["edited", row().body, row().body]
    current = [await storage.messages.current(THREAD_ID, message(n).message_key) for n in (1, 2, 3)]
    assert [c.etag for c in current if c is not None] == etags
    # Rows written in one transaction may share a timestamp, hence an etag (Azurite's
    # differ by 100 ns at most); what matters is each row's etag is its current one.
    assert etags[0] != first


async def test_a_transaction_of_a_hundred_rows_is_written_whole(storage: Storage):
    writes = [RowWrite(message(n), etag=None) for n in range(MAX_OPERATIONS)]

    etags = await storage.messages.transact(writes)

    assert len(etags) == MAX_OPERATIONS
    assert len([r async for r in storage.messages.scan(THREAD_ID)]) == MAX_OPERATIONS


@pytest.mark.parametrize("lost", ["insert of an existing row", "replace with a stale etag"])
async def test_a_transaction_with_one_lost_race_writes_nothing_and_names_it(
    storage: Storage, lost: str
):
    stale = await storage.messages.insert(message(5))
    fresh = await storage.messages.replace(message(5, body="moved on"), etag=stale)
    loser = (
        RowWrite(message(5, body="mine"), etag=None)
        if lost.startswith("insert")
        else RowWrite(message(5, body="mine"), etag=stale)
    )

    with pytest.raises(RowConflict) as refused:
        await storage.messages.transact(
            [RowWrite(message(1), etag=None), RowWrite(message(2), etag=None), loser]
        )

    assert refused.value.index == 2
    assert isinstance(refused.value, ConcurrentUpdate)
    assert [r.message_key async for r in storage.messages.scan()] == [message(5).message_key]
    assert await storage.messages.get(THREAD_ID, message(5).message_key) == message(
        5, body="moved on"
    )
    assert (await storage.messages.current(THREAD_ID, message(5).message_key)).etag == fresh  # type: ignore[union-attr]


async def test_a_transaction_replacing_a_row_that_is_gone_writes_nothing(storage: Storage):
    with pytest.raises(RowConflict) as refused:
        await storage.messages.transact(
            [
                RowWrite(message(1), etag=None),
                RowWrite(message(2), etag="W/\"datetime'2021-02-19T00%3A25%3A59Z'\""),
            ]
        )

    assert refused.value.index == 1
    assert [r async for r in storage.messages.scan()] == []


@pytest.mark.parametrize(
    "writes",
    [
        [],
        [RowWrite(message(n), etag=None) for n in range(MAX_OPERATIONS + 1)],
        [RowWrite(message(1), etag=None), RowWrite(message(1, body="again"), etag=None)],
        [RowWrite(message(1), etag=None), RowWrite(message(2, thread_key="other"), etag=None)],
    ],
    ids=["empty", "over 100", "a row twice", "two threads"],
)
async def test_a_transaction_no_table_could_take_is_refused_before_any_request(
    storage: Storage, writes: list[RowWrite]
):
    with pytest.raises(ValueError, match="transaction"):
        await storage.messages.transact(writes)

    assert [r async for r in storage.messages.scan()] == []


async def test_a_created_blob_records_the_sha256_of_its_bytes_in_the_same_write(
    storage: Storage,
):
    content = b'{"body": "\xc3\xbcn\xc3\xafc\xc3\xb8d\xc3\xa9"}'

    returned = await storage.blobs.create("messages/t/m/1-received.json", content)

    assert returned == hashlib.sha256(content).hexdigest()
    assert await storage.blobs.recorded_sha256("messages/t/m/1-received.json") == returned
    [listed] = [blob async for blob in storage.blobs.listing("messages/")]
    assert (listed.name, listed.size, listed.sha256) == (
        "messages/t/m/1-received.json",
        len(content),
        returned,
    )
    assert listed.created is not None


async def test_a_streamed_blob_records_the_sha256_of_all_its_chunks(storage: Storage):
    big = b"y" * (5 * 1024 * 1024)  # more than one block

    returned = await storage.blobs.create_from(
        "transcripts/t/3.csv", _chunks(b"head\r\n", big), content_type="text/csv"
    )

    assert returned == hashlib.sha256(b"head\r\n" + big).hexdigest()
    assert await storage.blobs.recorded_sha256("transcripts/t/3.csv") == returned
    assert [(b.name, b.size, b.sha256) async for b in storage.blobs.listing("transcripts/")] == [
        ("transcripts/t/3.csv", len(big) + 6, returned)
    ]


async def test_a_listing_is_in_name_order_under_a_prefix_and_reads_no_content(
    storage: Storage,
):
    for name in ("threads/a/2.json", "messages/x.json", "threads/a/1.json", "threads/b.json"):
        await storage.blobs.create(name, name.encode())

    listed: list[StoredBlob] = [blob async for blob in storage.blobs.listing("threads/a/")]

    assert [(b.name, b.sha256) for b in listed] == [
        ("threads/a/1.json", hashlib.sha256(b"threads/a/1.json").hexdigest()),
        ("threads/a/2.json", hashlib.sha256(b"threads/a/2.json").hexdigest()),
    ]


async def test_the_recorded_sha256_of_a_missing_blob_is_not_found(storage: Storage):
    with pytest.raises(NotFound):
        await storage.blobs.recorded_sha256("messages/nothing/here.json")


async def test_a_row_keeps_the_sha256_of_its_blob(storage: Storage):
    written = row(sha256="ab" * 32)
    await storage.messages.insert(written)

    assert await storage.messages.get(written.thread_key, written.message_key) == written


async def test_a_deleted_blob_is_gone_and_deleting_it_again_is_fine(storage: Storage):
    await storage.blobs.create("messages/t/m/1-received.json", b"{}")

    await storage.blobs.delete("messages/t/m/1-received.json")
    await storage.blobs.delete("messages/t/m/1-received.json")

    assert [name async for name in storage.blobs.names()] == []
    with pytest.raises(NotFound):
        await storage.blobs.read("messages/t/m/1-received.json")


async def test_another_container_keeps_the_create_only_contract_apart_from_the_archive(
    storage: Storage,
):
    name = f"chat-checkpoints-{uuid.uuid4().hex[:12]}"
    await storage.prepare_container(name)
    await storage.prepare_container(name)  # again: nothing changes
    other = storage.container(name)

    digest = await other.create("checkpoints/0.json", b"{}")
    with pytest.raises(AlreadyStored):
        await other.create("checkpoints/0.json", b"[]")

    assert await other.read("checkpoints/0.json") == b"{}"
    assert [b.sha256 async for b in other.listing("checkpoints/")] == [digest]
    assert [n async for n in storage.blobs.names("checkpoints/")] == []


async def test_deleted_rows_are_gone_and_deleting_them_again_is_fine(storage: Storage):
    written = row()
    await storage.messages.insert(written)
    await storage.threads.insert(ThreadRow(thread_key=written.thread_key, thread_id=THREAD_ID))

    for _ in range(2):
        await storage.messages.delete(written.thread_key, written.message_key)
        await storage.threads.delete(written.thread_key)

    assert await storage.messages.get(written.thread_key, written.message_key) is None
    assert await storage.threads.get(written.thread_key) is None


async def test_a_row_is_deleted_with_an_etag_only_while_it_still_has_that_etag(
    storage: Storage,
):
    written = row()
    first = await storage.messages.insert(written)
    thread = ThreadRow(thread_key=written.thread_key, thread_id=THREAD_ID)
    thread_etag = await storage.threads.insert(thread)
    await storage.messages.replace(replace(written, version=written.version + 1), etag=first)
    await storage.threads.replace(replace(thread, topic="moved on"), etag=thread_etag)

    with pytest.raises(ConcurrentUpdate):
        await storage.messages.delete(written.thread_key, written.message_key, etag=first)
    with pytest.raises(ConcurrentUpdate):
        await storage.threads.delete(written.thread_key, etag=thread_etag)
    current = await storage.messages.current(written.thread_key, written.message_key)
    known = await storage.threads.get(written.thread_key)
    assert current is not None
    assert known is not None
    await storage.messages.delete(written.thread_key, written.message_key, etag=current.etag)
    await storage.threads.delete(written.thread_key, etag=known.etag)
    await storage.threads.delete(written.thread_key, etag=known.etag)  # gone already: fine

    assert await storage.messages.get(written.thread_key, written.message_key) is None
    assert await storage.threads.get(written.thread_key) is None


HELD_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def hold(matter: str | None = "CASE-4471", **changes: object) -> Hold:
    values: dict[str, object] = {
        "scope": Scope.THREAD,
        "target": "19:hold@thread.v2",
        "matter": matter,
        "reason": "Litigation: Contoso v. Fabrikam ✅",
        "placed_by": "Ada (oid 1234)",
        "placed_at": HELD_AT,
    }
    return Hold(**(values | changes))  # type: ignore[arg-type]


async def test_two_matters_holding_one_thread_are_two_rows_each_replaced_only_with_its_etag(
    storage: Storage,
):
    first, second = hold("CASE-4471"), hold("CASE-9000", reason="Regulator's inquiry")
    etag = await storage.holds.insert(first)
    await storage.holds.insert(second)
    with pytest.raises(ConcurrentUpdate):
        await storage.holds.insert(first)

    released = replace(
        first,
        held=False,
        release_reason="settled",
        released_by="Ada",
        released_at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    await storage.holds.replace(released, etag=etag)
    with pytest.raises(ConcurrentUpdate):
        await storage.holds.replace(first, etag=etag)

    known = await storage.holds.get(first.scope_key, first.matter_key)
    assert known is not None
    assert known.row == released
    assert [r async for r in storage.holds.scan(first.scope_key)] == [released, second]
    assert await storage.holds.get(first.scope_key, "CASE-1") is None
    assert await storage.holds.get("19:other@thread.v2", first.matter_key) is None


async def test_a_hold_row_is_deleted_only_while_it_has_its_etag(storage: Storage):
    placed = hold()
    etag = await storage.holds.insert(placed)
    newer = await storage.holds.replace(replace(placed, reason="Amended"), etag=etag)

    with pytest.raises(ConcurrentUpdate):
        await storage.holds.delete(placed, etag=etag)
    await storage.holds.delete(placed, etag=newer)
    await storage.holds.delete(placed, etag=newer)  # gone already: fine

    assert [r async for r in storage.holds.scan()] == []


async def test_a_custodian_hold_never_shares_a_row_with_a_thread_named_like_its_key(
    storage: Storage,
):
    custodian = hold(scope=Scope.PARTICIPANT, target="8:acs:1234")
    lookalike = hold(target=custodian.scope_key)  # a thread id "~participant:8:acs:1234"
    await storage.holds.insert(custodian)
    await storage.holds.insert(lookalike)

    assert custodian.scope_key != lookalike.scope_key
    assert [r async for r in storage.holds.scan(custodian.scope_key)] == [custodian]
    assert [r async for r in storage.holds.scan(lookalike.scope_key)] == [lookalike]
    targets = [r.target async for r in storage.holds.scan() if isinstance(r, Hold)]
    assert sorted(targets) == ["8:acs:1234", "~participant:8:acs:1234"]


async def test_a_threads_own_row_reads_back_as_written_beside_its_holds(storage: Storage):
    state = ThreadState(
        thread_key="19:hold@thread.v2",
        thread_id="19:hold@thread.v2",
        claimed_at=HELD_AT,
        confirmed_at=HELD_AT + timedelta(seconds=1),
        plan="audit/2026/12/03/090001-0193a4f1c2e07000a1b2c3d4e5f60718.json",
        planned_etag="W/\"datetime'2026-12-03T09%3A00%3A00.0000000Z'\"",
        hold_changed_at=HELD_AT,
        flagged=True,
        legacy=hold(None, case="CASE-1"),
    )
    etag = await storage.holds.insert(state)
    await storage.holds.insert(hold())
    with pytest.raises(ConcurrentUpdate):
        await storage.holds.insert(state)
    done = replace(state, claimed_at=None, confirmed_at=None, disposed_at=HELD_AT)
    await storage.holds.replace(done, etag=etag)
    with pytest.raises(ConcurrentUpdate):
        await storage.holds.replace(state, etag=etag)

    known = await storage.holds.state(state.thread_key)
    assert known is not None
    assert known.row == done
    assert [r async for r in storage.holds.scan()] == [done, hold()]
    assert await storage.holds.get(state.thread_key, "") is None
    assert await storage.holds.state("19:other@thread.v2") is None


async def test_no_blob_is_listed_as_under_legal_hold_before_a_flag_is_set(storage: Storage):
    await storage.blobs.create("messages/t/m/1-received.json", b"{}")

    assert [name async for name in storage.blobs.legal_holds()] == []
    assert [name async for name in storage.blobs.legal_holds("messages/")] == []
