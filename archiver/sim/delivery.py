"""Delivering batches to a webhook the way Event Grid does.

Each batch is posted until it succeeds (2xx). 400, 401, 403 and 413 are final: Event
Grid dead-letters those events at once. Every other answer (503, 429, any 5xx), a timeout
or a broken connection is retried with exponential backoff and jitter, up to
`max_attempts` and within the events' time to live, after which the events are
dead-lettered as MaxDeliveryAttemptsExceeded or TimeToLiveExceeded. `send` is that loop
for one body: the test suite and the benchmark deliver with it wherever they stand in
for Event Grid.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from archiver.core.fields import format_timestamp
from archiver.sim.publication import Schema
from archiver.sim.schedule import Batch

FINAL_STATUSES = frozenset({400, 401, 403, 413})
# Event Grid's lastDeliveryOutcome names; other failing answers count as Busy.
_OUTCOMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "TimedOut",
    413: "PayloadTooLarge",
}
_CONTENT_TYPES = {
    Schema.EVENTGRID: "application/json; charset=utf-8",
    Schema.CLOUDEVENTS: "application/cloudevents-batch+json; charset=utf-8",
}


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How hard to push and how long to keep trying."""

    concurrency: int = 4
    max_attempts: int = 30  # Event Grid's default maxDeliveryAttempts
    time_to_live_seconds: float = 86_400.0  # Event Grid's default eventTimeToLive
    timeout_seconds: float = 30.0  # Event Grid waits 30 s for an answer
    backoff_seconds: float = 0.25
    backoff_cap_seconds: float = 8.0
    rate: float | None = None  # events per second, to watch a run in the viewer


@dataclass(frozen=True, kw_only=True)
class Target:
    """A subscriber endpoint."""

    url: str
    schema: Schema = Schema.EVENTGRID
    function_key: str | None = None

    def headers(self, attempt: int) -> dict[str, str]:
        """The headers Event Grid sends with a notification."""
        headers = {
            "Content-Type": _CONTENT_TYPES[self.schema],
            "aeg-event-type": "Notification",
            "aeg-subscription-name": "ACS-CHAT-ARCHIVER-SIMULATION",
            "aeg-delivery-count": str(attempt - 1),
            "aeg-data-version": "1.0",
            "aeg-metadata-version": "1",
        }
        if self.function_key:
            headers["x-functions-key"] = self.function_key
        return headers


@dataclass
class Tally:
    """What happened at one target."""

    requests: int = 0
    delivered: int = 0  # events in batches that got a 2xx
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        """A request latency percentile in seconds (0 when nothing was sent)."""
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[
            round(share * 100) - 1
        ]


async def deliver(
    batches: Sequence[Batch],
    target: Target,
    policy: Policy,
    *,
    rng: random.Random,
    session: aiohttp.ClientSession,
    progress: Callable[[int], None] = lambda events: None,
) -> Tally:
    """Deliver every batch to `target` with `policy.concurrency` senders."""
    tally = Tally()
    queue: asyncio.Queue[tuple[float, Batch]] = asyncio.Queue()
    start = time.monotonic()
    offset = 0
    for batch in batches:
        due = start + offset / policy.rate if policy.rate else start
        queue.put_nowait((due, batch))
        offset += len(batch.events)
    jitter = random.Random(rng.getrandbits(64))

    async def sender() -> None:
        while not queue.empty():
            due, batch = queue.get_nowait()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await _post(batch, target, policy, tally, session, jitter)
            progress(len(batch.events))

    await asyncio.gather(*(sender() for _ in range(max(1, policy.concurrency))))
    return tally


@dataclass(frozen=True)
class Answer:
    """The last answer to one delivery, after `attempts` tries: status 0 when none came."""

    status: int
    outcome: str
    body: bytes
    attempts: int

    @property
    def delivered(self) -> bool:
        """Whether the endpoint accepted the delivery (2xx)."""
        return 200 <= self.status < 300

    @property
    def final(self) -> bool:
        """Whether the endpoint refused it for good, so Event Grid tries no more."""
        return self.status in FINAL_STATUSES


_JITTER = random.Random()


async def send(
    url: str,
    body: bytes,
    headers: Callable[[int], dict[str, str]],
    policy: Policy,
    *,
    session: aiohttp.ClientSession,
    jitter: random.Random = _JITTER,
    attempted: Callable[[Answer, float], None] = lambda answer, seconds: None,
) -> Answer:
    """Post `body` as Event Grid delivers a batch: again after any answer but a 2xx or a final
    refusal, until the policy's attempts or time to live run out; return the last answer."""
    expires = time.monotonic() + policy.time_to_live_seconds
    attempts = max(1, policy.max_attempts)
    answer = Answer(status=0, outcome="Never tried", body=b"", attempts=0)
    for attempt in range(1, attempts + 1):
        began = time.perf_counter()
        try:
            async with session.post(
                url,
                data=body,
                headers=headers(attempt),
                timeout=aiohttp.ClientTimeout(total=policy.timeout_seconds),
            ) as response:
                status, text = response.status, await response.read()
            answer = Answer(status, _OUTCOMES.get(status, "Busy"), text, attempt)
        except TimeoutError:
            answer = Answer(0, "TimedOut", b"", attempt)
        except aiohttp.ClientError:
            answer = Answer(0, "SocketError", b"", attempt)
        attempted(answer, time.perf_counter() - began)
        if answer.delivered or answer.final or attempt == attempts:
            return answer
        ceiling = min(policy.backoff_cap_seconds, policy.backoff_seconds * 2 ** (attempt - 1))
        pause = ceiling * (0.5 + jitter.random() / 2)
        if time.monotonic() + pause > expires:
            return answer
        await asyncio.sleep(pause)
    return answer


async def _post(
    batch: Batch,
    target: Target,
    policy: Policy,
    tally: Tally,
    session: aiohttp.ClientSession,
    jitter: random.Random,
) -> None:
    def attempted(answer: Answer, seconds: float) -> None:
        unanswered = {"TimedOut": "timeout", "SocketError": "connection error"}
        tally.statuses[str(answer.status) if answer.status else unanswered[answer.outcome]] += 1
        tally.requests += 1
        tally.latencies.append(seconds)

    answer = await send(
        target.url,
        batch.body,
        target.headers,
        policy,
        session=session,
        jitter=jitter,
        attempted=attempted,
    )
    if answer.delivered:
        tally.delivered += len(batch.events)
        return
    if answer.final:
        reason = "DeliveryFailed"
    elif answer.attempts == max(1, policy.max_attempts):
        reason = "MaxDeliveryAttemptsExceeded"
    else:
        reason = "TimeToLiveExceeded"
    _dead_letter(tally, batch, target, reason, answer.outcome, answer.status, answer.attempts)


def _dead_letter(
    tally: Tally,
    batch: Batch,
    target: Target,
    reason: str,
    outcome: str,
    status: int,
    attempts: int,
) -> None:
    """Record the batch's events as Event Grid writes them to the dead-letter container."""
    now = format_timestamp(datetime.now(UTC))
    for text in batch.events:
        event = json.loads(text)
        extra: dict[str, Any] = {
            "deadLetterReason": reason,
            "deliveryAttempts": attempts,
            "lastDeliveryOutcome": outcome,
            "publishTime": event.get("eventTime") or event.get("time"),
            "lastDeliveryAttemptTime": now,
        }
        if status:  # no HTTP answer at all (timeout, refused) leaves no status code
            extra["lastHttpStatusCode"] = status
        if target.schema is Schema.CLOUDEVENTS:
            extra = {key.lower(): value for key, value in extra.items()}
        tally.dead_letters.append(event | extra)
