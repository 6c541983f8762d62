"""Every admitted read leaves exactly one audit record before it answers; a request the
gate refuses is counted, one record per caller and minute; holds over the read API are
for Archive.Admin; no record, no data. Over real HTTP: the local host against Azurite,
with the function key and with a local OpenID provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.envelopes import RawEvent
from archiver.core.http import HttpRequest
from archiver.governance.trail import AuditTrail
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.retrieval.api import ReadApi
from archiver.storage.memory import MemoryStorage
from tests.access.test_gate import entra
from tests.builders import THREAD, message_event, new_message_id
from tests.conftest import fresh_settings
from tests.instrumented import Instrumented
from tests.openid import OpenIdProvider

THREAD_PATH = f"/api/threads/{quote(THREAD, safe='')}"


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OpenIdProvider]:
    async with OpenIdProvider() as running:
        yield running


@pytest.fixture
async def served(
    azurite: emulator.Endpoints, provider: OpenIdProvider
) -> AsyncIterator[tuple[TestClient, Services]]:
    """The local host with Entra ID on the read API, and one archived message."""
    services = build(fresh_settings(azurite.connection_string, access=entra(provider)))
    await services.intake.accept([RawEvent.from_value(message_event(message_id=new_message_id()))])
    async with TestClient(TestServer(create_app(services))) as client:
        yield client, services
    await services.close()


async def records(services: Services) -> list[dict]:
    return [r async for r in services.trail.records()]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.7"}


async def test_every_read_leaves_exactly_one_record_naming_who_what_and_the_answer(
    served, provider
):
    client, services = served
    token = provider.token(provider.claims(name="Ada Reader", oid="0b7c-ada"))

    statuses = [
        (await client.get(path, headers=bearer(token))).status
        for path in (THREAD_PATH, f"{THREAD_PATH}/messages", f"{THREAD_PATH}/messages/1/versions")
    ]

    found = await records(services)
    assert statuses == [200, 200, 404]
    assert [(r["action"], r["outcome"], r["status"]) for r in found] == [
        ("read.thread", "allowed", 200),
        ("read.messages", "allowed", 200),
        ("read.versions", "refused", 404),
    ]
    assert {r["principal"]["objectId"] for r in found} == {"0b7c-ada"}
    assert {r["principal"]["name"] for r in found} == {"Ada Reader"}
    assert found[2]["target"] == {"threadId": THREAD, "messageId": "1"}
    assert all(r["requestId"] for r in found)
    text = json.dumps(found)
    assert token not in text
    assert "body" not in text


async def test_refused_reads_are_counted_per_caller_without_a_principal_or_with_the_one_refused(
    served, provider
):
    client, services = served
    no_role = provider.token(provider.claims(roles=["Something.Else"], oid="0b7c-eve"))

    unauthenticated = await client.get(THREAD_PATH)
    forbidden = await client.get(THREAD_PATH, headers=bearer(no_role))
    unstored = await records(services)
    await services.gate.close()  # at shutdown, as when the minute closes

    assert (unauthenticated.status, forbidden.status) == (401, 403)
    assert unstored == []  # no write on a refusal's way
    found = await records(services)
    assert [(r["action"], r["principal"]["kind"], r["details"]["statuses"]) for r in found] == [
        ("refusals", "anonymous", {"401": 1}),
        ("refusals", "entra", {"403": 1}),
    ]
    assert found[1]["principal"]["objectId"] == "0b7c-eve"
    assert {r["outcome"] for r in found} == {"refused"}


async def test_a_hold_over_the_api_needs_archive_admin_and_is_recorded_once(served, provider):
    client, services = served
    reader = provider.token(provider.claims(roles=["Archive.Read"]))
    admin = provider.token(provider.claims(roles=["Archive.Admin"], name="Ada Admin"))
    reason = json.dumps({"reason": "Litigation hold", "case": "CASE-4471"})

    refused = await client.put(f"{THREAD_PATH}/hold", data=reason, headers=bearer(reader))
    placed = await client.put(f"{THREAD_PATH}/hold", data=reason, headers=bearer(admin))
    again = await client.delete(
        f"{THREAD_PATH}/hold", data=json.dumps({"reason": "Closed"}), headers=bearer(admin)
    )
    not_held = await client.delete(
        f"{THREAD_PATH}/hold", data=json.dumps({"reason": "Closed"}), headers=bearer(admin)
    )
    bad = await client.put(f"{THREAD_PATH}/hold", data=b"{}", headers=bearer(admin))

    assert refused.status == 403
    assert placed.status == 200
    held = await placed.json()
    assert (held["held"], held["case"], held["placedBy"]) == (
        True,
        "CASE-4471",
        "Ada Admin (entra)",
    )
    assert again.status == 200
    assert (await again.json())["held"] is False
    assert not_held.status == 400
    assert bad.status == 400
    assert (await bad.json())["detail"] == "a hold needs a reason"
    await services.gate.close()  # the 403 is counted among the refusals, stored at shutdown
    found = [(r["action"], r["outcome"]) for r in await records(services)]
    assert found == [
        ("hold.add", "done"),
        ("hold.release", "done"),
        ("hold.release", "refused"),  # not on hold, recorded by the holds
        ("hold.add", "refused"),  # no reason, recorded by the holds
        ("refusals", "refused"),  # the reader's 403
    ]
    refusal = (await records(services))[-1]["details"]
    assert (refusal["statuses"], refusal["routes"]) == ({"403": 1}, {"hold.add": 1})


async def test_when_the_audit_record_cannot_be_stored_the_read_answers_503_and_no_data():
    storage = MemoryStorage()
    services = build(fresh_settings("UseDevelopmentStorage=true"), storage=storage)
    await services.intake.accept([RawEvent.from_value(message_event(message_id=new_message_id()))])
    failing = Instrumented(storage, failing={"create": 1})

    reader = ReadApi(storage, trail=AuditTrail(failing))
    request = HttpRequest("GET", route={"threadId": THREAD})

    response = await reader.thread(request)

    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    assert THREAD.encode() not in response.body
    assert json.loads(response.body)["detail"].startswith("The request could not be recorded")
    assert (await reader.thread(request)).status == 200
