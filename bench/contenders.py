"""Running one workload through one contender, on its own fresh Azurite.

Each run starts an in-memory Azurite on free ports, so no contender inherits another's
data or warm caches. The served contenders (the archiver's local host and the naive
handler) run as their own processes and receive the traffic over HTTP from Event
Grid-style delivery; the floor runs in this process, straight against storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from archiver.core.settings import DEFAULT_STORAGE_CONCURRENCY
from archiver.hosts.azurite import Endpoints, free_ports, start, stop
from archiver.sim.delivery import Policy, Tally, Target, deliver
from bench.counting import since, total
from bench.floor import floor, transaction_floor
from bench.workload import Traffic, Workload, traffic

PROJECT = Path(__file__).resolve().parent.parent
COUNTS_PATH = "/bench/storage-requests"
TRANSACTION_FLOOR = "tx floor"
WARM_UP = traffic(Workload(name="warm-up", fan_out=1, batch=1), versions=1, seed=1)


class BenchError(Exception):
    """A run could not be measured (a contender failed or lost events)."""


@dataclass(frozen=True, kw_only=True)
class Result:
    """One contender's run of one workload."""

    workload: str
    contender: str
    versions: int
    events: int  # events delivered, per-user copies and repeats included
    seconds: float
    storage: dict[str, int]
    threads: int = 0  # threads the traffic spans
    latencies: tuple[float, ...] = ()  # seconds per delivery request
    round_number: int = 0

    @property
    def versions_per_second(self) -> float:
        """Unique versions archived per second."""
        return self.versions / self.seconds

    @property
    def events_per_second(self) -> float:
        """Events accepted per second."""
        return self.events / self.seconds

    @property
    def storage_per_version(self) -> float:
        """Storage requests (every HTTP attempt) per unique version."""
        return total(self.storage) / self.versions

    def percentile(self, share: float) -> float | None:
        """A delivery latency percentile in seconds; None for a floor."""
        if not self.latencies:
            return None
        tally = Tally(latencies=list(self.latencies))
        return tally.percentile(share)


@contextlib.contextmanager
def azurite() -> Iterator[Endpoints]:
    """A fresh in-memory Azurite for one run."""
    blob, queue, table = free_ports(3)
    endpoints = Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    process = start(PROJECT, endpoints)
    try:
        yield endpoints
    finally:
        stop(process)


def run_floor(workload: Workload, traffic: Traffic, *, transactions: bool = False) -> Result:
    """A floor's run: the unavoidable writes only, row by row or (`transactions`) one
    table transaction per thread per delivery."""
    with azurite() as endpoints:
        run = asyncio.run(
            transaction_floor(
                tuple(b.events for b in traffic.batches),
                connection=endpoints.connection_string,
                concurrency=DEFAULT_STORAGE_CONCURRENCY,
            )
            if transactions
            else floor(
                traffic.events,
                connection=endpoints.connection_string,
                concurrency=DEFAULT_STORAGE_CONCURRENCY,
            )
        )
    return Result(
        workload=workload.name,
        contender=TRANSACTION_FLOOR if transactions else "floor",
        versions=len(traffic.versions),
        events=len(traffic.events),
        seconds=run.seconds,
        storage=run.requests,
        threads=traffic.threads,
    )


def run_served(
    workload: Workload,
    traffic: Traffic,
    *,
    contender: str,
    senders: int,
    rate: float | None = None,
    settings: Mapping[str, str] | None = None,
) -> Result:
    """A served contender's run: `contender` is "archiver" (bench.host, with `settings`
    beside its connection) or "naive"."""
    module = {"archiver": "bench.host", "naive": "bench.naive"}[contender]
    with azurite() as endpoints, served(module, endpoints, settings=settings) as (base, _):
        return asyncio.run(
            _deliver(workload, traffic, base, contender=contender, senders=senders, rate=rate)
        )


async def _deliver(
    workload: Workload,
    traffic: Traffic,
    base: str,
    *,
    contender: str,
    senders: int,
    rate: float | None,
) -> Result:
    # Event Grid's delivery (again after a 503, a 429 or a dropped connection, as a busy
    # machine gives now and then), its time to live cut to what a benchmark can wait.
    policy = Policy(concurrency=senders, rate=rate, time_to_live_seconds=120)
    connector = aiohttp.TCPConnector(limit=senders + 1)
    async with aiohttp.ClientSession(connector=connector) as session:
        # One message of its own first: the process creates its container and table
        # (once per process) and opens connections before the clock and the count start.
        await deliver(
            WARM_UP.batches,
            Target(url=f"{base}/api/events"),
            policy,
            rng=random.Random(1),
            session=session,
        )
        before = await _counts(session, base)
        began = time.perf_counter()
        tally = await deliver(
            traffic.batches,
            Target(url=f"{base}/api/events"),
            policy,
            rng=random.Random(7),
            session=session,
        )
        seconds = time.perf_counter() - began
        after = await _counts(session, base)
    if tally.dead_letters or tally.delivered != traffic.deliveries:
        raise BenchError(
            f"{contender} lost events on {workload.name}: statuses {dict(tally.statuses)}"
        )
    return Result(
        workload=workload.name,
        contender=contender,
        versions=len(traffic.versions),
        events=traffic.deliveries,
        seconds=seconds,
        storage=since(after, before),
        threads=traffic.threads,
        latencies=tuple(tally.latencies),
    )


async def _counts(session: aiohttp.ClientSession, base: str) -> dict[str, int]:
    async with session.get(base + COUNTS_PATH) as response:
        counts = json.loads(await response.text())
    assert isinstance(counts, dict)
    return {str(k): int(v) for k, v in counts.items()}


@contextlib.contextmanager
def served(
    module: str, endpoints: Endpoints, *, settings: Mapping[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """Run a contender's server process (bench.host takes `settings`, NAME to value);
    yield its base URL and pid once it answers."""
    (port,) = free_ports(1)
    extra = [f"--setting={name}={value}" for name, value in (settings or {}).items()]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--port",
            str(port),
            "--connection",
            endpoints.connection_string,
            *extra,
        ],
        cwd=PROJECT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + COUNTS_PATH, process)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    """Return once `url` answers 200, asking again after any failure until 60 s have passed
    (a deadline, not a wait: a slow start on a busy machine is not a failed one)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args!r} exited with {process.returncode}")
        with (
            contextlib.suppress(OSError, http.client.HTTPException),
            urllib.request.urlopen(url, timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within 60 s")
