"""Delivering like Event Grid, over real HTTP to a scripted subscriber on a free port.

The subscriber answers each request with the next entry of its script (the last one
repeats) and remembers what it was sent, so each spec reads as one delivery story.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import aiohttp
import pytest
from aiohttp import web

from archiver.bootstrap import build
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.sim.delivery import Policy, Tally, Target, deliver, send
from archiver.sim.handshake import handshake
from archiver.sim.publication import Schema
from archiver.sim.schedule import Batch, event_text
from tests.builders import message_event, new_message_id

QUICK = Policy(backoff_seconds=0.01, backoff_cap_seconds=0.02, max_attempts=5)
DEAD_LETTER_FIELDS = (
    *("deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome"),
    *("lastHttpStatusCode", "publishTime", "lastDeliveryAttemptTime"),
)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One scripted reply; `stall` holds the request until the test ends."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    stall: bool = False


STALL = Answer(stall=True)


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    headers: dict[str, str]
    body: bytes


class Subscriber:
    """A webhook that answers from a script and records every request it gets."""

    def __init__(self, script: tuple[int | Answer, ...], *, together: int = 1) -> None:
        self.script = [a if isinstance(a, Answer) else Answer(a) for a in script]
        self.seen: list[Seen] = []
        self.in_flight = self.peak = 0
        self.together = together  # hold requests until this many are in flight at once
        self.gathered = asyncio.Event()
        self.released = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.method, dict(request.headers), await request.read()))
        answer = self.script[min(len(self.seen), len(self.script)) - 1]
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight >= self.together:
            self.gathered.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gathered.wait(), 1)
                if answer.stall:
                    await asyncio.wait_for(self.released.wait(), 10)
        finally:
            self.in_flight -= 1
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """Serve aiohttp applications on free ports for one test; yields `start(app) -> base URL`."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def subscriber(serve) -> AsyncIterator[Callable[..., Awaitable[Subscriber]]]:
    """`start(*script, together=1) -> Subscriber`, listening until the test ends."""
    made: list[Subscriber] = []

    async def start(*script: int | Answer, together: int = 1) -> Subscriber:
        hook = Subscriber(script, together=together)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", hook.handle)
        hook.url = f"{await serve(app)}/api/events"
        made.append(hook)
        return hook

    yield start
    for hook in made:
        hook.released.set()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def batch(count: int = 3, schema: Schema = Schema.EVENTGRID) -> Batch:
    events = (message_event(message_id=new_message_id(), schema=str(schema)) for _ in range(count))
    return Batch(tuple(event_text(event) for event in events))


async def delivered(batches, url, session, *, schema=Schema.EVENTGRID, key=None, **policy) -> Tally:
    target = Target(url=url, schema=schema, function_key=key)
    return await deliver(
        batches,
        target,
        dataclasses.replace(QUICK, **policy),
        rng=random.Random(7),
        session=session,
    )


async def test_a_503_is_retried_and_the_batch_delivered_once(subscriber, session):
    hook = await subscriber(503, 200)
    sent = batch()

    tally = await delivered([sent], hook.url, session)

    assert [s.headers["aeg-delivery-count"] for s in hook.seen] == ["0", "1"]
    assert [s.body for s in hook.seen] == [sent.body, sent.body]
    assert (tally.requests, tally.delivered, tally.dead_letters) == (2, 3, [])
    assert tally.statuses == {"503": 1, "200": 1}


@pytest.mark.parametrize("status", [429, 408, 500, 404])
async def test_busy_missing_and_failing_subscribers_are_retried(subscriber, session, status):
    hook = await subscriber(status, status, 200)

    tally = await delivered([batch()], hook.url, session)

    assert len(hook.seen) == 3
    assert (tally.delivered, tally.dead_letters) == (3, [])
    assert tally.statuses == {str(status): 2, "200": 1}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"), (413, "PayloadTooLarge")],
)
@pytest.mark.parametrize("schema", list(Schema))
async def test_a_final_status_dead_letters_every_event_at_once(
    subscriber, session, status, outcome, schema
):
    hook = await subscriber(status, 200)
    sent = batch(3, schema)

    tally = await delivered([sent], hook.url, session, schema=schema)

    assert len(hook.seen) == 1, "a final status is never retried"
    assert tally.delivered == 0
    named = {n: n.lower() if schema is Schema.CLOUDEVENTS else n for n in DEAD_LETTER_FIELDS}
    for letter, text in zip(tally.dead_letters, sent.events, strict=True):
        original = json.loads(text)
        assert set(letter) == set(original) | set(named.values())
        assert {k: v for k, v in letter.items() if k in original} == original
        assert letter[named["deadLetterReason"]] == "DeliveryFailed"
        assert letter[named["deliveryAttempts"]] == 1
        assert letter[named["lastDeliveryOutcome"]] == outcome
        assert letter[named["lastHttpStatusCode"]] == status
        assert letter[named["publishTime"]] == original.get("eventTime", original.get("time"))
        assert datetime.fromisoformat(letter[named["lastDeliveryAttemptTime"]])


async def test_a_subscriber_that_stalls_past_the_timeout_is_retried(subscriber, session):
    hook = await subscriber(STALL, 200)

    tally = await delivered([batch()], hook.url, session, timeout_seconds=0.3)

    assert len(hook.seen) == 2
    assert tally.statuses == {"timeout": 1, "200": 1}
    assert (tally.delivered, tally.dead_letters) == (3, [])


async def test_a_refused_connection_is_dead_lettered_after_max_attempts(session):
    [nobody] = emulator.free_ports(1)
    sent = batch(2)

    tally = await delivered(
        [sent], f"http://127.0.0.1:{nobody}/api/events", session, max_attempts=3
    )

    assert tally.statuses == {"connection error": 3}
    assert tally.requests == 3
    assert [
        (d["deadLetterReason"], d["deliveryAttempts"], d["lastDeliveryOutcome"])
        for d in tally.dead_letters
    ] == [("MaxDeliveryAttemptsExceeded", 3, "SocketError")] * 2


async def test_a_subscriber_failing_every_attempt_is_dead_lettered_with_its_last_status(
    subscriber, session
):
    hook = await subscriber(500)

    tally = await delivered([batch(1)], hook.url, session, max_attempts=4)

    assert len(hook.seen) == 4
    [letter] = tally.dead_letters
    assert letter["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
    assert (letter["deliveryAttempts"], letter["lastHttpStatusCode"]) == (4, 500)


async def test_a_subscriber_busy_past_the_time_to_live_is_dead_lettered_before_max_attempts(
    subscriber, session
):
    hook = await subscriber(503)
    began = time.monotonic()

    tally = await delivered(
        [batch(1)],
        hook.url,
        session,
        backoff_seconds=0.2,
        backoff_cap_seconds=0.4,
        max_attempts=30,
        time_to_live_seconds=1.0,
    )

    assert time.monotonic() - began < 2
    [letter] = tally.dead_letters
    assert letter["deadLetterReason"] == "TimeToLiveExceeded"
    assert 1 < letter["deliveryAttempts"] == len(hook.seen) < 30
    assert letter["lastHttpStatusCode"] == 503


async def test_one_body_sent_as_event_grid_sends_it_comes_back_with_the_accepting_answer(
    subscriber, session
):
    hook = await subscriber(503, 429, 502, Answer(200, b'{"archived": 3}'))

    answer = await send(hook.url, b"[]", Target(url=hook.url).headers, QUICK, session=session)

    assert (answer.delivered, answer.status, answer.attempts) == (True, 200, 4)
    assert answer.body == b'{"archived": 3}'
    assert [s.headers["aeg-delivery-count"] for s in hook.seen] == ["0", "1", "2", "3"]


async def test_one_body_refused_for_good_is_not_sent_again(subscriber, session):
    hook = await subscriber(Answer(400, b"bad"), 200)

    answer = await send(hook.url, b"[", Target(url=hook.url).headers, QUICK, session=session)

    assert (answer.delivered, answer.final, answer.attempts, answer.body) == (
        False,
        True,
        1,
        b"bad",
    )
    assert len(hook.seen) == 1


@pytest.mark.parametrize(
    ("schema", "content_type"),
    [
        (Schema.EVENTGRID, "application/json"),
        (Schema.CLOUDEVENTS, "application/cloudevents-batch+json"),
    ],
)
async def test_notifications_carry_event_grid_headers(subscriber, session, schema, content_type):
    hook = await subscriber(200)

    await delivered([batch(1, schema)], hook.url, session, schema=schema, key="s3cret")
    await delivered([batch(1, schema)], hook.url, session, schema=schema)

    keyed, plain = (s.headers for s in hook.seen)
    assert keyed["aeg-event-type"] == "Notification"
    assert keyed["Content-Type"].split(";")[0] == content_type
    assert keyed["x-functions-key"] == "s3cret"
    assert "x-functions-key" not in plain


async def test_concurrent_senders_really_post_in_parallel(subscriber, session):
    hook = await subscriber(200, together=4)

    tally = await delivered([batch(1) for _ in range(8)], hook.url, session, concurrency=4)

    assert hook.peak == 4, "four requests were open at the subscriber at once, never more"
    assert tally.delivered == 8


async def test_a_rate_paces_delivery(subscriber, session):
    hook = await subscriber(200)
    began = time.monotonic()

    tally = await delivered([batch(1) for _ in range(20)], hook.url, session, rate=100.0)

    assert time.monotonic() - began >= 0.15, "20 events at 100/s take about 0.19 s"
    assert tally.delivered == 20


@pytest.mark.parametrize("schema", list(Schema))
async def test_the_handshake_passes_against_the_real_webhook(serve, session, settings, schema):
    services = build(settings)
    try:
        url = f"{await serve(create_app(services, function_key='s3cret'))}/api/events"
        target = Target(url=url, schema=schema, function_key="s3cret")

        refused = await handshake(target, session=session, rng=random.Random(3))
    finally:
        await services.close()

    assert refused is None


async def test_the_handshake_fails_when_the_wrong_code_comes_back(subscriber, session):
    hook = await subscriber(Answer(200, b'{"validationResponse": "not-the-code"}'))

    refused = await handshake(Target(url=hook.url), session=session, rng=random.Random(3))

    assert refused == 'validation answered 200: {"validationResponse": "not-the-code"}'
    assert hook.seen[0].headers["aeg-event-type"] == "SubscriptionValidation"


async def test_the_cloudevents_handshake_fails_without_an_allowed_origin(subscriber, session):
    hook = await subscriber(200)
    target = Target(url=hook.url, schema=Schema.CLOUDEVENTS)

    refused = await handshake(target, session=session, rng=random.Random(3))

    assert refused == "OPTIONS answered 200 with WebHook-Allowed-Origin None"
    assert hook.seen[0].method == "OPTIONS"
    assert hook.seen[0].headers["WebHook-Request-Origin"] == "eventgrid.azure.net"


async def test_the_handshake_fails_when_nobody_listens(session):
    [nobody] = emulator.free_ports(1)
    url = f"http://127.0.0.1:{nobody}/api/events"

    refused = await handshake(Target(url=url), session=session, rng=random.Random(3))

    assert refused == f"{url} did not answer the validation handshake (ClientConnectorError)"
