"""Refusals are counted, reads are recorded: over real HTTP against Azurite, the local host
and the function app in entra mode. A flood of refused requests costs no storage write
and leaves at most one record per caller and minute (`MOST_CALLERS + 1` a minute per
instance), and storing them never holds up an answer; an allowed read still leaves its
own record before it answers."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from urllib.parse import quote

import azure.functions as func
import pytest
from aiohttp.test_utils import TestClient, TestServer

from archiver.access.gate import Gate
from archiver.access.refusals import Refusals
from archiver.access.tally import MOST_ADDRESSES, MOST_CALLERS
from archiver.bootstrap import Services, build
from archiver.capture.webhook import Webhook
from archiver.core.envelopes import RawEvent
from archiver.core.fields import parse_timestamp
from archiver.core.governance.audit import REFUSALS
from archiver.core.settings import Settings
from archiver.governance.trail import AuditTrail
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.storage.azure import AzureStorage
from archiver.storage.ports import Storage
from tests.access.test_gate import entra
from tests.builders import THREAD, body, message_event, new_message_id
from tests.conftest import Invocation, archive_settings, fresh_settings, imported_function_app
from tests.instrumented import Instrumented
from tests.openid import AUDIENCE, TENANT, OpenIdProvider

THREAD_PATH = f"/api/threads/{quote(THREAD, safe='')}"
MOST_RECORDS_A_MINUTE = MOST_CALLERS + 1


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[OpenIdProvider]:
    async with OpenIdProvider() as running:
        yield running


@pytest.fixture
async def counted(
    azurite: emulator.Endpoints, provider: OpenIdProvider
) -> AsyncIterator[tuple[TestClient, Services, Instrumented]]:
    """The local host in entra mode over Azurite, each storage request counted, and one
    archived message."""
    settings = fresh_settings(azurite.connection_string, access=entra(provider))
    storage = Instrumented(AzureStorage.from_settings(settings))
    services = build(settings, storage=storage)
    await services.intake.accept([RawEvent.from_value(message_event(message_id=new_message_id()))])
    async with TestClient(TestServer(create_app(services))) as client:
        yield client, services, storage
    await services.close()


async def within_one_minute(seconds_needed: float = 20) -> None:
    """Start in a fresh minute when fewer than `seconds_needed` are left of this one."""
    now = datetime.now(UTC)
    left = 60 - now.second - now.microsecond / 1e6
    if left < seconds_needed:
        await asyncio.sleep(left + 0.05)


async def status(
    client: TestClient,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> int:
    async with client.request(method, path, headers=headers, data=data) as response:
        return response.status


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def every_record(services: Services) -> list[dict]:
    return [r async for r in services.trail.records()]


async def test_audit_flood_a_thousand_anonymous_401s_write_nothing_and_leave_one_record(counted):
    client, services, storage = counted
    await within_one_minute()
    before = sum(storage.requests.values())

    for _ in range(20):
        statuses = await asyncio.gather(*(status(client, "GET", THREAD_PATH) for _ in range(50)))
        assert set(statuses) == {401}
    written = sum(storage.requests.values()) - before
    await services.gate.close()  # the instance shuts down

    found = await every_record(services)
    assert written == 0  # not one storage request for a thousand refusals
    assert len(found) <= MOST_RECORDS_A_MINUTE
    [record] = found
    assert (record["action"], record["outcome"], record["principal"]["kind"]) == (
        REFUSALS,
        "refused",
        "anonymous",
    )
    assert record["clientIp"] == "127.0.0.1"
    details = record["details"]
    assert (details["count"], details["statuses"], details["routes"]) == (
        1000,
        {"401": 1000},
        {"read.thread": 1000},
    )
    first, last = parse_timestamp(details["first"]), parse_timestamp(details["last"])
    assert first <= last < parse_timestamp(record["time"])


async def test_refusals_from_two_callers_are_two_records_each_naming_its_caller(counted, provider):
    client, services, _ = counted
    eve = bearer(provider.token(provider.claims(roles=["X"], oid="0b7c-eve", name="Eve")))
    reason = b'{"reason": "Litigation hold"}'
    await within_one_minute()

    anonymous = [await status(client, "GET", THREAD_PATH) for _ in range(5)]
    by_eve = [
        *[await status(client, "GET", f"{THREAD_PATH}/messages", headers=eve) for _ in range(3)],
        *[
            await status(client, "PUT", f"{THREAD_PATH}/hold", data=reason, headers=eve)
            for _ in range(2)
        ],
        await status(client, "POST", "/api/events", data=body(message_event()), headers=eve),
    ]
    await services.gate.close()

    assert (anonymous, by_eve) == ([401] * 5, [403] * 5 + [401])
    first, second = await every_record(services)
    assert (first["principal"]["kind"], first["clientIp"], first["details"]["count"]) == (
        "anonymous",
        "127.0.0.1",
        5,
    )
    assert (second["principal"]["objectId"], second["principal"]["name"]) == ("0b7c-eve", "Eve")
    assert second["details"]["count"] == 6
    assert second["details"]["statuses"] == {"401": 1, "403": 5}  # 401: not Event Grid
    assert second["details"]["routes"] == {"events": 1, "hold.add": 2, "read.messages": 3}


async def test_an_allowed_read_still_leaves_its_own_record_before_it_answers(counted, provider):
    client, services, storage = counted
    await asyncio.gather(*(status(client, "GET", THREAD_PATH) for _ in range(100)))
    reader = bearer(provider.token(provider.claims(name="Ada Reader")))

    read = await status(client, "GET", THREAD_PATH, headers=reader)
    recorded = await every_record(services)  # right after the answer, nothing flushed
    storage.failing["create"] = 1
    async with client.get(THREAD_PATH, headers=reader) as unrecorded:
        withheld = (unrecorded.status, await unrecorded.read())

    assert read == 200
    assert [(r["action"], r["outcome"], r["status"]) for r in recorded] == [
        ("read.thread", "allowed", 200)
    ]
    assert recorded[0]["principal"]["name"] == "Ada Reader"
    assert withheld[0] == 503
    assert THREAD.encode() not in withheld[1]


class Slow(Instrumented):
    """Storage whose every blob write takes `seconds`."""

    def __init__(self, inner: Storage, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    async def hit(self, operation: str) -> None:
        await super().hit(operation)
        if operation == "create":
            await asyncio.sleep(self.seconds)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 10, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def with_refusals(services: Services, refusals: Refusals) -> Services:
    """`services` whose gate counts into `refusals`."""
    gate = Gate(services.settings.access, refusals=refusals)
    webhook = Webhook(
        services.intake,
        max_body_bytes=services.settings.max_body_bytes,
        allowed_rate=services.settings.allowed_rate,
        gate=gate,
    )
    return dataclasses.replace(services, gate=gate, webhook=webhook)


async def test_storing_a_minutes_refusals_slowly_never_holds_up_an_answer(counted, provider):
    _, built, storage = counted
    clock, callers = Clock(), 5
    slow = Slow(storage.inner, seconds=0.6)  # five records: 3 s of storing
    services = with_refusals(built, Refusals(AuditTrail(slow), clock=clock))
    tokens = [provider.token(provider.claims(roles=[], oid=f"oid-{n}")) for n in range(callers)]
    reader = bearer(provider.token())
    async with TestClient(TestServer(create_app(services))) as client:
        for token in tokens:
            assert await status(client, "GET", THREAD_PATH, headers=bearer(token)) == 403
        clock.now += timedelta(minutes=1)  # the minute closes: the next refusal stores it
        refusals = services.gate.refusals
        assert refusals is not None

        began = time.perf_counter()
        seconds: list[float] = []
        for n in range(40):
            start = time.perf_counter()
            headers = reader if n % 4 == 0 else {}
            assert await status(client, "GET", THREAD_PATH, headers=headers) in (200, 401)
            seconds.append(time.perf_counter() - start)
        answered_in = time.perf_counter() - began
        stored_meanwhile = refusals.stored
        await services.gate.close()
        await built.gate.close()

    assert stored_meanwhile < callers  # the answers came while the store was still going
    assert refusals.stored == callers + 1  # the 5 of the minute, and the last minute's one
    assert answered_in < 3
    assert max(seconds) < 0.6, seconds  # not one answer waited for one record's store
    print(f"answers while storing: median {statistics.median(seconds) * 1000:.1f} ms, "
          f"max {max(seconds) * 1000:.1f} ms")  # fmt: skip


@pytest.fixture
async def entra_app(settings: Settings, provider: OpenIdProvider) -> AsyncIterator[ModuleType]:
    """function_app imported with both routes checking tokens."""
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


def from_address(
    method: str, path: str, address: str, *, token: str | None = None, **route: str
) -> func.HttpRequest:
    """A request from `address`, with no token unless `token`."""
    headers = {"X-Forwarded-For": address} | ({"Authorization": f"Bearer {token}"} if token else {})
    return func.HttpRequest(
        method, f"https://x{path}", headers=headers, body=b"{}", route_params=route
    )


async def stored_records(settings: Settings) -> list[dict]:
    storage = AzureStorage.from_settings(settings)
    try:
        return [r async for r in AuditTrail(storage).records()]
    finally:
        await storage.close()


async def test_the_function_app_counts_refusals_on_every_token_checked_route(entra_app, settings):
    address, thread = "203.0.113.7, 10.0.0.1", {"threadId": THREAD}
    await within_one_minute()

    calls = [
        (entra_app.read_thread, "GET", THREAD_PATH, thread),
        (entra_app.read_messages, "GET", f"{THREAD_PATH}/messages", thread),
        (entra_app.read_versions, "GET", f"{THREAD_PATH}/messages/1/versions",
         thread | {"messageId": "1"}),
        (entra_app.change_hold, "DELETE", f"{THREAD_PATH}/hold", thread),
        (entra_app.search, "GET", "/api/search", {}),
        (entra_app.events, "POST", "/api/events", {}),
    ]  # fmt: skip

    answers = [
        await function(from_address(method, path, address, **route), Invocation())
        for function, method, path, route in calls
    ]
    await entra_app.runtime.close()  # the instance shuts down

    assert [a.status_code for a in answers] == [401] * 6
    [record] = await stored_records(settings)
    assert (record["action"], record["clientIp"], record["details"]["count"]) == (
        REFUSALS,
        "203.0.113.7",
        6,
    )
    assert record["details"]["routes"] == dict.fromkeys(
        ("events", "hold.release", "read.messages", "read.thread", "read.versions", "search"), 1
    )


async def test_past_the_cap_a_minutes_other_callers_share_one_record_and_principals_keep_theirs(
    entra_app, settings, provider
):
    callers = MOST_ADDRESSES + 100  # made-up X-Forwarded-For addresses
    reader = provider.token(provider.claims(oid="0b7c-ada", name="Ada Reader"))
    await within_one_minute()

    for n in range(callers):
        request = from_address("GET", THREAD_PATH, f"198.51.{n // 250}.{n % 250}", threadId=THREAD)
        assert (await entra_app.read_thread(request, Invocation())).status_code == 401
    placing = from_address(
        "PUT", f"{THREAD_PATH}/hold", "203.0.113.9", token=reader, threadId=THREAD
    )
    assert (await entra_app.change_hold(placing, Invocation())).status_code == 403
    await entra_app.runtime.close()

    found = await stored_records(settings)
    assert len(found) == MOST_ADDRESSES + 2 <= MOST_RECORDS_A_MINUTE
    *named, others, ada = found
    assert {r["principal"]["kind"] for r in named} == {"anonymous"}
    assert len({r["clientIp"] for r in named}) == MOST_ADDRESSES
    assert (others["principal"]["kind"], others["clientIp"]) == ("others", None)
    assert others["details"]["count"] == callers - MOST_ADDRESSES
    assert (ada["principal"]["name"], ada["details"]["statuses"]) == ("Ada Reader", {"403": 1})
    assert sum(r["details"]["count"] for r in found) == callers + 1
