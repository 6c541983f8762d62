"""Envelope mode on each storage adapter: a version's blob is an envelope that says
nothing of its text or its sender, its key is committed before it, everything that reads
versions gets the plain document back, and a destroyed key leaves exactly its version
unreadable. Written from issue 26's first part."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.envelopes import read_header
from archiver.core.erasure.keys import LocalKeyWrapper, new_key
from archiver.core.errors import ConfigurationError, Erased, UnreadableEnvelope
from archiver.core.events import classify
from archiver.core.keysettings import KeySettings, RootKey
from archiver.core.settings import Settings
from archiver.retrieval.readback import every_version, latest
from archiver.storage.azure import AzureStorage
from archiver.storage.keyports import KeyKind, KeyState
from archiver.storage.keyring import PSEUDONYMS_ID
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage, Window
from archiver.storage.versions import is_envelope
from tests.builders import ALICE, BOB, message_event

THREAD = "19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2"
CARD = "4111 1111 1111 1111"
ROOT = new_key()


def said(
    n: int,
    *,
    sender: str = ALICE,
    body: str | None = None,
    action: str = "received",
    thread: str = THREAD,
):
    return message_event(
        action,
        thread_id=thread,
        message_id=str(1700000000000 + n),
        sender=sender,
        body=body if body is not None else f"message {n}: my card is {CARD}",
        time=f"2026-11-02T09:{n:02d}:00Z",
    )


class Adapters:
    """Envelope-mode storage of either adapter over one set of tables, so a second
    process (another root key, no key, plain mode) can be opened on the same archive."""

    def __init__(self, kind: str, settings: Settings | None) -> None:
        self.kind = kind
        self.settings = settings
        self.memory: MemoryStorage | None = None
        self.opened: list[AzureStorage] = []
        self.requests: list[str] = []

    async def open(self, root: bytes | None = ROOT, *, sealing: bool = True) -> Storage:
        wrapper = None if root is None else LocalKeyWrapper(root)
        if self.kind == "memory":
            if self.memory is None:
                self.memory = MemoryStorage(root_key=wrapper, sealing=sealing)
                return self.memory
            return self.memory.sibling(root_key=wrapper, sealing=sealing)
        assert self.settings is not None
        key = None if root is None else RootKey(material=root)
        keys = KeySettings(table=self.settings.keys.table, envelope=sealing, root_key=key)
        azure = AzureStorage.from_settings(
            replace(self.settings, keys=keys), request_hook=self._count
        )
        await azure.prepare()
        self.opened.append(azure)
        return azure

    def _count(self, request) -> None:
        self.requests.append(f"{request.http_request.method} {request.http_request.url}")

    async def close(self) -> None:
        for azure in self.opened:
            await azure.close()


@pytest.fixture(params=["memory", "azurite"])
async def adapters(request: pytest.FixtureRequest) -> AsyncIterator[Adapters]:
    settings = request.getfixturevalue("settings") if request.param == "azurite" else None
    opened = Adapters(request.param, settings)
    yield opened
    await opened.close()


async def store(storage: Storage, *events: dict) -> None:
    await Archive(storage, concurrency=8, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in events]
    )


async def blob_names(storage: Storage) -> list[str]:
    return [name async for name in storage.blobs.names("messages/")]


async def test_a_version_blob_is_an_envelope_that_names_neither_text_nor_sender(adapters):
    storage = await adapters.open()

    await store(storage, said(1))

    [name] = await blob_names(storage)
    content = await storage.blobs.read(name)
    assert is_envelope(content)
    for secret in (CARD, ALICE, "message 1"):
        assert secret.encode() not in content
    header = read_header(content)
    assert (header.thread_id, header.message_id, header.version) == (
        THREAD,
        "1700000000001",
        1700000000001,
    )
    assert ALICE not in json.dumps([k.row.subject_id async for k in storage.keys.subjects()])


async def test_every_reader_gets_the_plain_document_back(adapters):
    sealed = await adapters.open()
    await store(sealed, said(1), said(1, action="edited", body="fixed"), said(2, sender=BOB))

    entries = [e async for e in latest(sealed, THREAD, Window())]
    every = [e async for e in every_version(sealed, THREAD, Window())]

    assert [e["body"] for e in entries] == ["fixed", f"message 2: my card is {CARD}"]
    assert [e["senderId"] for e in entries] == [ALICE, BOB]
    assert [e["body"] for e in every] == [
        f"message 1: my card is {CARD}",
        "fixed",
        entries[1]["body"],
    ]
    [name, *_] = await blob_names(sealed)
    document = json.loads(await sealed.versions.read(name))
    assert (document["senderId"], document["body"]) == (ALICE, f"message 1: my card is {CARD}")


async def test_the_latest_row_holds_what_it_holds_in_plain_mode(adapters):
    storage = await adapters.open()

    await store(storage, said(1))

    [row] = [r async for r in storage.messages.scan()]
    assert (row.body, row.sender_id) == (f"message 1: my card is {CARD}", ALICE)


async def test_each_sender_has_a_subject_key_and_each_version_a_data_key(adapters):
    storage = await adapters.open()

    await store(storage, said(1), said(2), said(3, sender=BOB), said(1, action="edited", body="x"))

    subjects = [k async for k in storage.keys.subjects()]
    people = [k for k in subjects if k.row.subject_id != PSEUDONYMS_ID]
    assert len(people) == 2
    data = [
        k
        for person in people
        async for k in storage.keys.subject_keys(person.row.subject_id)
        if k.row.kind is KeyKind.DATA
    ]
    assert len(data) == 4
    headers = [read_header(await storage.blobs.read(n)) for n in await blob_names(storage)]
    assert sorted(h.data_key_id for h in headers) == sorted(k.row.key_id for k in data)
    assert all(
        k.row.state is KeyState.ACTIVE and k.row.wrapped_by == k.row.subject_id for k in data
    )


async def test_a_destroyed_data_key_leaves_exactly_its_version_redacted(adapters):
    storage = await adapters.open()
    await store(storage, said(1), said(1, action="edited", body="no card here"))
    first, second = await blob_names(storage)
    header = read_header(await storage.blobs.read(first))
    known = await storage.keys.get(header.subject_key_id, header.data_key_id)
    assert known is not None

    await storage.keys.destroy(
        header.subject_key_id,
        header.data_key_id,
        etag=known.etag,
        at=datetime.now(UTC),
        receipt="0123456789abcdef",
    )

    redacted = json.loads(await storage.versions.read(first))
    assert redacted["body"] == "[redacted: receipt 0123456789abcdef]"
    assert (redacted["messageId"], redacted["version"]) == (header.message_id, header.version)
    assert redacted["senderId"] is None
    assert CARD not in json.dumps(redacted)
    with pytest.raises(Erased):
        await storage.versions.both(first)
    assert json.loads(await storage.versions.read(second))["body"] == "no card here"


async def test_another_root_key_cannot_open_the_archive(adapters):
    await store(await adapters.open(), said(1))

    other = await adapters.open(new_key())
    [name] = await blob_names(other)

    with pytest.raises(UnreadableEnvelope, match="wrapped by root key local-"):
        await other.versions.read(name)


async def test_without_the_root_key_an_envelope_is_refused_by_the_setting_it_needs(adapters):
    await store(await adapters.open(), said(1))

    plain = await adapters.open(None, sealing=False)
    [name] = await blob_names(plain)

    with pytest.raises(ConfigurationError, match="ARCHIVE_ROOT_KEY"):
        await plain.versions.read(name)


async def test_plain_versions_stay_plain_and_readable_beside_envelopes(adapters):
    plain = await adapters.open(sealing=False)
    await store(plain, said(1))
    sealed = await adapters.open()
    await store(sealed, said(2))

    contents = [await sealed.blobs.read(n) for n in await blob_names(sealed)]

    assert [is_envelope(c) for c in contents] == [False, True]
    assert [e["body"] async for e in latest(sealed, THREAD, Window())] == [
        f"message 1: my card is {CARD}",
        f"message 2: my card is {CARD}",
    ]


async def test_two_processes_meeting_a_new_sender_at_once_share_one_subject_key(adapters):
    one, two = await adapters.open(), await adapters.open()

    await asyncio.gather(store(one, said(1), said(2)), store(two, said(3), said(4)))

    people = [k async for k in one.keys.subjects() if k.row.subject_id != PSEUDONYMS_ID]
    assert len(people) == 1
    bodies = [e["body"] async for e in latest(two, THREAD, Window())]
    assert bodies == [f"message {n}: my card is {CARD}" for n in (1, 2, 3, 4)]


async def test_a_delivery_costs_one_transaction_more_and_a_new_sender_one_look_more(settings):
    adapters = Adapters("azurite", settings)

    async def requests_for(storage: Storage, thread: str, first: int) -> int:
        adapters.requests.clear()
        await store(
            storage, *(said(n, sender=BOB, thread=thread) for n in range(first, first + 10))
        )
        return len(adapters.requests)

    try:
        plain = await requests_for(await adapters.open(sealing=False), "19:a@thread.v2", 1)
        sealed = await adapters.open()
        await store(sealed, said(0))  # the pseudonym secret: once per archive
        new_sender = await requests_for(sealed, "19:b@thread.v2", 11)
        known_sender = await requests_for(sealed, "19:c@thread.v2", 21)
    finally:
        await adapters.close()

    assert (new_sender, known_sender) == (plain + 2, plain + 1)


def test_a_development_root_key_is_32_bytes_of_base64(tmp_path):
    from archiver.core.keysettings import read_keys

    text = base64.b64encode(ROOT).decode()
    (tmp_path / "root.key").write_text(text + "\n")

    assert read_keys({"ARCHIVE_ROOT_KEY": text}).root_key == RootKey(material=ROOT)
    assert read_keys({"ARCHIVE_ROOT_KEY": str(tmp_path / "root.key")}).root_key == RootKey(
        material=ROOT
    )
    with pytest.raises(ConfigurationError, match="ARCHIVE_ROOT_KEY must be"):
        read_keys({"ARCHIVE_ROOT_KEY": base64.b64encode(ROOT[:16]).decode()})
    with pytest.raises(ConfigurationError, match="ARCHIVE_ENVELOPE=on needs ARCHIVE_ROOT_KEY"):
        read_keys({"ARCHIVE_ENVELOPE": "on"})


async def test_a_new_senders_versions_in_many_threads_at_once_all_open(adapters):
    storage = await adapters.open()
    threads = [f"19:{n}a{n}@thread.v2" for n in range(4)]

    # One delivery: the messages are staged concurrently, each asks for the new
    # sender's subject key; a second key made in that moment would leave versions
    # wrapped under a key that was never stored.
    await store(storage, *(said(n, thread=t) for n, t in enumerate(threads, start=1)))

    names = await blob_names(storage)
    assert len(names) == 4
    bodies = [json.loads(await storage.versions.read(n))["body"] for n in names]
    assert sorted(bodies) == [f"message {n}: my card is {CARD}" for n in range(1, 5)]
