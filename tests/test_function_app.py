"""function_app.py as the Functions host calls it: the real decorated functions."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import ModuleType

import azure.functions as func
import pytest

from archiver.core.errors import TopicNotAllowed
from archiver.core.keys import encode_key
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import triggers
from tests.builders import THREAD, TOPIC, body, message_event, new_message_id, validation_event
from tests.conftest import imported_function_app


@pytest.fixture(scope="module")
async def function_app(azurite: emulator.Endpoints) -> AsyncIterator[ModuleType]:
    """function_app imported the way the host does: settings from the environment."""
    unique = uuid.uuid4().hex[:10]
    values = {
        "ARCHIVE_STORAGE": azurite.connection_string,
        "ARCHIVE_CONTAINER": f"function-app-{unique}",
        "ARCHIVE_MESSAGES_TABLE": f"FunctionApp{unique}",
        "ARCHIVE_THREADS_TABLE": f"FunctionAppThreads{unique}",
        "ARCHIVE_ALLOWED_TOPICS": f" {TOPIC.upper()} , /subscriptions/other/x",
    }
    with imported_function_app(values) as module:
        yield module
        await module.runtime.close()


def grid_event(event: dict) -> func.EventGridEvent:
    """What the Functions host passes the trigger for an Event Grid schema event."""
    return func.EventGridEvent(
        id=event["id"],
        data=event["data"],
        topic=event["topic"],
        subject=event["subject"],
        event_type=event["eventType"],
        event_time=datetime.now(UTC),
        data_version="1.0",
    )


def request(
    method: str, payload: bytes = b"", headers: dict[str, str] | None = None
) -> func.HttpRequest:
    return func.HttpRequest(
        method=method,
        url="https://contoso.azurewebsites.net/api/events",
        headers=headers or {},
        body=payload,
    )


async def test_the_app_declares_the_webhook_health_and_native_trigger(function_app):
    functions = {name: {"bindings": [trigger]} for name, trigger in triggers(function_app.app)}

    assert set(functions) == {
        "events",
        "health_check",
        "archive_event",
        "read_thread",
        "read_messages",
        "read_versions",
        "archive_inactive_threads",
    }
    events = functions["events"]["bindings"][0]
    assert (events["route"], events["authLevel"], sorted(events["methods"])) == (
        "events",
        "FUNCTION",
        ["OPTIONS", "POST"],
    )
    assert functions["health_check"]["bindings"][0]["authLevel"] == "ANONYMOUS"
    assert functions["archive_event"]["bindings"][0]["type"] == "eventGridTrigger"


async def test_the_webhook_function_answers_validation_and_archives(function_app):
    validation = await function_app.events(
        request("POST", body(validation_event("v1")), {"aeg-event-type": "SubscriptionValidation"})
    )
    archived = await function_app.events(
        request("POST", body(message_event(message_id=new_message_id())))
    )

    assert validation.status_code == 200
    assert json.loads(validation.get_body()) == {"validationResponse": "v1"}
    assert archived.status_code == 200
    assert json.loads(archived.get_body())["archived"] == 1


async def test_the_webhook_function_answers_the_cloudevents_handshake(function_app):
    response = await function_app.events(
        request("OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    )

    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


async def test_the_webhook_function_applies_the_topic_allow_list(function_app):
    response = await function_app.events(
        request("POST", body(message_event(topic="/subscriptions/else/x")))
    )

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


async def test_health_answers_ok(function_app):
    response = await function_app.health_check(request("GET"))

    assert (response.status_code, json.loads(response.get_body())) == (200, {"status": "ok"})


async def test_the_native_trigger_archives_an_event_grid_event(function_app):
    message_id = new_message_id()
    event = message_event("edited", message_id=message_id, body="via the trigger")

    await function_app.archive_event(grid_event(event))

    row = await function_app.runtime.services().storage.messages.get(
        encode_key(THREAD, field="t"), message_id
    )
    assert row is not None
    assert row.body == "via the trigger"


async def test_the_native_trigger_archives_a_cloudevent(function_app):
    message_id = new_message_id()
    event = message_event(message_id=message_id, schema="cloudevents")

    await function_app.archive_event(
        func.CloudEvent(
            id=event["id"],
            source=event["source"],
            type=event["type"],
            specversion="1.0",
            data=event["data"],
            subject=event["subject"],
            time=datetime.now(UTC),
        )
    )

    stored = [
        n
        async for n in function_app.runtime.services().storage.blobs.names(
            f"messages/{encode_key(THREAD, field='t')}/{message_id}/"
        )
    ]
    assert len(stored) == 1


async def test_the_native_trigger_raises_for_a_foreign_topic_so_the_host_answers_500(function_app):
    event = message_event(topic="/subscriptions/else/x")

    with pytest.raises(TopicNotAllowed):
        await function_app.archive_event(grid_event(event))
