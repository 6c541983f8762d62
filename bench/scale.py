"""python -m bench.scale: what each step of the archive costs per thread, the inputs of
the scale model (docs/performance.md, "Scale model").

On a fresh in-memory Azurite, through the archiver's own composition (archiver.bootstrap),
`--threads` threads of `--messages` messages each go through every step the archive takes
in a day, one step at a time, and each step's storage requests are counted by service and
method with the SDK's raw request hook (bench.counting: every HTTP attempt, what an
account bills). Requests on `ChatActivity` are counted apart as `activity`, so that the
activity the webhook records is its own figure. Each step is divided by what it is per:

- `first delivery`: the webhook's first delivery to a thread this hour (its messages in
  one request, the activity write included), per thread;
- `later delivery`: one more message to the thread in the same hour, per thread (no
  activity request: the process recorded the hour already);
- `activity window`: what a sealing run reads to find the changed threads (its cursor,
  one range query, the cursor moved), per run;
- `first seal`, `re-seal`: a sealing job's work on a changed thread (its first seal; a
  new seal after one new message), per thread;
- `checkpoint`: the checkpoint job after a sealing run, per run (all threads' heads moved);
- `catalog listing`: the full sweep's list of every thread, per run;
- `sweep visit`: the full sweep's sealing job on an unchanged thread, per thread;
- `verify`: a verify job, per message version (blob) checked;
- `queue`: a run's jobs sent, received and deleted on the jobs queue, per batch;
- `disposal`: a disposal job on a due thread, per thread.

Beside the counts, the CPU this process spent on a step per thread (`time.process_time`:
the worker's own CPU; Azurite runs in its own process), the instance-time input.

python -m bench.scale                       # 50 threads of 3 messages, about a minute
python -m bench.scale --quick --json f.json # 10 threads, for the test suite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.bootstrap import Services, build
from archiver.capture.archive import Archive
from archiver.capture.intake import Intake
from archiver.core.activity import hour_of
from archiver.core.envelopes import split_body
from archiver.core.jobs import Job, Kind
from archiver.core.jobsettings import JobSettings
from archiver.core.sealsettings import SealKey
from archiver.core.settings import Settings, StorageSettings
from archiver.hosts.azurite import Endpoints
from archiver.jobs.selection import SEAL
from archiver.storage.azure import AzureStorage
from bench.contenders import azurite
from bench.counting import StorageRequests, since, total
from bench.workload import Workload, traffic

RETENTION_DAYS = 7  # the traffic is from 2026-11-02: long past, every thread is due
BATCH = 25  # ARCHIVE_JOBS_BATCH's default
T = TypeVar("T")


class Requests:
    """Storage requests by service and method: blob, table, queue, and `activity` (the
    table requests on ChatActivity), each a bench.counting.StorageRequests tally. A blob
    listing (a GET with `comp=list`) is `blob LIST`: Azure bills it as a list operation,
    at about 12 times a read."""

    def __init__(self, *, queue_port: int, activity_table: str) -> None:
        self._queue_port = queue_port
        self._activity = activity_table
        self.storage = StorageRequests()  # blob and the other tables
        self.queue = StorageRequests()
        self.activity = StorageRequests()
        self.listing = StorageRequests()

    def __call__(self, pipeline_request: Any) -> None:
        """The `raw_request_hook`: count one request where it belongs."""
        request = pipeline_request.http_request
        url = urlsplit(request.url)
        if url.port == self._queue_port or ".queue." in (url.hostname or ""):
            self.queue(pipeline_request)
        elif self._activity in url.path or self._activity.encode() in _body(request):
            self.activity(pipeline_request)
        elif request.method == "GET" and "comp=list" in url.query:
            self.listing(pipeline_request)
        else:
            self.storage(pipeline_request)

    def snapshot(self) -> dict[str, int]:
        """The counts so far, keyed `service METHOD`."""
        counts = dict(self.storage.snapshot())
        if listed := sum(self.listing.snapshot().values()):
            counts["blob LIST"] = listed
        for service, tally in (("queue", self.queue), ("activity", self.activity)):
            for key, n in tally.snapshot().items():
                counts[f"{service} {key.split(' ', 1)[1]}"] = n
        return dict(sorted(counts.items()))


def _body(request: Any) -> bytes:
    """The request's body as far as it is bytes already (a table transaction's is)."""
    for attribute in ("content", "body", "data"):
        with_body = getattr(request, attribute, None)
        if isinstance(with_body, bytes):
            return with_body
        if isinstance(with_body, str):
            return with_body.encode()
    return b""


@dataclass(frozen=True)
class Step:
    """One measured step: its requests and CPU, and what they are divided by."""

    name: str
    per: str  # thread, run, batch or blob
    units: int
    requests: dict[str, int]
    cpu_seconds: float
    seconds: float

    def as_json(self) -> dict[str, Any]:
        """Totals and per-unit figures."""
        return {
            "per": self.per,
            "units": self.units,
            "requests": self.requests,
            "total": total(self.requests),
            "requests per unit": {k: round(v / self.units, 3) for k, v in self.requests.items()},
            "total per unit": round(total(self.requests) / self.units, 3),
            "cpu seconds per unit": round(self.cpu_seconds / self.units, 6),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Bench:
    """The archive under measurement and the steps measured on it."""

    services: Services
    intake: Intake
    counts: Requests
    hour: list[datetime]  # the webhook's clock: the hour its deliveries record
    counting: bool = False  # False: the warm-up round, nothing recorded
    steps: list[Step] = field(default_factory=list)

    async def step(self, name: str, per: str, units: int, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work`, recording its requests and CPU as one step of `units` `per`s."""
        before = self.counts.snapshot()
        cpu, began = time.process_time(), time.perf_counter()
        result = await work()
        cpu, seconds = time.process_time() - cpu, time.perf_counter() - began
        after = self.counts.snapshot()
        if self.counting:
            self.steps.append(Step(name, per, max(1, units), since(after, before), cpu, seconds))
        return result


def main(argv: list[str] | None = None) -> int:
    """Measure every step, print the table (and --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--threads", type=int, default=50, help="threads measured")
    parser.add_argument("--messages", type=int, default=3, help="messages in a first delivery")
    parser.add_argument("--quick", action="store_true", help="10 threads: checks it works")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    arguments = parser.parse_args(argv)
    threads = 10 if arguments.quick else arguments.threads
    began = time.perf_counter()
    with azurite() as endpoints:
        steps = asyncio.run(_measure(endpoints, threads, arguments.messages))
    figures = {
        "threads": threads,
        "messages per first delivery": arguments.messages,
        "seconds": round(time.perf_counter() - began, 1),
        "steps": {s.name: s.as_json() for s in steps},
    }
    print(_table(steps))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _settings(endpoints: Endpoints) -> Settings:
    unique = uuid.uuid4().hex[:12]
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Settings(
        storage=StorageSettings(connection_string=endpoints.connection_string),
        container=f"scale-{unique}",
        messages_table=f"ChatMessages{unique}",
        threads_table=f"ChatThreads{unique}",
        holds_table=f"ChatHolds{unique}",
        checkpoints_container=f"scale-checkpoints-{unique}",
        seal_key=SealKey(pem=pem),
        retention_days=RETENTION_DAYS,
        jobs=JobSettings(
            activity_table=f"ChatActivity{unique}",
            queue=f"scale-jobs-{unique}",
            batch=BATCH,
            checkpoint_delay_minutes=0,
        ),
    )


def _deliveries(threads: int, messages: int) -> list[list[str]]:
    """Each thread's events in order: `messages` for its first delivery, then one for the
    later delivery and one for the re-seal."""
    per_thread = messages + 2
    load = traffic(
        Workload(name="scale", fan_out=1, batch=100, threads=threads),
        versions=threads * per_thread,
        seed=27,
        shuffle_window=0,
    )
    by_thread: dict[str, list[str]] = {}
    for said, text in zip(load.versions, load.events, strict=True):
        by_thread.setdefault(said.thread_id, []).append(text)
    return list(by_thread.values())


async def _measure(endpoints: Endpoints, threads: int, messages: int) -> list[Step]:
    settings = _settings(endpoints)
    counts = Requests(queue_port=endpoints.queue_port, activity_table=settings.jobs.activity_table)
    storage = AzureStorage.from_settings(settings, request_hook=counts)
    services = build(settings, storage=storage)
    now = datetime.now(UTC)
    hour = [now - timedelta(hours=2)]
    # The webhook's clock is set by hand, so that no step straddles an hour's turn.
    archive = Archive(
        storage,
        concurrency=settings.storage_concurrency,
        timeout_seconds=settings.request_timeout_seconds,
        clock=lambda: hour[0],
    )
    bench = Bench(services, Intake(archive, settings), counts, hour)
    events = _deliveries(threads + 1, messages)
    try:
        await storage.prepare()
        await storage.queue(settings.jobs.queue).prepare()
        # A warm-up round on a thread of its own, two hours ago (outside the measured
        # round's window): every once-a-process cost (tables and containers made, the
        # seal key's public half stored, connections opened) before anything is counted.
        await _round(bench, settings, events[:1], messages)
        bench.counting, hour[0] = True, now
        await _round(bench, settings, events[1:], messages)
    finally:
        await services.close()
    return bench.steps


async def _round(bench: Bench, settings: Settings, events: list[list[str]], messages: int) -> None:
    """Every step on these threads, from their first delivery to their disposal."""
    storage, work, runs = bench.services.storage, bench.services.work, bench.services.runs
    queue = storage.queue(settings.jobs.queue)
    count = len(events)
    await storage.activity.move_cursor(SEAL, hour_of(bench.hour[0]))

    def deliveries(first: int, last: int) -> Callable[[], Awaitable[None]]:
        async def deliver() -> None:
            for texts in events:
                await _deliver(bench.intake, texts[first:last])

        return deliver

    await bench.step("first delivery", "thread", count, deliveries(0, messages))
    await bench.step("later delivery", "thread", count, deliveries(messages, messages + 1))
    visit = await bench.step("activity window", "run", 1, lambda: runs.visit(Kind.SEAL))
    assert len(visit.thread_ids) == count, "the window holds every thread written"
    jobs = runs.jobs(Kind.SEAL, visit)
    await bench.step("first seal", "thread", count, lambda: _run(work, jobs[:-1], "sealed"))
    await bench.step("cursor moved", "run", 1, lambda: runs.settle(visit))
    await bench.step("checkpoint", "run", 1, lambda: _run(work, jobs[-1:], "checkpoints"))
    await deliveries(messages + 1, messages + 2)()  # one new message a thread, not counted
    await storage.activity.move_cursor(SEAL, hour_of(bench.hour[0]))
    visit = await runs.visit(Kind.SEAL)
    jobs = runs.jobs(Kind.SEAL, visit)
    await bench.step("re-seal", "thread", count, lambda: _run(work, jobs[:-1], "sealed"))
    await runs.settle(visit)
    await _run(work, jobs[-1:], "checkpoints")
    sweep = await bench.step("catalog listing", "run", 1, lambda: runs.visit(Kind.SEAL, sweep=True))
    assert len(sweep.thread_ids) == count, "the sweep lists every thread held"
    jobs = runs.jobs(Kind.SEAL, sweep)
    await bench.step("sweep visit", "thread", count, lambda: _run(work, jobs[:-1], "unchanged"))
    await bench.step(
        "checkpoint, nothing changed", "run", 1, lambda: _run(work, jobs[-1:], "checkpoints")
    )
    versions = count * (messages + 2)
    verify = runs.jobs(Kind.VERIFY, sweep)
    await bench.step("verify", "blob", versions, lambda: _run(work, verify, "verified"))
    batches = [job.text() for job in verify]

    async def through_the_queue() -> None:
        for text in batches:
            await queue.send(text)
        received = await queue.receive(limit=32, visibility_seconds=60)
        assert len(received) == len(batches), "every batch sent is received"
        for delivery in received:
            await queue.delete(delivery)

    await bench.step("queue", "batch", len(batches), through_the_queue)
    dispose = runs.jobs(Kind.DISPOSE, sweep)
    await bench.step("disposal", "thread", count, lambda: _run(work, dispose, "disposed"))


async def _deliver(intake: Intake, texts: list[str]) -> None:
    body = ("[" + ",".join(texts) + "]").encode()
    await intake.accept(split_body(body))


async def _run(work: Any, jobs: list[Job], outcome: str) -> dict[str, int]:
    """Do the jobs in order, as `run_job` would; the summed outcomes, which must hold
    `outcome` for every thread."""
    counts: dict[str, int] = {}
    for job in jobs:
        for name, n in (await work.run(job)).items():
            counts[name] = counts.get(name, 0) + n
    threads = sum(len(job.threads) for job in jobs) or len(jobs)
    assert counts.get(outcome) == threads, f"expected {threads} {outcome}: {counts}"
    return counts


def _table(steps: list[Step]) -> str:
    lines = [
        "| Step | Per | Requests per unit | Total | CPU ms per unit |",
        "|---|---|---|--:|--:|",
    ]
    for step in steps:
        shown = step.as_json()
        detail = ", ".join(f"{k} {v:g}" for k, v in shown["requests per unit"].items())
        lines.append(
            f"| {step.name} | {step.per} | {detail} | {shown['total per unit']:g} "
            f"| {1000 * shown['cpu seconds per unit']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
