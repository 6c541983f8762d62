"""Security at the edges: what the handshakes echo, and what the logs never hold.

Function keys, the topic allow-list, the never-fetched validationUrl and the body limit
before parsing are specified in test_devhost.py and test_webhook.py; this file adds the
echo and logging rules, over real HTTP against a real Azurite.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import build
from archiver.core.settings import Settings
from archiver.hosts.azurite import ACCOUNT_KEY, Endpoints
from archiver.hosts.devhost import create_app
from tests.builders import body, message_event, new_message_id, validation_event
from tests.conftest import delivered, fresh_settings, serving

SECRET_TEXT = "Patient 4711 reports chest pain"
FUNCTION_KEY = "fk-" + "Q7" * 20
WRONG_KEY = "wrong-" + "Z9" * 20
VALIDATION_TOKEN = "tok3n-" + "V8" * 20


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:
    services = build(settings)
    async with TestClient(TestServer(create_app(services))) as test_client:
        yield test_client
    await services.close()


@pytest.mark.parametrize(
    "origin",
    ["eventgrid.azure.net", "<script>alert(1)</script>", '"quoted";x=1', "a,b.example"],
)
async def test_the_cloudevents_handshake_echoes_the_origin_only_in_its_own_header(
    client: TestClient, origin: str
):
    response = await client.options("/api/events", headers={"WebHook-Request-Origin": origin})

    assert response.status == 200
    assert await response.read() == b""
    assert response.headers["WebHook-Allowed-Origin"] == origin
    elsewhere = [v for k, v in response.headers.items() if k != "WebHook-Allowed-Origin"]
    assert not any(origin in value for value in elsewhere)


async def test_a_refused_origin_is_echoed_nowhere(client: TestClient):
    origin = "evil origin<img src=x>"

    response = await client.options("/api/events", headers={"WebHook-Request-Origin": origin})

    assert response.status == 400
    text = await response.text()
    assert origin not in text
    assert not any(origin in value for value in response.headers.values())


async def test_a_hostile_validation_url_still_gets_the_handshake_answered(client: TestClient):
    event = validation_event()
    event["data"]["validationUrl"] = "https://[unbalanced/validate?token=" + VALIDATION_TOKEN

    response = await client.post(
        "/api/events",
        data=json.dumps([event]),
        headers={"aeg-event-type": "SubscriptionValidation"},
    )

    assert response.status == 200
    assert (await response.json())["validationResponse"] == event["data"]["validationCode"]


@pytest.mark.process
async def test_the_default_log_holds_no_message_text_keys_or_tokens(
    azurite: Endpoints, tmp_path: Path
):
    settings = fresh_settings(azurite.connection_string)
    log_path = tmp_path / "serve.log"
    message_id = new_message_id()
    validation = validation_event()
    validation["data"]["validationUrl"] = (
        "https://rp-eastus2.eventgrid.azure.net/eventsubscriptions/archiver/validate"
        f"?id=512d38b6&t=2026-11-21T10:00:00Z&apiVersion=2025-02-15&token={VALIDATION_TOKEN}"
    )
    deliveries = [
        # Archived: a message and its edit, both carrying the secret text.
        (body(message_event(message_id=message_id, body=SECRET_TEXT)), "Notification"),
        (body(message_event("edited", message_id=message_id, body=SECRET_TEXT)), "Notification"),
        # Quarantined: the secret sits in fields that fail validation.
        (
            body(message_event(message_id=SECRET_TEXT, version=SECRET_TEXT, body=SECRET_TEXT)),
            "Notification",
        ),
        # Refused: a body cut off in the middle of the secret.
        (f'[{{"data": {{"messageBody": "{SECRET_TEXT}'.encode(), "Notification"),
        (json.dumps([validation]).encode(), "SubscriptionValidation"),
    ]

    with serving(settings, log_path, "--function-key", FUNCTION_KEY) as url:
        refused = await delivered(f"{url}/api/events?code={WRONG_KEY}", deliveries[0][0])
        assert (refused.status, refused.attempts) == (401, 1)
        statuses = [
            (
                await delivered(
                    f"{url}/api/events",
                    payload,
                    headers={"x-functions-key": FUNCTION_KEY, "aeg-event-type": kind},
                )
            ).status
            for payload, kind in deliveries
        ]
    assert statuses == [200, 200, 200, 400, 200]

    log = log_path.read_text(encoding="utf-8")
    assert "Archived a delivery" in log
    assert "Quarantined" in log
    assert "rp-eastus2.eventgrid.azure.net/eventsubscriptions/archiver/validate" in log
    for secret in (SECRET_TEXT, FUNCTION_KEY, WRONG_KEY, VALIDATION_TOKEN, ACCOUNT_KEY):
        assert secret not in log, f"the log holds {secret[:12]}…"
