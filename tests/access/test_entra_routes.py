"""Entra ID on the routes, over real HTTP: the local host and the function app against
Azurite and a local OpenID provider. No function key is asked on a route the app checks
by token; every refusal is problem+json, a 401 with `WWW-Authenticate: Bearer`."""

from __future__ import annotations

import importlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from types import ModuleType
from urllib.parse import quote

import azure.functions as func
import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.keys import encode_key
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app, triggers
from tests.access.test_gate import entra
from tests.builders import THREAD, body, message_event, new_message_id, validation_event
from tests.conftest import Invocation, archive_settings, fresh_settings, imported_function_app
from tests.openid import AUDIENCE, TENANT, OpenIdProvider, new_key

THREAD_PATH = f"/api/threads/{quote(THREAD, safe='')}"


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OpenIdProvider]:
    async with OpenIdProvider() as running:
        yield running


@pytest.fixture(scope="module")
async def served(
    azurite: emulator.Endpoints, provider: OpenIdProvider
) -> AsyncIterator[tuple[TestClient, Services]]:
    """The local host in entra mode for both routes, with a function key it must not ask."""
    services = build(fresh_settings(azurite.connection_string, access=entra(provider)))
    app = create_app(services, function_key="s3cret-key")
    async with TestClient(TestServer(app)) as client:
        yield client, services
    await services.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def deliver(client: TestClient, provider: OpenIdProvider, *events: dict) -> int:
    token = provider.token(provider.event_grid_claims())
    response = await client.post("/api/events", data=body(*events), headers=bearer(token))
    return response.status


async def stored(services: Services, message_id: str) -> list[str]:
    prefix = f"messages/{encode_key(THREAD, field='t')}/{message_id}/"
    return [name async for name in services.storage.blobs.names(prefix)]


async def assert_refused(response, status: int = 401) -> None:
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_reader_with_archive_read_gets_the_thread_event_grid_delivered(served, provider):
    client, _ = served
    message_id = new_message_id()
    assert await deliver(client, provider, message_event(message_id=message_id)) == 200

    response = await client.get(f"{THREAD_PATH}/messages", headers=bearer(provider.token()))

    assert response.status == 200
    assert message_id in [m["messageId"] for m in (await response.json())["messages"]]


def forgeries(provider: OpenIdProvider) -> dict[str, dict[str, str]]:
    now = provider.claims()["iat"] + 5
    header, _, signature = provider.token(provider.claims(roles=[])).split(".")
    claims = provider.claims(roles=["Archive.Read", "Archive.Admin"])
    tampered = provider.token(claims).split(".")[1]
    return {
        "no token": {},
        "expired": bearer(provider.token(provider.claims(exp=now - 600))),
        "not yet valid": bearer(provider.token(provider.claims(nbf=now + 600))),
        "wrong audience": bearer(provider.token(provider.claims(aud="api://other"))),
        "wrong issuer": bearer(provider.token(provider.claims(iss="https://evil.example/v2.0"))),
        "alg none": bearer(provider.unsigned()),
        "HS256 keyed with the public key": bearer(provider.hmac_with_public_key()),
        "unknown key": bearer(provider.token(kid=uuid.uuid4().hex, key=new_key())),
        "tampered payload": bearer(f"{header}.{tampered}.{signature}"),
        "malformed header": {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30"},
        "function key only": {"x-functions-key": "s3cret-key"},
    }


async def test_every_forged_stale_or_foreign_token_is_a_401(served, provider):
    client, _ = served

    for case, headers in forgeries(provider).items():
        for path in (
            THREAD_PATH,
            f"{THREAD_PATH}/messages",
            f"{THREAD_PATH}/messages/1/versions",
            "/api/search?q=refund",
        ):
            response = await client.get(path, headers=headers)

            assert response.status == 401, (case, path)
            await assert_refused(response, 401)


async def test_a_valid_token_without_archive_read_is_a_403(served, provider):
    client, _ = served
    token = provider.token(provider.claims(roles=["Something.Else"]))

    await assert_refused(await client.get(THREAD_PATH, headers=bearer(token)), 403)
    await assert_refused(await client.get("/api/search?q=refund", headers=bearer(token)), 403)


async def test_the_webhook_answers_event_grids_validation_handshake_with_its_token(
    served, provider
):
    client, _ = served
    token = provider.token(provider.event_grid_claims())

    response = await client.post(
        "/api/events",
        data=body(validation_event("entra-handshake")),
        headers={"aeg-event-type": "SubscriptionValidation", **bearer(token)},
    )

    assert response.status == 200
    assert await response.json() == {"validationResponse": "entra-handshake"}


@pytest.mark.parametrize(
    "who", ["no token", "a reader's token", "another app's token", "another audience"]
)
async def test_the_webhook_refuses_anyone_but_event_grid_and_writes_nothing(served, provider, who):
    client, services = served
    message_id = new_message_id()
    headers = {
        "no token": {},
        "a reader's token": bearer(provider.token()),
        "another app's token": bearer(
            provider.token(provider.event_grid_claims(appid=str(uuid.uuid4())))
        ),
        "another audience": bearer(
            provider.token(provider.event_grid_claims(aud="api://someone-else"))
        ),
    }[who]

    for payload, kind in (
        (body(message_event(message_id=message_id)), "Notification"),
        (body(validation_event("x")), "SubscriptionValidation"),
    ):
        response = await client.post(
            "/api/events", data=payload, headers={"aeg-event-type": kind, **headers}
        )
        await assert_refused(response, 401)
    assert await stored(services, message_id) == []


async def test_an_unreachable_identity_provider_is_a_503_with_retry_after(azurite, provider):
    services = build(fresh_settings(azurite.connection_string, access=entra(provider)))
    async with TestClient(TestServer(create_app(services))) as client:
        provider.available = False
        try:
            response = await client.get(THREAD_PATH, headers=bearer(provider.token()))
        finally:
            provider.available = True

    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    await services.close()


@pytest.fixture
async def entra_function_app(azurite, provider) -> AsyncIterator[ModuleType]:
    """function_app imported with ARCHIVE_READ_AUTH and ARCHIVE_WEBHOOK_AUTH = entra."""
    settings = fresh_settings(azurite.connection_string)
    environment = archive_settings(settings) | {
        "ARCHIVE_READ_AUTH": "entra",
        "ARCHIVE_WEBHOOK_AUTH": "entra",
        "ARCHIVE_ENTRA_TENANT_ID": TENANT,
        "ARCHIVE_ENTRA_AUDIENCE": AUDIENCE,
        "ARCHIVE_ENTRA_METADATA_URL": provider.metadata_url,
    }
    with imported_function_app(environment) as module:
        yield module
        await module.runtime.close()
    importlib.reload(module)  # back to the session's own settings for later specs


async def test_in_entra_mode_the_function_app_declares_the_token_checked_routes_anonymous(
    entra_function_app,
):
    levels = {
        name: binding["authLevel"]
        for name, binding in triggers(entra_function_app.app)
        if binding["type"] == "httpTrigger"
    }

    assert levels == dict.fromkeys(
        (
            "events",
            "read_thread",
            "read_messages",
            "read_versions",
            "change_hold",
            "participant_hold",
            "search",
            "redact",
            "erase",
            "health_check",
        ),
        "ANONYMOUS",
    )


async def test_the_function_app_checks_the_token_itself(entra_function_app, provider):
    def read(headers: dict[str, str]) -> func.HttpRequest:
        return func.HttpRequest(
            "GET",
            f"https://x{THREAD_PATH}",
            headers=headers,
            body=b"",
            route_params={"threadId": THREAD},
        )

    delivered = await entra_function_app.events(
        func.HttpRequest(
            "POST",
            "https://x/api/events",
            headers=bearer(provider.token(provider.event_grid_claims())),
            body=body(message_event(message_id=new_message_id())),
        ),
        Invocation(),
    )
    refused = await entra_function_app.read_thread(read({}), Invocation())
    admitted = await entra_function_app.read_thread(read(bearer(provider.token())), Invocation())

    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert admitted.status_code == 200
    assert json.loads(delivered.get_body())["archived"] == 1


async def test_no_log_record_holds_a_token(served, provider, caplog):
    client, _ = served
    caplog.set_level(logging.INFO)
    cases = forgeries(provider)
    tokens = [h["Authorization"].split()[-1] for h in cases.values() if "Authorization" in h]

    for headers in cases.values():
        await client.get(THREAD_PATH, headers=headers)
        await client.post("/api/events", data=body(message_event()), headers=headers)

    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {vars(r)}" for r in caplog.records)
    assert caplog.records
    parts = {part for token in tokens for part in token.split(".") if len(part) > 8}
    assert parts
    assert [part for part in parts if part in logged] == []
