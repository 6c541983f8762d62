"""The key table's contract: wrapped keys behave alike in memory and on Azurite.

Keys are created once, re-wrapped only by ETag, and destroyed by a write that leaves a
tombstone without key material; a subject's keys are one partition, read in key order.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables.aio import TableClient

from archiver.core.errors import AlreadyStored, ConcurrentUpdate, DamagedArchive
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from archiver.storage.keyports import (
    MAX_WRAPPED_BYTES,
    KeyKind,
    KeyState,
    WrappedKey,
)
from archiver.storage.ports import Storage

ROOT = "https://contoso-vault.vault.azure.net/keys/archive-root/0123456789abcdef"
RESTRICTION = "restriction-2026"
CREATED = datetime(2026, 12, 3, 9, 15, 30, 123456, tzinfo=UTC)


def new_id() -> str:
    """An opaque id, as the archiver mints one."""
    return uuid.uuid4().hex


def subject_key(subject: str, **changes: object) -> WrappedKey:
    """A subject's key, wrapped by the root key."""
    values: dict[str, object] = {
        "subject_id": subject,
        "key_id": subject,
        "wrapped": secrets.token_bytes(40),
        "wrapped_by": ROOT,
        "state": KeyState.ACTIVE,
        "created": CREATED,
        "changed": CREATED,
    }
    return WrappedKey(**(values | changes))  # type: ignore[arg-type]


def data_key(subject: str, key: str | None = None, **changes: object) -> WrappedKey:
    """One version's data key, wrapped by its subject's key."""
    values: dict[str, object] = {"key_id": new_id() if key is None else key, "wrapped_by": subject}
    return subject_key(subject, **(values | changes))


async def test_a_key_is_created_once_and_a_second_insert_of_its_id_changes_nothing(
    storage: Storage,
):
    subject = new_id()
    first = subject_key(subject)
    etag = await storage.keys.insert(first)

    with pytest.raises(AlreadyStored):
        await storage.keys.insert(subject_key(subject))

    found = await storage.keys.get(subject, subject)
    assert found is not None
    assert (found.row, found.etag) == (first, etag)
    assert found.row.kind is KeyKind.SUBJECT
    assert await storage.keys.get(subject, new_id()) is None
    assert await storage.keys.get(new_id(), subject) is None


async def test_a_new_subject_key_and_its_first_data_key_are_written_together(storage: Storage):
    subject = new_id()
    rows = [subject_key(subject), data_key(subject)]

    etags = await storage.keys.insert_all(rows)

    found = [await storage.keys.get(r.subject_id, r.key_id) for r in rows]
    assert [(k.row, k.etag) for k in found if k is not None] == list(zip(rows, etags, strict=True))
    assert [r.kind for r in rows] == [KeyKind.SUBJECT, KeyKind.DATA]


async def test_a_transaction_with_one_key_that_exists_writes_none_of_them(storage: Storage):
    subject = new_id()
    taken = data_key(subject)
    await storage.keys.insert(taken)
    fresh = [subject_key(subject), data_key(subject)]

    with pytest.raises(AlreadyStored):
        await storage.keys.insert_all([*fresh, data_key(subject, taken.key_id)])

    assert [await storage.keys.get(r.subject_id, r.key_id) for r in fresh] == [None, None]
    assert [k.row async for k in storage.keys.subject_keys(subject)] == [taken]


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([], id="none"),
        pytest.param([data_key("s-a"), data_key("s-b")], id="two subjects"),
        pytest.param([data_key("s-a", "d-1"), data_key("s-a", "d-1")], id="one key twice"),
        pytest.param([data_key("s-a") for _ in range(101)], id="over a hundred"),
    ],
)
async def test_a_transaction_that_cannot_be_one_is_refused_before_any_write(
    storage: Storage, rows: list[WrappedKey]
):
    with pytest.raises(ValueError, match="transaction"):
        await storage.keys.insert_all(rows)

    assert [k async for k in storage.keys.subject_keys("s-a")] == []


async def test_a_key_restricted_under_the_two_admin_key_stays_in_its_subjects_partition(
    storage: Storage,
):
    subject = new_id()
    key = data_key(subject)
    etag = await storage.keys.insert(key)
    restricted = data_key(
        subject,
        key.key_id,
        wrapped=secrets.token_bytes(60),
        wrapped_by=RESTRICTION,
        state=KeyState.RESTRICTED,
        changed=CREATED + timedelta(days=1),
    )

    new = await storage.keys.replace(restricted, etag=etag)

    assert new != etag
    assert [(k.row, k.etag) async for k in storage.keys.subject_keys(subject)] == [
        (restricted, new)
    ]


async def test_a_replace_with_a_stale_etag_loses_and_changes_nothing(storage: Storage):
    subject = new_id()
    stale = await storage.keys.insert(subject_key(subject))
    rewrapped = subject_key(subject, wrapped_by=ROOT + "-next")
    current = await storage.keys.replace(rewrapped, etag=stale)

    with pytest.raises(ConcurrentUpdate):
        await storage.keys.replace(subject_key(subject), etag=stale)
    with pytest.raises(ConcurrentUpdate):
        await storage.keys.replace(subject_key(new_id()), etag=current)  # never there

    found = await storage.keys.get(subject, subject)
    assert found is not None
    assert (found.row, found.etag) == (rewrapped, current)


async def test_destroying_a_key_leaves_a_tombstone_without_key_bytes(storage: Storage):
    subject = new_id()
    key = data_key(subject)
    etag = await storage.keys.insert(key)
    at = CREATED + timedelta(days=30)

    tombstone_etag = await storage.keys.destroy(subject, key.key_id, etag=etag, at=at)

    found = await storage.keys.get(subject, key.key_id)
    assert found is not None
    assert found.etag == tombstone_etag != etag
    assert found.row.state is KeyState.DESTROYED
    assert found.row.wrapped == b""
    # What wrapped it and when it was made stay: the receipt names them, no key does.
    assert (found.row.wrapped_by, found.row.created, found.row.changed) == (subject, CREATED, at)
    assert [k.row async for k in storage.keys.subject_keys(subject)] == [found.row]


async def test_a_destroy_with_a_stale_etag_loses_and_the_key_survives(storage: Storage):
    subject = new_id()
    key = subject_key(subject)
    stale = await storage.keys.insert(key)
    current = await storage.keys.replace(key, etag=stale)

    with pytest.raises(ConcurrentUpdate):
        await storage.keys.destroy(subject, subject, etag=stale, at=CREATED)
    with pytest.raises(ConcurrentUpdate):
        await storage.keys.destroy(subject, new_id(), etag=current, at=CREATED)  # never there

    found = await storage.keys.get(subject, subject)
    assert found is not None
    assert (found.row, found.etag) == (key, current)


async def test_a_destroyed_key_is_never_written_again(storage: Storage):
    subject = new_id()
    key = data_key(subject)
    etag = await storage.keys.insert(key)
    tombstone = await storage.keys.destroy(subject, key.key_id, etag=etag, at=CREATED)

    with pytest.raises(ConcurrentUpdate):
        await storage.keys.replace(key, etag=tombstone)
    with pytest.raises(AlreadyStored):
        await storage.keys.insert(key)
    with pytest.raises(ValueError, match="destroy"):
        await storage.keys.replace(
            data_key(subject, key.key_id, wrapped=b"", state=KeyState.DESTROYED), etag=tombstone
        )

    found = await storage.keys.get(subject, key.key_id)
    assert found is not None
    assert found.row.wrapped == b""
    assert found.etag == tombstone


async def test_of_a_restriction_and_a_destruction_at_once_exactly_one_is_written(
    storage: Storage,
):
    subject = new_id()
    key = data_key(subject)
    etag = await storage.keys.insert(key)
    restricted = data_key(subject, key.key_id, wrapped_by=RESTRICTION, state=KeyState.RESTRICTED)

    outcomes = await asyncio.gather(
        storage.keys.replace(restricted, etag=etag),
        storage.keys.destroy(subject, key.key_id, etag=etag, at=CREATED),
        return_exceptions=True,
    )

    lost = [o for o in outcomes if isinstance(o, BaseException)]
    won = [o for o in outcomes if isinstance(o, str)]
    assert [type(e) for e in lost] == [ConcurrentUpdate]
    assert len(won) == 1
    found = await storage.keys.get(subject, key.key_id)
    assert found is not None
    assert found.etag == won[0]


async def test_every_key_of_a_subject_comes_in_key_order_across_pages(storage: Storage):
    subject, neighbour = new_id(), new_id()
    # More than one table page holds (1,000), written a transaction (100) at a time.
    keys = [data_key(subject) for _ in range(1050)]
    own = subject_key(subject)
    await storage.keys.insert_all([own, *keys[:99]])
    for start in range(99, len(keys), 100):
        await storage.keys.insert_all(keys[start : start + 100])
    await storage.keys.insert_all([subject_key(neighbour), data_key(neighbour)])

    listed = [k.row async for k in storage.keys.subject_keys(subject)]

    assert listed == [own, *sorted(keys, key=lambda k: k.key_id)]


async def test_subjects_lists_every_subject_key_and_no_data_key(storage: Storage):
    subjects = [new_id() for _ in range(3)]
    for subject in subjects:
        await storage.keys.insert_all([subject_key(subject), data_key(subject)])
    await storage.keys.insert(data_key(new_id()))  # a data key whose subject key is elsewhere

    listed = [k.row async for k in storage.keys.subjects()]

    assert [k.key_id for k in listed] == sorted(subjects)
    assert {k.kind for k in listed} == {KeyKind.SUBJECT}


async def test_the_largest_wrapped_key_is_kept_byte_for_byte(storage: Storage):
    subject = new_id()
    largest = subject_key(subject, wrapped=secrets.token_bytes(MAX_WRAPPED_BYTES))

    await storage.keys.insert(largest)

    found = await storage.keys.get(subject, subject)
    assert found is not None
    assert found.row.wrapped == largest.wrapped


@pytest.mark.parametrize(
    "bad",
    ["", "a/b", "a\\b", "a#b", "a?b", "a b", "o'brien", "jöran", "a\x00b", "x" * 129],
)
async def test_an_id_that_is_not_an_opaque_table_key_is_refused_before_any_request(
    storage: Storage, bad: str
):
    with pytest.raises(ValueError, match="key id"):
        data_key("s-a", bad)
    with pytest.raises(ValueError, match="key id"):
        subject_key(bad)
    with pytest.raises(ValueError, match="key id"):
        await storage.keys.get(bad, "d-1")
    with pytest.raises(ValueError, match="key id"):
        await storage.keys.destroy("s-a", bad, etag='W/"1"', at=CREATED)
    with pytest.raises(ValueError, match="key id"):
        [k async for k in storage.keys.subject_keys(bad)]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        pytest.param({"wrapped": b""}, "no bytes", id="a live key without bytes"),
        pytest.param({"state": KeyState.DESTROYED}, "no bytes", id="a destroyed key with bytes"),
        pytest.param({"wrapped": bytes(MAX_WRAPPED_BYTES + 1)}, "4096", id="more than 4 KiB"),
        pytest.param({"wrapped_by": ""}, "wrapped_by", id="wrapped by nothing"),
        pytest.param({"created": datetime(2026, 12, 3)}, "zone", id="a time without its zone"),
    ],
)
def test_a_row_that_breaks_the_rules_of_a_key_cannot_be_made(changes: dict[str, object], says: str):
    with pytest.raises(ValueError, match=says):
        data_key("s-a", "d-1", **changes)


async def test_the_table_holds_exactly_the_opaque_ids_given_and_no_other_name(
    settings: Settings,
):
    storage = AzureStorage.from_settings(settings)
    await storage.prepare()
    subject = new_id()
    own, key = subject_key(subject), data_key(subject)
    try:
        await storage.keys.insert_all([own, key])
    finally:
        await storage.close()

    connection = settings.storage.connection_string
    assert connection is not None
    async with TableClient.from_connection_string(connection, settings.keys.table) as table:
        entities = [e async for e in table.list_entities()]

    assert [(e["PartitionKey"], e["RowKey"]) for e in entities] == [
        (subject, ""),
        (subject, key.key_id),
    ]
    for entity, row in zip(entities, (own, key), strict=True):
        assert set(entity) == {
            "PartitionKey",
            "RowKey",
            "kind",
            "wrapped",
            "wrappedBy",
            "state",
            "createdAt",
            "changedAt",
            "blob",  # a data key's version blob: a name, no personal data
            "receipt",  # the erasure receipt that destroyed or restricted it, once one has
        }
        assert base64.b64decode(entity["wrapped"]) == row.wrapped
        assert (entity["kind"], entity["state"]) == (str(row.kind), "active")


async def test_a_row_this_archiver_did_not_write_is_reported_as_damage(settings: Settings):
    storage = AzureStorage.from_settings(settings)
    await storage.prepare()
    subject = new_id()
    connection = settings.storage.connection_string
    assert connection is not None
    async with TableClient.from_connection_string(connection, settings.keys.table) as table:
        await table.create_entity({"PartitionKey": subject, "RowKey": "", "wrapped": "!!"})
    try:
        with pytest.raises(DamagedArchive, match=subject):
            await storage.keys.get(subject, subject)
    finally:
        await storage.close()


async def test_a_data_key_names_its_blob_and_its_tombstone_the_receipt(storage: Storage):
    subject = new_id()
    own = subject_key(subject)
    key = dataclasses.replace(
        data_key(subject), blob="messages/t/m/00000000000000000001-received.json"
    )
    [_, etag] = await storage.keys.insert_all([own, key])

    await storage.keys.destroy(
        subject, key.key_id, etag=etag, at=CREATED, receipt="0123456789abcdef"
    )

    found = await storage.keys.get(subject, key.key_id)
    assert found is not None
    assert (found.row.blob, found.row.receipt, found.row.state) == (
        key.blob,
        "0123456789abcdef",
        KeyState.DESTROYED,
    )
