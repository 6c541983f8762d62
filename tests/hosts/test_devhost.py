"""The local host: an optional function key, and the native trigger's local URL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from tests.builders import TOPIC, body, message_event, new_message_id, validation_event

TRIGGER = "/runtime/webhooks/eventgrid?functionName=archive_event"


@pytest.fixture
async def keyed(settings: Settings) -> AsyncIterator[tuple[TestClient, Services]]:
    services = build(settings)
    async with TestClient(TestServer(create_app(services, function_key="s3cret-key"))) as client:
        yield client, services
    await services.close()


@pytest.mark.parametrize(
    ("query", "headers"), [("", {}), ("?code=wrong", {}), ("", {"x-functions-key": "s3cret-key!"})]
)
async def test_without_the_right_function_key_events_are_refused(keyed, query, headers):
    client, services = keyed

    response = await client.post(f"/api/events{query}", headers=headers, data=body(message_event()))

    assert response.status == 401
    assert [n async for n in services.storage.blobs.names()] == []


@pytest.mark.parametrize(
    ("query", "headers"), [("?code=s3cret-key", {}), ("", {"x-functions-key": "s3cret-key"})]
)
async def test_with_the_function_key_in_query_or_header_events_are_archived(keyed, query, headers):
    client, _ = keyed

    response = await client.post(
        f"/api/events{query}",
        headers=headers,
        data=body(message_event(message_id=new_message_id())),
    )

    assert response.status == 200


async def test_health_stays_anonymous_when_a_key_is_set(keyed):
    client, _ = keyed

    assert (await client.get("/api/health")).status == 200


@pytest.fixture
async def plain(settings: Settings) -> AsyncIterator[tuple[TestClient, Services]]:
    services = build(settings)
    async with TestClient(TestServer(create_app(services))) as client:
        yield client, services
    await services.close()


async def test_the_native_trigger_url_archives_each_event_and_answers_202(plain):
    client, services = plain
    events = [message_event(message_id=new_message_id()) for _ in range(3)]

    response = await client.post(
        TRIGGER, data=body(*events), headers={"aeg-event-type": "Notification"}
    )

    assert response.status == 202
    assert len([n async for n in services.storage.blobs.names("messages/")]) == 3


async def test_the_native_trigger_url_answers_the_validation_handshake(plain):
    client, _ = plain

    response = await client.post(
        TRIGGER,
        data=body(validation_event("xyz")),
        headers={"aeg-event-type": "SubscriptionValidation"},
    )

    assert await response.json() == {"validationResponse": "xyz"}


async def test_the_native_trigger_url_answers_500_when_an_invocation_fails(settings):
    services = build(dataclasses.replace(settings, allowed_topics=frozenset({TOPIC.lower()})))
    async with TestClient(TestServer(create_app(services))) as client:
        foreign = message_event(message_id=new_message_id(), topic="/subscriptions/other")

        response = await client.post(
            TRIGGER, data=body(message_event(), foreign), headers={"aeg-event-type": "Notification"}
        )

        assert response.status == 500
    await services.close()


@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        ("/runtime/webhooks/eventgrid?functionName=other", {"aeg-event-type": "Notification"}, 404),
        (TRIGGER, {}, 400),
        (TRIGGER, {"aeg-event-type": "Unsubscribe"}, 400),
    ],
)
async def test_the_native_trigger_url_refuses_what_the_functions_host_refuses(
    plain, url, headers, status
):
    client, _ = plain

    response = await client.post(url, data=body(message_event()), headers=headers)

    assert response.status == status


async def test_the_native_trigger_url_refuses_an_oversized_body_with_413(settings):
    services = build(dataclasses.replace(settings, max_body_bytes=2048))
    async with TestClient(TestServer(create_app(services))) as client:
        big = body(*[message_event(message_id=new_message_id()) for _ in range(5)])

        response = await client.post(TRIGGER, data=big, headers={"aeg-event-type": "Notification"})

        assert response.status == 413
        assert [n async for n in services.storage.blobs.names()] == []
    await services.close()
