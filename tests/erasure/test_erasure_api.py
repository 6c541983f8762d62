"""The redaction and erasure routes over real HTTP (the local host, Entra ID tokens from a
stand-in identity provider, Azurite): Archive.Admin only, two principals for an erasure,
precise 400s that change nothing, and answers as the CLI gives them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.erasure.keys import new_key
from archiver.core.keysettings import KeySettings, RootKey
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.retrieval.readback import versions_of
from tests.access.test_entra_routes import bearer
from tests.access.test_gate import entra
from tests.builders import ALICE, BOB, THREAD, body, message_event
from tests.conftest import fresh_settings
from tests.openid import OpenIdProvider

MESSAGE = "1613694358927"
CARD = "4111 1111 1111 1111"


@pytest.fixture
async def provider() -> AsyncIterator[OpenIdProvider]:
    async with OpenIdProvider() as running:
        yield running


@pytest.fixture
async def served(
    azurite: emulator.Endpoints, provider: OpenIdProvider
) -> AsyncIterator[tuple[TestClient, Services]]:
    settings = fresh_settings(azurite.connection_string, access=entra(provider))
    root = RootKey(material=new_key())
    settings = replace(
        settings, keys=KeySettings(table=settings.keys.table, envelope=True, root_key=root)
    )
    services = build(settings)
    async with TestClient(TestServer(create_app(services))) as client:
        token = provider.token(provider.event_grid_claims())
        events = body(
            message_event("received", message_id=MESSAGE, sender=ALICE, body=f"card {CARD}"),
            message_event("received", message_id="1613694359999", sender=BOB, body="thanks"),
        )
        delivered = await client.post("/api/events", data=events, headers=bearer(token))
        assert delivered.status == 200
        yield client, services
    await services.close()


def admin(provider: OpenIdProvider, name: str) -> dict[str, str]:
    claims = provider.claims(roles=["Archive.Admin"], oid=f"oid-{name}", name=name)
    return bearer(provider.token(claims))


async def post(client: TestClient, path: str, value: Any, headers: dict[str, str]):
    response = await client.post(path, data=json.dumps(value), headers=headers)
    return response.status, json.loads(await response.read())


REDACT = {"threadId": THREAD, "messageId": MESSAGE, "reason": "Card (PCI DSS)", "request": "T-1"}
ERASE = {"participant": ALICE, "request": "DSAR-17", "basis": "GDPR Art. 17(1)(a)"}


async def test_an_admin_redacts_over_http_as_the_cli_does(served, provider):
    client, services = served

    tried, planned = await post(
        client, "/api/redactions", REDACT | {"dryRun": True}, admin(provider, "ada")
    )
    status, done = await post(client, "/api/redactions", REDACT, admin(provider, "ada"))

    assert (tried, planned["dryRun"], [i["decision"] for i in planned["items"]]) == (
        200,
        True,
        ["shredded"],
    )
    assert status == 200
    [version] = await versions_of(services.storage, THREAD, MESSAGE)
    assert version["body"] == f"[redacted: receipt {done['receipt']['id']}]"


async def test_a_reader_cannot_redact_and_a_bad_body_is_a_precise_400_that_changes_nothing(
    served, provider
):
    client, services = served
    reader = bearer(provider.token(provider.claims(roles=["Archive.Read"])))

    refused, _ = await post(client, "/api/redactions", REDACT, reader)
    unknown, said = await post(
        client, "/api/redactions", REDACT | {"why": "x"}, admin(provider, "ada")
    )
    lines, told = await post(
        client, "/api/redactions", REDACT | {"reason": "a\nb"}, admin(provider, "ada")
    )
    version, number = await post(
        client, "/api/redactions", REDACT | {"version": "v1"}, admin(provider, "ada")
    )

    assert refused == 403
    assert (unknown, lines, version) == (400, 400, 400)
    assert "why" in said["detail"]
    assert "reason must be" in told["detail"]
    assert "version must be a whole number" in number["detail"]
    [kept] = await versions_of(services.storage, THREAD, MESSAGE)
    assert kept["body"] == f"card {CARD}"


async def test_an_erasure_needs_two_admins_over_http(served, provider):
    client, services = served

    asked, waiting = await post(client, "/api/erasures", ERASE, admin(provider, "ada"))
    alone, _ = await post(
        client, "/api/erasures", ERASE | {"approve": True}, admin(provider, "ada")
    )
    status, done = await post(
        client, "/api/erasures", ERASE | {"approve": True}, admin(provider, "grace")
    )

    assert (asked, waiting["awaitingApproval"]) == (200, True)
    assert alone == 403
    assert status == 200
    assert done["threads"] == {THREAD: "shredded"}
    [version] = await versions_of(services.storage, THREAD, MESSAGE)
    assert CARD not in json.dumps(version)
    [other] = await versions_of(services.storage, THREAD, "1613694359999")
    assert other["body"] == "thanks"
