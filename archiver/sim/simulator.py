"""`python -m archiver simulate`: play ACS and Event Grid against a webhook.

Generates conversations, publishes their events in the chosen flavour and schema,
writes the ground truth, then delivers the events in shuffled, repeated batches
with Event Grid's retry rules, and reports what happened.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from archiver.core.progress import Progress
from archiver.sim.conversations import Shape, conversations
from archiver.sim.delivery import Policy, Tally, Target, deliver
from archiver.sim.handshake import handshake
from archiver.sim.publication import Flavour, Publisher, Schema
from archiver.sim.schedule import Batching, event_text, schedule
from archiver.sim.truth import GroundTruth

DEFAULT_URL = "http://127.0.0.1:7071/api/events"
_EPOCH = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Simulation:
    """One simulated run, fully described (the same description gives the same run)."""

    url: str = DEFAULT_URL
    mirror: str | None = None
    function_key: str | None = None
    seed: int = 1
    shape: Shape = Shape()
    flavour: Flavour = Flavour.THREAD
    schema: Schema = Schema.EVENTGRID
    batching: Batching = Batching()
    policy: Policy = Policy()
    handshake: bool = False
    truth_path: Path | None = Path("ground-truth.json")
    dead_letter_path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a run did, for the summary and the exit code."""

    simulation: Simulation
    happenings: int
    events: int
    deliveries: int
    batches: int
    truth: GroundTruth
    seconds: float = 0.0
    main: Tally = field(default_factory=Tally)
    mirror: Tally | None = None
    refused: str | None = None  # the handshake's problem, when it failed

    @property
    def ok(self) -> bool:
        """True when the handshake passed and no event was dead-lettered."""
        return self.refused is None and not self.main.dead_letters

    def to_json(self) -> dict[str, Any]:
        """The summary as data (`--json`)."""
        return {
            "seed": self.simulation.seed,
            "url": self.simulation.url,
            "flavour": str(self.simulation.flavour),
            "schema": str(self.simulation.schema),
            "threads": len(self.truth.threads),
            "happenings": self.happenings,
            "versions": len(self.truth.versions),
            "events": self.events,
            "deliveries": self.deliveries,
            "batches": self.batches,
            "requests": self.main.requests,
            "statuses": dict(sorted(self.main.statuses.items())),
            "delivered": self.main.delivered,
            "deadLettered": len(self.main.dead_letters),
            "seconds": round(self.seconds, 3),
            "eventsPerSecond": round(self.main.delivered / max(self.seconds, 1e-9), 1),
            "latencyMs": {
                name: round(self.main.percentile(share) * 1000, 1)
                for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
            },
            "handshake": "skipped" if not self.simulation.handshake else (self.refused or "passed"),
            "mirror": None
            if self.mirror is None
            else {
                "url": self.simulation.mirror,
                "requests": self.mirror.requests,
                "statuses": dict(sorted(self.mirror.statuses.items())),
                "deadLettered": len(self.mirror.dead_letters),
            },
        }


async def simulate(
    simulation: Simulation, *, progress: Callable[[int], Progress] | None = None
) -> Outcome:
    """Run `simulation` end to end; `progress` makes a tally for the events to deliver."""
    rng = random.Random(simulation.seed)
    resource = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    topic = (
        f"/subscriptions/{uuid.UUID(int=rng.getrandbits(128), version=4)}/resourceGroups"
        "/chat-simulation/providers/Microsoft.Communication/communicationServices/contoso-chat"
    )
    start = _EPOCH + timedelta(minutes=rng.randrange(60 * 24 * 30))
    happenings = conversations(simulation.shape, rng=rng, start=start, resource=resource)
    publisher = Publisher(topic=topic, flavour=simulation.flavour, schema=simulation.schema)
    events = [event_text(e) for h in happenings for e in publisher.events(h, rng)]
    truth = GroundTruth.of(happenings, seed=simulation.seed)
    if simulation.truth_path is not None:
        truth.write(simulation.truth_path)  # first, so even an interrupted run leaves it
    batches = schedule(events, simulation.batching, rng)
    targets = [
        Target(url=simulation.url, schema=simulation.schema, function_key=simulation.function_key)
    ]
    if simulation.mirror:
        targets.append(Target(url=simulation.mirror, schema=simulation.schema))
    planned = Outcome(
        simulation=simulation,
        happenings=len(happenings),
        events=len(events),
        deliveries=sum(len(b.events) for b in batches),
        batches=len(batches),
        truth=truth,
    )
    connector = aiohttp.TCPConnector(limit=max(simulation.policy.concurrency, 1) * len(targets))
    async with aiohttp.ClientSession(connector=connector) as session:
        if simulation.handshake:
            for target in targets:
                refused = await handshake(
                    target,
                    session=session,
                    rng=rng,
                    timeout_seconds=simulation.policy.timeout_seconds,
                )
                if refused is not None and target is targets[0]:
                    return replace(planned, refused=refused)
        bar = None if progress is None else progress(sum(len(b.events) for b in batches))
        began = time.monotonic()
        tallies = await asyncio.gather(
            *(
                deliver(
                    batches,
                    target,
                    simulation.policy,
                    rng=random.Random(rng.getrandbits(64)),
                    session=session,
                    progress=bar.advance if bar and target is targets[0] else lambda n: None,
                )
                for target in targets
            )
        )
        seconds = time.monotonic() - began
        if bar is not None:
            bar.finish()
    if simulation.dead_letter_path is not None and tallies[0].dead_letters:
        with simulation.dead_letter_path.open("w", encoding="utf-8") as out:
            for letter in tallies[0].dead_letters:
                out.write(json.dumps(letter, ensure_ascii=False) + "\n")
    return replace(
        planned,
        seconds=seconds,
        main=tallies[0],
        mirror=tallies[1] if len(tallies) > 1 else None,
    )


def describe(outcome: Outcome, out: TextIO) -> None:
    """Print the human summary of a run."""
    summary = outcome.to_json()
    run = outcome.simulation
    messages = len(outcome.truth.latest)  # one latest version per message
    print(
        f"Simulated {summary['threads']} threads: {messages} messages, "
        f"{summary['versions'] - messages} edits and deletions, "
        f"{len(outcome.truth.changes)} thread changes (seed {run.seed})",
        file=out,
    )
    print(
        f"Published {summary['events']} events ({run.flavour}, {run.schema}); "
        f"delivered as {summary['deliveries']} events in {summary['batches']} batches "
        f"(redeliveries: {summary['deliveries'] - summary['events']})",
        file=out,
    )
    if outcome.refused:
        print(f"Handshake failed: {outcome.refused}", file=out)
        return
    statuses = ", ".join(f"{code}×{count}" for code, count in summary["statuses"].items())
    latency = summary["latencyMs"]
    print(f"Requests: {summary['requests']} ({statuses or 'none'}) to {run.url}", file=out)
    print(
        f"Delivered: {summary['delivered']} events in {summary['seconds']:.2f} s = "
        f"{summary['eventsPerSecond']:,.0f} events/s; latency p50 {latency['p50']:.0f} ms, "
        f"p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} ms",
        file=out,
    )
    print(f"Dead-lettered: {summary['deadLettered']} events", file=out)
    if summary["mirror"] is not None:
        mirror = summary["mirror"]
        codes = ", ".join(f"{code}×{count}" for code, count in mirror["statuses"].items())
        print(f"Mirror {mirror['url']}: {mirror['requests']} requests ({codes})", file=out)
    if run.truth_path is not None:
        print(
            f"Ground truth: {run.truth_path} ({summary['versions']} versions, "
            f"{len(outcome.truth.latest)} latest rows); check it with "
            f"`python -m archiver verify --truth {run.truth_path}`",
            file=out,
        )
