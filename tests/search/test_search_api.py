"""`GET /api/search` over real HTTP, the push path that keeps an index current from the
archive account's BlobCreated events, the index job, and disposal leaving the index:
each through the same services Azure runs, on the local index."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.jobs import Job, Kind
from archiver.core.searchsettings import Backend, SearchSettings
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from archiver.search.ports import SearchIndex
from tests.builders import ALICE
from tests.search.test_search_command import DISPOSED, EVENTS, KEPT

ACCOUNT = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/chats"


def created(settings: Settings, *names: str) -> str:
    """A queue message as Event Grid delivers BlobCreated events to a storage queue."""
    return json.dumps([
        {
            "id": f"event-{number}",
            "topic": ACCOUNT,
            "subject": f"/blobServices/default/containers/{settings.container}/blobs/{name}",
            "eventType": "Microsoft.Storage.BlobCreated",
            "eventTime": "2026-12-04T09:00:00Z",
            "data": {"api": "PutBlob", "blobType": "BlockBlob"},
            "dataVersion": "",
        }
        for number, name in enumerate(names)
    ])  # fmt: skip


@pytest.fixture
async def services(settings: Settings, tmp_path: Path) -> AsyncIterator[Services]:
    search = SearchSettings(backend=Backend.LOCAL, index_file=tmp_path / "index.sqlite3")
    built = build(replace(settings, search=search, retention_days=365))
    await built.storage.prepare()
    assert built.search_index is not None
    await built.search_index.ready()
    await Archive(built.storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in EVENTS]
    )
    try:
        yield built
    finally:
        await built.close()


async def messages(services: Services) -> SearchIndex:
    assert services.search_index is not None
    return await services.search_index.ready()


async def names(services: Services) -> list[str]:
    return sorted([n async for n in services.storage.blobs.names("messages/")])


async def searched(client: TestClient, **query: str) -> tuple[int, dict[str, Any]]:
    response = await client.get("/api/search", params=query)
    return response.status, json.loads(await response.read())


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient]:
    await services.work.index_pushed(created(services.settings, *await names(services)))
    async with TestClient(TestServer(create_app(services))) as client:
        yield client


async def test_pushed_versions_are_found_with_their_standing(services, client):
    status, body = await searched(client, q="refund", versions="all")

    assert status == 200, body
    found = {(h["messageId"], h["action"], h["current"]) for h in body["hits"]}
    assert found == {
        ("1700000000001", "received", False),
        ("1700000000001", "edited", True),
        ("1700000000003", "received", True),
        ("1700000000004", "received", True),
    }
    assert body["search"]["versions"] == "all"
    assert all(h["citation"]["blob"].startswith("messages/") for h in body["hits"])


async def test_a_push_as_event_grid_writes_it_base64_is_indexed_the_same(services):
    text = created(services.settings, *await names(services))

    await services.work.index_pushed(base64.b64encode(text.encode()).decode())

    assert len(await (await messages(services)).known()) == 6


async def test_a_push_of_anything_but_new_versions_indexes_nothing(services, client):
    before = await (await messages(services)).known()
    await services.work.index_pushed(created(services.settings, "seals/x/20261204T090000Z.json"))
    await services.work.index_pushed("not json")
    await services.work.index_pushed(json.dumps({"eventType": "Microsoft.Storage.BlobDeleted"}))

    assert await (await messages(services)).known() == before


async def test_every_search_is_recorded_with_its_query_refused_ones_too(services, client):
    await searched(client, q="bravo", participant=ALICE)
    status, refused = await searched(client, q="bravo", versions="some")

    assert status == 400
    assert "versions is one of latest, all" in refused["detail"]
    records = [r async for r in services.trail.records()]
    searches = [(r["outcome"], r["details"]["q"], r["details"]["versions"]) for r in records
                if r["action"] == "search"]  # fmt: skip
    assert searches == [("allowed", "bravo", None), ("refused", "bravo", "some")]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"q": "refund", "page": "2"}, "unknown query parameter 'page'"),
        ({"q": "refund", "limit": "5000"}, "limit must be a whole number from 1 to 1000"),
        ({"q": "refund", "since": "yesterday"}, "since"),
        ({"q": ""}, "at least one word"),
        ({"q": "refund", "includeDeleted": "yes"}, "includeDeleted must be true or false"),
    ],
)
async def test_a_bad_search_is_a_400_saying_why(client, query, said):
    status, body = await searched(client, **query)

    assert status == 400
    assert said in body["detail"]


async def test_search_off_answers_404_saying_how_to_turn_it_on(settings):
    services = build(settings)
    try:
        async with TestClient(TestServer(create_app(services))) as client:
            status, body = await searched(client, q="refund")
    finally:
        await services.close()

    assert status == 404
    assert "ARCHIVE_SEARCH" in body["detail"]


async def test_the_index_job_writes_its_threads_and_disposal_takes_them_out(services):
    index = await messages(services)
    job = Job(job=Kind.INDEX, run="index-1", threads=(KEPT, DISPOSED))

    counts = await services.work.run(job)
    assert counts == {"indexed": 6, "unreadable": 0}
    assert len(await index.known()) == 6

    await services.work.run(Job(job=Kind.DISPOSE, run="dispose-1", threads=(DISPOSED,)))

    assert len(await index.known()) == 5
    assert all(name.split("/")[1] != DISPOSED for name in await index.known())
