"""Every admitted read leaves exactly one audit record before it answers; a request the
gate refuses is counted, one record per caller and minute; holds over the read API are for
Archive.Admin, per matter, each change recorded before it is made, and every refusal a
precise 4xx that is recorded; no record, no data (attacks 3, 4, 9 and 12 of issue 24).
Over real HTTP: the local host against Azurite, with the function key and with a local
OpenID provider."""

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
from archiver.storage.azure import AzureStorage
from archiver.storage.memory import MemoryStorage
from tests.access.test_gate import entra
from tests.builders import ALICE, THREAD, message_event, new_message_id
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


def admin_of(provider: OpenIdProvider) -> dict[str, str]:
    return bearer(provider.token(provider.claims(roles=["Archive.Admin"], name="Ada Admin")))


async def test_a_hold_over_the_api_needs_archive_admin_and_each_change_is_recorded(
    served, provider
):
    client, services = served
    reader = bearer(provider.token(provider.claims(roles=["Archive.Read"])))
    admin = admin_of(provider)
    reason = json.dumps({"reason": "Litigation hold", "case": "CASE-4471"})  # 0.6's body

    refused = await client.put(f"{THREAD_PATH}/hold", data=reason, headers=reader)
    placed = await client.put(f"{THREAD_PATH}/hold", data=reason, headers=admin)
    listed = await client.get(f"{THREAD_PATH}/hold", headers=admin)
    again = await client.delete(
        f"{THREAD_PATH}/hold?matter=CASE-4471", data=json.dumps({"reason": "Closed"}), headers=admin
    )
    not_held = await client.delete(
        f"{THREAD_PATH}/hold?matter=CASE-4471", data=json.dumps({"reason": "Closed"}), headers=admin
    )
    bad = await client.put(f"{THREAD_PATH}/hold", data=b"{}", headers=admin)

    assert refused.status == 403
    assert placed.status == 200
    held = await placed.json()
    assert (held["held"], held["matter"], held["case"], held["placedBy"]) == (
        True,
        "CASE-4471",
        "CASE-4471",
        "Ada Admin (entra)",
    )
    assert [h["matter"] for h in (await listed.json())["holds"]] == ["CASE-4471"]
    assert again.status == 200
    assert ((await again.json())["held"], (await again.json())["holds"]) == (False, [])
    assert not_held.status == 400
    assert bad.status == 400
    assert (await bad.json())["detail"] == "a hold needs a matter (the case id it is for)"
    await services.gate.close()  # the 403 is counted among the refusals, stored at shutdown
    found = [(r["action"], r["outcome"]) for r in await records(services)]
    assert found == [
        ("hold.add", "started"),
        ("hold.add", "done"),
        ("hold.read", "allowed"),
        ("hold.release", "started"),
        ("hold.release", "done"),
        ("hold.release", "refused"),  # not on hold, recorded by the holds
        ("hold.add", "refused"),  # no matter, recorded by the holds
        ("refusals", "refused"),  # the reader's 403
    ]
    refusal = (await records(services))[-1]["details"]
    assert (refusal["statuses"], refusal["routes"]) == ({"403": 1}, {"hold.add": 1})


async def test_a_second_matter_over_the_api_keeps_the_first_and_a_release_names_its_matter(
    served, provider
):
    client, _ = served
    admin = admin_of(provider)
    for matter in ("CASE-4471", "CASE-9000"):
        body = json.dumps({"matter": matter, "reason": f"Hold for {matter}"})
        assert (await client.put(f"{THREAD_PATH}/hold", data=body, headers=admin)).status == 200

    unnamed = await client.delete(
        f"{THREAD_PATH}/hold", data=json.dumps({"reason": "Closed"}), headers=admin
    )
    released = await client.delete(
        f"{THREAD_PATH}/hold",
        data=json.dumps({"matter": "CASE-4471", "reason": "Settled"}),
        headers=admin,
    )

    assert unnamed.status == 400
    assert "CASE-4471, CASE-9000" in (await unnamed.json())["detail"]
    answer = await released.json()
    assert (answer["matter"], answer["held"]) == ("CASE-4471", False)
    assert [(h["matter"], h["reason"]) for h in answer["holds"]] == [
        ("CASE-9000", "Hold for CASE-9000")
    ]


async def test_a_custodian_hold_over_the_api_holds_every_thread_of_the_participant(
    served, provider
):
    client, services = served
    admin = admin_of(provider)
    path = f"/api/participants/{quote(ALICE, safe='')}/hold"
    body = json.dumps({"matter": "CASE-4471", "reason": "Custodian"})

    placed = await client.put(path, data=body, headers=admin)
    thread = await (await client.get(f"{THREAD_PATH}/hold", headers=admin)).json()
    custodian = await (await client.get(path, headers=admin)).json()
    released = await client.delete(
        f"{path}?matter=CASE-4471", data=b'{"reason": "R"}', headers=admin
    )

    assert placed.status == 200
    assert (await placed.json())["participantId"] == ALICE
    assert [(h["scope"], h["participantId"]) for h in thread["holds"]] == [("participant", ALICE)]
    assert (custodian["held"], [h["matter"] for h in custodian["holds"]]) == (True, ["CASE-4471"])
    assert (await released.json())["holds"] == []
    assert [r["target"] for r in await records(services) if r["action"] == "hold.add"] == [
        {"participantId": ALICE},
        {"participantId": ALICE},
    ]


LONG = quote("19:" + "x" * 300, safe="")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("DELETE", f"/api/threads/{LONG}/hold", '{"matter": "M", "reason": "R"}', 400, "too long"),
        ("PUT", f"/api/threads/{LONG}/hold", '{"matter": "M", "reason": "R"}', 400, "too long"),
        ("PUT", "/api/threads/19%3Anothing%40thread.v2/hold", '{"matter": "M", "reason": "R"}',
         404, "holds nothing of thread"),
        ("DELETE", f"{THREAD_PATH}/hold", '{"matter": "M", "reason": "R"}', 400, "not on hold"),
        ("PUT", f"{THREAD_PATH}/hold", "not json", 400, "the body is not JSON"),
        ("PUT", f"{THREAD_PATH}/hold", '["M"]', 400, "must be a JSON object"),
        ("PUT", f"{THREAD_PATH}/hold", '{"matter": 7, "reason": "R"}', 400, "matter must be text"),
        ("PUT", f"{THREAD_PATH}/hold?matter=M", '{"matter": "M", "reason": "R"}', 400,
         "unknown query parameter 'matter'"),
        ("DELETE", f"{THREAD_PATH}/hold?matter=A", '{"matter": "B", "reason": "R"}', 400,
         "more than one matter"),
        ("PUT", f"{THREAD_PATH}/hold", json.dumps({"matter": "M" * 300, "reason": "R"}), 400,
         "matter is too long"),
    ],
)  # fmt: skip
async def test_a_refused_hold_request_answers_a_precise_4xx_and_is_recorded(
    served, provider, method, path, body, status, detail
):
    client, services = served

    response = await client.request(method, path, data=body, headers=admin_of(provider))

    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert detail in (await response.json())["detail"]
    found = await records(services)
    assert [(r["action"], r["outcome"]) for r in found] == [
        ("hold.add" if method == "PUT" else "hold.release", "refused")
    ]
    assert detail in found[0]["details"]["why"]


async def test_a_release_whose_intent_cannot_be_recorded_answers_503_and_changes_nothing(
    azurite, provider
):
    settings = fresh_settings(azurite.connection_string, access=entra(provider))
    storage = Instrumented(AzureStorage.from_settings(settings))
    services = build(settings, storage=storage)
    await services.intake.accept([RawEvent.from_value(message_event(message_id=new_message_id()))])
    admin = admin_of(provider)
    body = json.dumps({"matter": "CASE-4471", "reason": "Litigation hold"})
    async with TestClient(TestServer(create_app(services))) as client:
        assert (await client.put(f"{THREAD_PATH}/hold", data=body, headers=admin)).status == 200
        storage.failing["create"] = 1  # the next audit record cannot be stored
        released = await client.delete(f"{THREAD_PATH}/hold", data=body, headers=admin)
        after = await (await client.get(f"{THREAD_PATH}/hold", headers=admin)).json()
        found = await records(services)
    await services.close()

    assert released.status == 503
    assert released.headers["Retry-After"] == "30"
    assert (after["held"], [h["matter"] for h in after["holds"]]) == (True, ["CASE-4471"])
    assert [(r["action"], r["outcome"]) for r in found] == [
        ("hold.add", "started"),
        ("hold.add", "done"),
        ("hold.read", "allowed"),
    ]


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
