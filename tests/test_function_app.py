"""function_app.py as the Functions host calls it: the real decorated functions."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest

from archiver.core.errors import TopicNotAllowed
from archiver.core.keys import encode_key
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import triggers
from tests.builders import THREAD, TOPIC, body, message_event, new_message_id, validation_event
from tests.conftest import PROJECT, Invocation, imported_function_app


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


def promised() -> dict[str, dict[str, Any]]:
    """The functions docs/index.md's Endpoints table promises, as trigger bindings."""
    page = (PROJECT / "docs" / "index.md").read_text()
    table = page[page.index("## Endpoints") :].split("\n\n")[1]
    http: dict[str, dict[str, Any]] = {}
    named: dict[str, dict[str, Any]] = {}
    for row in table.splitlines()[2:]:
        where, auth, what = (cell.strip() for cell in row.strip("|").split("|"))
        level = {"function key": "FUNCTION", "anonymous": "ANONYMOUS"}.get(auth)
        if where.startswith("Event Grid trigger"):
            named[where.split("`")[1]] = {"type": "eventGridTrigger"}
        elif where.startswith("Queue trigger"):
            named[where.split("`")[1]] = {"type": "queueTrigger"}
        elif where.startswith("Timer"):
            found = re.search(r"(Daily|Saturdays) at (\d\d):(\d\d) UTC", what)
            assert found is not None, where
            days, hour, minute = found.groups()
            weekday = "*" if days == "Daily" else "6"
            named[where.split("`")[1]] = {
                "type": "timerTrigger",
                "schedule": f"0 {int(minute)} {int(hour)} * * {weekday}",
            }
        else:
            routes = re.findall(r"`(?:(\w+) )?(/api/[^`]*|\.\.\.[^`]*)`", where)
            method = routes[0][0]
            first = routes[0][1]
            for own, route in routes:  # a route names its own method, or shares the first's
                path = first + route[3:] if route.startswith("...") else route
                entry = http.setdefault(path.removeprefix("/api/"), {"methods": set()})
                entry["methods"].add(own or method)
                entry["authLevel"] = level
    return {"http": http, "named": named}


async def test_the_worker_indexes_exactly_the_functions_the_docs_promise(function_app):
    # What the worker does to index a v2 app: get_functions() (once per app object, so
    # through the local host's cache) and each function's JSON, its trigger binding.
    triggers_ = dict(triggers(function_app.app))
    docs = promised()

    http = {
        t["route"]: {"methods": set(t["methods"]), "authLevel": t["authLevel"]}
        for t in triggers_.values()
        if t["type"] == "httpTrigger"
    }
    named = {
        name: {k: v for k, v in t.items() if k in ("type", "schedule")}
        for name, t in triggers_.items()
        if t["type"] != "httpTrigger"
    }
    assert http == docs["http"]
    assert named == docs["named"]
    assert triggers_["events"]["name"] == "req"


async def test_the_webhook_function_answers_validation_and_archives(function_app):
    validation = await function_app.events(
        request("POST", body(validation_event("v1")), {"aeg-event-type": "SubscriptionValidation"}),
        Invocation(),
    )
    archived = await function_app.events(
        request("POST", body(message_event(message_id=new_message_id()))), Invocation()
    )

    assert validation.status_code == 200
    assert json.loads(validation.get_body()) == {"validationResponse": "v1"}
    assert archived.status_code == 200
    assert json.loads(archived.get_body())["archived"] == 1


async def test_the_webhook_function_answers_the_cloudevents_handshake(function_app):
    response = await function_app.events(
        request("OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}), Invocation()
    )

    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


async def test_the_webhook_function_applies_the_topic_allow_list(function_app):
    response = await function_app.events(
        request("POST", body(message_event(topic="/subscriptions/else/x"))), Invocation()
    )

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


async def test_health_answers_ok(function_app):
    response = await function_app.health_check(request("GET"), Invocation())

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


SECRETS = ("s3cr3t-function-key", "eyJhbGciOiJSUzI1NiJ9.s3cr3t-token", "the s3cr3t message body")


def secret_request(
    method: str, payload: bytes = b"", headers: dict[str, str] | None = None
) -> func.HttpRequest:
    return func.HttpRequest(
        method=method,
        url=f"https://contoso.azurewebsites.net/api/events?code={SECRETS[0]}",
        headers={
            "x-functions-key": SECRETS[0],
            "authorization": f"Bearer {SECRETS[1]}",
            "aeg-event-type": "Notification",
            **(headers or {}),
        },
        params={"code": SECRETS[0]},
        body=payload,
    )


@pytest.fixture
def worker_logging(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Logging as the worker sets it up: the root logger at INFO, every record kept."""
    caplog.set_level(logging.INFO)
    return caplog


async def test_a_delivery_leaves_one_line_with_its_counts_and_invocation(
    function_app, worker_logging
):
    event = message_event(message_id=new_message_id(), body=SECRETS[2])

    await function_app.events(secret_request("POST", body(event)), Invocation("inv-42"))

    lines = [r for r in worker_logging.records if r.name == "archiver"]
    assert [r.getMessage() for r in lines] == [
        "Archived a delivery: received=1 archived=1 duplicates=0 quarantined=0 ignored=0 "
        "(request inv-42)"
    ]


async def test_the_storage_sdk_logs_nothing_below_warning_in_the_function_app(
    function_app, worker_logging
):
    await function_app.events(
        secret_request("POST", body(message_event(message_id=new_message_id()))), Invocation()
    )
    await function_app.read_thread(
        func.HttpRequest(
            "GET", "https://x/api/threads/t", body=b"", route_params={"threadId": THREAD}
        ),
        Invocation(),
    )

    chatter = [r for r in worker_logging.records if r.name.startswith("azure")]
    assert [r for r in chatter if r.levelno < logging.WARNING] == []


async def test_no_log_record_holds_a_body_a_key_or_a_token(function_app, worker_logging):
    event = message_event(message_id=new_message_id(), body=SECRETS[2])
    requests = [
        secret_request("POST", body(event)),
        secret_request("POST", body(message_event(topic="/subscriptions/else/x", body=SECRETS[2]))),
        secret_request("POST", b'{"broken": "' + SECRETS[2].encode()),
        secret_request("OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}),
        secret_request(
            "POST",
            body(validation_event("v1")),
            headers={"aeg-event-type": "SubscriptionValidation"},
        ),
    ]

    for request_ in requests:
        await function_app.events(request_, Invocation())

    logged = "\\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {vars(r)}" for r in worker_logging.records
    )
    assert worker_logging.records
    assert [secret for secret in SECRETS if secret in logged] == []


async def test_every_answer_names_its_content_type(function_app):
    answers = [
        await function_app.events(request_, Invocation())
        for request_ in (
            request("OPTIONS", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}),
            request("GET"),
            request("POST", b"[1]"),
            request("POST", body(message_event(topic="/subscriptions/else/x"))),
            request("POST", body(message_event(message_id=new_message_id()))),
        )
    ]
    answers.append(await function_app.health_check(request("GET"), Invocation()))
    answers.append(
        await function_app.read_thread(
            func.HttpRequest(
                "GET",
                "https://x/api/threads/none",
                body=b"",
                route_params={"threadId": "19:none@thread.v2"},
            ),
            Invocation(),
        )
    )

    assert [a.status_code for a in answers] == [200, 405, 400, 403, 200, 200, 404]
    assert [a.mimetype for a in answers if not a.mimetype] == []
