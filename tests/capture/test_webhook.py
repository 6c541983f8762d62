"""The webhook over real HTTP (the local host), storing into a real Azurite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from tests.builders import (
    BOB,
    TOPIC,
    body,
    fan_out,
    message_event,
    new_message_id,
    published,
    thread_event,
    validation_event,
)

SUMMARY_KEYS = {"received", "archived", "duplicates", "quarantined", "ignored"}


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = build(settings)
    yield built
    await built.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(services))) as test_client:
        yield test_client


async def blob_names(services: Services, prefix: str = "") -> list[str]:
    return [name async for name in services.storage.blobs.names(prefix)]


async def post(client: TestClient, payload: bytes | AsyncIterator[bytes], **headers: str):
    return await client.post(
        "/api/events",
        data=payload,
        headers={"Content-Type": "application/json", "aeg-event-type": "Notification"} | headers,
    )


async def test_subscription_validation_echoes_the_code_and_never_fetches_the_url(
    client: TestClient,
):
    fetched: list[str] = []

    async def record(request: web.Request) -> web.Response:
        fetched.append(str(request.url))
        return web.Response()

    trap = web.Application()
    trap.router.add_route("*", "/{tail:.*}", record)
    async with TestServer(trap) as server:
        event = validation_event("512d38b6-c7b8-40c8-89fe-f46f9e9622b6")
        event["data"]["validationUrl"] = str(server.make_url("/validate?token=1A1A1A1A"))

        response = await post(client, body(event), **{"aeg-event-type": "SubscriptionValidation"})

        assert response.status == 200
        assert await response.json() == {
            "validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
        }
    assert fetched == []


async def test_a_validation_event_is_answered_even_without_the_header(client: TestClient):
    response = await client.post("/api/events", data=body(validation_event("abc")))

    assert await response.json() == {"validationResponse": "abc"}


async def test_a_validation_request_carrying_other_events_is_refused(
    client: TestClient, services: Services
):
    response = await post(
        client,
        body(validation_event(), message_event()),
        **{"aeg-event-type": "SubscriptionValidation"},
    )

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert await blob_names(services) == []


async def test_a_subscription_deletion_notice_is_acknowledged_and_ignored(client: TestClient):
    notice = validation_event() | {
        "eventType": "Microsoft.EventGrid.SubscriptionDeletedEvent",
        "data": {"eventSubscriptionId": "/subscriptions/x/es"},
    }

    response = await post(client, body(notice), **{"aeg-event-type": "SubscriptionDeletion"})

    assert response.status == 200
    assert (await response.json())["ignored"] == 1


async def test_the_cloudevents_handshake_allows_the_requesting_origin(client: TestClient):
    response = await client.options(
        "/api/events",
        headers={"WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "120"},
    )

    assert response.status == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert response.headers["WebHook-Allowed-Rate"] == "*"
    assert response.headers["Allow"] == "POST, OPTIONS"
    assert await response.read() == b""


@pytest.mark.parametrize("origin", [None, "", "evil origin", "x" * 300])
async def test_the_cloudevents_handshake_refuses_a_missing_or_unsafe_origin(
    client: TestClient, origin: str | None
):
    headers = {} if origin is None else {"WebHook-Request-Origin": origin}

    response = await client.options("/api/events", headers=headers)

    assert response.status == 400
    assert "WebHook-Allowed-Origin" not in response.headers


async def test_every_event_type_of_both_schemas_is_archived_from_one_batch(
    client: TestClient, services: Services
):
    for schema in ("eventgrid", "cloudevents"):
        events = published(schema)

        response = await post(client, body(*events))

        assert response.status == 200
        summary = await response.json()
        assert set(summary) == SUMMARY_KEYS
        assert summary["received"] == 18
        assert summary["ignored"] == 2
        assert summary["quarantined"] == 0
        assert summary["archived"] + summary["duplicates"] == 16
    assert len(await blob_names(services, "messages/")) == 6
    assert len(await blob_names(services, "threads/")) == 10
    row = await services.storage.messages.get(
        "19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2", "1613782685964"
    )
    assert row is not None
    assert row.body == "8effb181-1eb2-4a58-9d03-ed48a461b19b"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/cloudevents+json; charset=utf-8",
        "application/cloudevents-batch+json; charset=utf-8",
        "application/json",
    ],
)
async def test_cloudevents_are_accepted_single_or_batched_under_any_json_type(
    client: TestClient, services: Services, content_type: str
):
    single = message_event(message_id=new_message_id(), schema="cloudevents")
    batch = [message_event(message_id=new_message_id(), schema="cloudevents") for _ in range(3)]

    one = await post(client, json.dumps(single).encode(), **{"Content-Type": content_type})
    many = await post(client, body(*batch), **{"Content-Type": content_type})

    assert (await one.json())["archived"] == 1
    assert (await many.json())["archived"] == 3
    assert len(await blob_names(services, "messages/")) == 4


async def test_per_user_fan_out_is_archived_once_and_reported_as_duplicates(
    client: TestClient, services: Services
):
    recipients = [BOB] + [f"8:acs:109f0644_0000000{n}" for n in range(9)]

    response = await post(client, body(*fan_out(recipients, message_id=new_message_id())))

    assert await response.json() == {
        "received": 10,
        "archived": 1,
        "duplicates": 9,
        "quarantined": 0,
        "ignored": 0,
    }
    assert len(await blob_names(services, "messages/")) == 1


async def test_a_redelivered_batch_is_all_duplicates(client: TestClient):
    delivery = body(message_event(message_id=new_message_id()), thread_event("ChatThreadCreated"))

    first = await post(client, delivery)
    again = await post(client, delivery, **{"aeg-delivery-count": "1"})

    assert (await first.json())["archived"] == 2
    assert (await again.json())["duplicates"] == 2


async def test_malformed_events_are_quarantined_and_the_rest_archived(
    client: TestClient, services: Services
):
    bad = message_event(message_id=new_message_id())
    bad["data"]["version"] = "not-a-number"

    response = await post(client, body(message_event(message_id=new_message_id()), bad))

    assert response.status == 200
    assert await response.json() == {
        "received": 2,
        "archived": 1,
        "duplicates": 0,
        "quarantined": 1,
        "ignored": 0,
    }
    [entry] = await blob_names(services, "quarantine/")
    assert json.loads(await services.storage.blobs.read(entry))["event"] == bad


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{not json",
        b"42",
        b'"text"',
        b"[1]",
        b'[{"no": "envelope"}]',
        b"[" * 5000,
        b'[{"eventType": "\xc3\x28"}]',
    ],
)
async def test_a_body_that_is_not_events_is_refused_with_a_problem_and_nothing_written(
    client: TestClient, services: Services, payload: bytes
):
    response = await post(client, payload)

    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 400
    assert problem["detail"]
    assert "Traceback" not in problem["detail"]
    assert await blob_names(services) == []


async def test_a_body_over_the_limit_is_refused_with_413_before_parsing(
    settings: Settings, services: Services
):
    small = build(Settings(**{**vars(settings), "max_body_bytes": 4096}))
    async with TestClient(TestServer(create_app(small))) as client:
        big = body(*[message_event(message_id=new_message_id()) for _ in range(10)])

        sized = await post(client, big)
        chunked = await post(client, _chunks(big))

        assert sized.status == 413
        assert chunked.status == 413
        assert (await sized.json())["title"] == "Payload Too Large"
        assert await blob_names(small) == []
    await small.close()


async def _chunks(payload: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(payload), 1000):
        yield payload[start : start + 1000]


@pytest.mark.parametrize("schema", ["eventgrid", "cloudevents"])
async def test_events_from_a_topic_not_on_the_allow_list_are_refused_and_nothing_written(
    settings: Settings, schema: str
):
    guarded = build(Settings(**{**vars(settings), "allowed_topics": frozenset({TOPIC.lower()})}))
    async with TestClient(TestServer(create_app(guarded))) as client:
        allowed = message_event(message_id=new_message_id(), topic=TOPIC.upper(), schema=schema)
        foreign = message_event(
            message_id=new_message_id(),
            schema=schema,
            topic=TOPIC.replace("contoso-chat", "someone-else"),
        )

        refused = await post(client, body(allowed, foreign))
        accepted = await post(client, body(allowed))

        assert refused.status == 403
        assert "someone-else" in (await refused.json())["detail"]
        assert accepted.status == 200
        assert len(await blob_names(guarded)) == 1
    await guarded.close()


async def test_other_methods_are_not_allowed(client: TestClient):
    response = await client.put("/api/events", data=b"[]")

    assert response.status == 405


async def test_health_is_ok_when_storage_answers(client: TestClient):
    response = await client.get("/api/health")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_an_unexpected_failure_answers_500_without_internals(settings: Settings):
    from archiver.storage.azure import AzureStorage
    from tests.instrumented import Instrumented

    broken = build(
        settings,
        storage=Instrumented(AzureStorage.from_settings(settings), broken=frozenset({"create"})),
    )
    async with TestClient(TestServer(create_app(broken))) as client:
        response = await post(client, body(message_event(message_id=new_message_id())))
        problem = await response.json()
    await broken.close()

    assert response.status == 500
    assert problem["title"] == "Internal Server Error"
    assert "bug" not in problem["detail"]
    assert "Traceback" not in problem["detail"]


async def test_identity_based_storage_that_cannot_authenticate_is_reported_unhealthy():
    from archiver.capture.health import health
    from archiver.storage.azure import AzureStorage

    settings = Settings.from_mapping(
        {
            "ARCHIVE_STORAGE__blobServiceUri": "https://127.0.0.1:9/devstoreaccount1",
            "ARCHIVE_STORAGE__tableServiceUri": "https://127.0.0.1:9/devstoreaccount1",
            "ARCHIVE_STORAGE__clientId": "8e0f7b1c-0000-4000-8000-000000000001",
        }
    )
    storage = AzureStorage.from_settings(settings)
    try:
        response = await health(storage)
    finally:
        await storage.close()

    assert response.status == 503
    assert json.loads(response.body) == {"status": "unavailable"}
