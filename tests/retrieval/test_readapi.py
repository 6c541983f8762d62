"""The read API over real HTTP against Azurite, and the same answers from the function app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any
from urllib.parse import quote

import azure.functions as func
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.bootstrap import Services, build
from archiver.core.http import HttpRequest
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app, triggers
from archiver.retrieval.api import ReadApi
from archiver.sim.conversations import Said, Shape
from archiver.storage.memory import MemoryStorage
from tests.chats import Chat, archive, chat, latest_entries, version_entries
from tests.conftest import Invocation, archive_settings, fresh_settings, imported_function_app
from tests.instrumented import Instrumented
from tests.reliability.figures import FIGURES

SHAPE = Shape(threads=2, messages=30, participants=(2, 4))


@pytest.fixture(scope="module")
def conversation() -> Chat:
    return chat(7, SHAPE)


@pytest.fixture(scope="module")
async def archived(azurite, conversation) -> AsyncIterator[tuple[Settings, Services]]:
    settings = fresh_settings(azurite.connection_string)
    services = build(settings)
    await archive(services.storage, conversation.events)
    yield settings, services
    await services.close()


@pytest.fixture(scope="module")
async def client(archived) -> AsyncIterator[TestClient]:
    _, services = archived
    async with TestClient(TestServer(create_app(services))) as client:
        yield client


async def get(client: TestClient, path: str, **query: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(path, params=query)
    return response.status, json.loads(await response.read())


def messages_path(thread_id: str) -> str:
    return f"/api/threads/{quote(thread_id, safe='')}/messages"


async def every_page(client: TestClient, thread_id: str, **query: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        extra = {"continuationToken": token} if token else {}
        status, page = await get(client, messages_path(thread_id), **query, **extra)
        assert status == 200, page
        assert len(page["messages"]) <= int(query.get("pageSize", 100))
        entries += page["messages"]
        token = page["continuationToken"]
        if token is None:
            return entries


async def test_pages_hold_the_latest_messages_in_order_without_deletions(client, conversation):
    for thread_id in conversation.threads:
        entries = await every_page(client, thread_id, pageSize="7")

        expected = latest_entries(conversation, thread_id)
        assert entries == [e for e in expected if e["action"] != "deleted"]


async def test_include_deleted_adds_the_tombstones(client, conversation):
    thread_id = conversation.threads[0]

    entries = await every_page(client, thread_id, pageSize="50", includeDeleted="true")

    assert entries == latest_entries(conversation, thread_id)
    assert any(e["action"] == "deleted" and e["body"] is None for e in entries)


async def test_since_and_until_keep_messages_composed_in_between(client, conversation):
    thread_id = conversation.threads[0]
    said = [h for h in conversation.happenings if isinstance(h, Said) and h.thread_id == thread_id]
    since, until = said[5].compose_time, said[20].compose_time

    entries = await every_page(
        client,
        thread_id,
        since=since.isoformat(),
        until=until.isoformat(),
        includeDeleted="true",
    )

    assert entries == [
        e
        for e in latest_entries(conversation, thread_id)
        if since.isoformat()[:19] <= e["composeTime"][:19] < until.isoformat()[:19]
    ]


async def test_a_messages_versions_are_every_archived_version_oldest_first(client, conversation):
    thread_id = conversation.threads[0]
    history = [e for e in version_entries(conversation, thread_id)]
    edited = next(e["messageId"] for e in history if e["action"] == "edited")
    path = f"{messages_path(thread_id)}/{edited}/versions"

    status, plain = await get(client, path)
    _, with_events = await get(client, path, includeEvent="true")

    assert status == 200
    assert plain["threadId"] == thread_id
    assert [
        {k: v for k, v in version.items() if k not in ("archivedAt", "eventType")}
        for version in plain["versions"]
    ] == [e for e in history if e["messageId"] == edited]
    assert all(v["eventType"].startswith("Microsoft.Communication.") for v in plain["versions"])
    assert all("event" not in v for v in plain["versions"])
    assert [v["event"]["data"]["messageId"] for v in with_events["versions"]] == [edited] * len(
        with_events["versions"]
    )


async def test_a_thread_says_its_topic_people_and_last_activity(client, conversation):
    thread_id = conversation.threads[1]
    expected = conversation.truth.thread_rows[1]

    status, thread = await get(client, f"/api/threads/{quote(thread_id, safe='')}")

    assert status == 200
    assert (thread["threadId"], thread["topic"]) == (thread_id, expected.topic)
    assert [p["id"] for p in thread["participants"]] == list(expected.participants)
    assert thread["lastActivity"] is not None


@pytest.mark.parametrize(
    "path",
    [
        "/api/threads/19:unknown@thread.v2",
        "/api/threads/19:unknown@thread.v2/messages",
        "/api/threads/19:unknown@thread.v2/messages/1613694358927/versions",
    ],
)
async def test_what_the_archive_does_not_hold_is_a_404_problem(client, path):
    response = await client.get(path)

    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert "19:unknown@thread.v2" in json.loads(await response.read())["detail"]


async def test_an_unknown_message_of_a_known_thread_is_a_404(client, conversation):
    status, answer = await get(client, f"{messages_path(conversation.threads[0])}/1/versions")

    assert status == 404
    assert "no message '1'" in answer["detail"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"pageSize": "0"}, "pageSize must be a whole number from 1 to 1000"),
        ({"pageSize": "1001"}, "pageSize must be"),
        ({"pageSize": "ten"}, "pageSize must be"),
        ({"since": "yesterday"}, "since must be an ISO 8601"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, "since must be earlier than until"),
        ({"includeDeleted": "maybe"}, "includeDeleted must be true or false"),
        ({"continuationToken": "not-a-token"}, "continuationToken is not one"),
        ({"pagesize": "5"}, "unknown query parameter 'pagesize'"),
    ],
)
async def test_a_bad_parameter_is_a_400_that_names_it(client, conversation, query, says):
    response = await client.get(messages_path(conversation.threads[0]), params=query)

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert says in json.loads(await response.read())["detail"]


async def test_a_thread_id_too_long_to_be_archived_is_a_400(client):
    status, answer = await get(client, messages_path("19:" + "x" * 300))

    assert status == 400
    assert "threadId is too long" in answer["detail"]


async def test_storage_that_fails_is_a_503_with_retry_after():
    reader = ReadApi(Instrumented(MemoryStorage(), failing={"thread.get": 1}))

    response = await reader.messages(HttpRequest("GET", route={"threadId": "19:a@thread.v2"}))

    assert response.status == 503
    assert response.headers["Retry-After"] == "30"


async def test_with_a_function_key_the_read_routes_need_it(archived, conversation):
    _, services = archived
    path = messages_path(conversation.threads[0])
    async with TestClient(TestServer(create_app(services, function_key="s3cret"))) as client:
        refused = await client.get(path)
        header = await client.get(path, headers={"x-functions-key": "s3cret"})
        query = await client.get(path, params={"code": "s3cret"})

    assert (refused.status, header.status, query.status) == (401, 200, 200)


@pytest.fixture(scope="module")
async def function_app(archived) -> AsyncIterator[ModuleType]:
    settings, _ = archived
    with imported_function_app(archive_settings(settings)) as module:
        yield module
        await module.runtime.close()


async def test_the_function_app_gives_the_local_hosts_answers(client, function_app, conversation):
    thread_id = conversation.threads[0]
    message_id = latest_entries(conversation, thread_id)[0]["messageId"]
    cases: list[tuple[str, dict[str, str], Any, str]] = [
        ("threads/{threadId}", {"threadId": thread_id}, function_app.read_thread, ""),
        ("threads/{threadId}/messages", {"threadId": thread_id}, function_app.read_messages, ""),
        (
            "threads/{threadId}/messages",
            {"threadId": "19:unknown@thread.v2"},
            function_app.read_messages,
            "",
        ),
        (
            "threads/{threadId}/messages/{messageId}/versions",
            {"threadId": thread_id, "messageId": message_id},
            function_app.read_versions,
            "includeEvent=true",
        ),
    ]
    for route, ids, function, query in cases:
        path = "/api/" + route.format(**{k: quote(v, safe="") for k, v in ids.items()})
        params = dict(part.split("=") for part in query.split("&") if part)
        local = await client.get(path, params=params)
        hosted = await function(
            func.HttpRequest(
                method="GET",
                url=f"https://contoso.azurewebsites.net{path}",
                body=b"",
                route_params=ids,
                params=params,
            ),
            Invocation(),
        )

        assert hosted.status_code == local.status, route
        assert json.loads(hosted.get_body()) == json.loads(await local.read()), route


def test_the_function_app_declares_the_read_routes_behind_the_function_key(function_app):
    bindings = dict(triggers(function_app.app))

    for name, route in (
        ("read_thread", "threads/{threadId}"),
        ("read_messages", "threads/{threadId}/messages"),
        ("read_versions", "threads/{threadId}/messages/{messageId}/versions"),
    ):
        assert (bindings[name]["route"], bindings[name]["authLevel"]) == (route, "FUNCTION")
        assert bindings[name]["methods"] == ["GET"]


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # utf-8: no lone surrogates


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    thread=st.one_of(_TEXT, st.just("19:x@thread.v2")),
    message=_TEXT,
    query=st.dictionaries(
        st.sampled_from(
            [
                "since",
                "until",
                "pageSize",
                "continuationToken",
                "includeDeleted",
                "includeEvent",
                "x",
            ]
        ),
        _TEXT,
        max_size=4,
    ),
)
async def test_no_read_request_gets_a_5xx_or_anything_but_json(thread, message, query):
    reader = ReadApi(MemoryStorage())
    ids = {"threadId": thread, "messageId": message}

    for response in (
        await reader.thread(HttpRequest("GET", route=ids, query=query)),
        await reader.messages(HttpRequest("GET", route=ids, query=query)),
        await reader.versions(HttpRequest("GET", route=ids, query=query)),
    ):
        assert response.status in (200, 400, 404), response.body
        assert json.loads(response.body)
    FIGURES.bad_input("read API requests", 3)
