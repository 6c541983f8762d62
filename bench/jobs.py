"""python -m bench.jobs: what the daily jobs cost as the archive grows, on Azurite.

1. **A sealing run right after a sealing run, with one thread changed**, at two archive
   sizes (`--small`, `--large` threads at rest): the threads at rest were archived two
   days before and the last run's cursor is where a run an hour ago left it, so the run
   reads the activity since (one range query) and seals the one changed thread. The ratio
   large/small is the figure (target: at most 1.5). Beside it, the old way at the small
   size: the full sweep run again with nothing changed, per thread at rest.
2. **The fan-out**: `--changed` threads sealed through the jobs queue by one `archiver
   serve` process, then (on a fresh archive) by two; the ratio two/one (target: at most
   0.6 where the machine has the cores for two workers and Azurite).

python -m bench.jobs                                  # 200 and 20,000 at rest; 1,000 changed
python -m bench.jobs --small 100 --large 2000 --changed 60   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.activity import next_cursor
from archiver.core.envelopes import split_body
from archiver.core.events import classify
from archiver.core.evidence.signatures import PemSigner
from archiver.core.jobs import Kind
from archiver.core.jobsettings import JobSettings
from archiver.core.settings import Settings, StorageSettings
from archiver.hosts.azurite import Endpoints
from archiver.jobs.runs import Runs
from archiver.jobs.selection import SEAL, Selection
from archiver.sealing.sealer import Sealer
from archiver.storage.azure import AzureStorage
from bench.contenders import PROJECT, azurite
from bench.seals import cpu_seconds, delivered, own_azurite
from bench.workload import Workload, traffic


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them (and --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__)
    parser.add_argument("--small", type=int, default=200, help="threads at rest, small archive")
    parser.add_argument("--large", type=int, default=20_000, help="threads at rest, large")
    parser.add_argument("--changed", type=int, default=1000, help="threads the fan-out seals")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    arguments = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    with azurite() as endpoints:
        for size in (arguments.small, arguments.large):
            figures[f"changed run, {size} at rest"] = asyncio.run(_changed_run(endpoints, size))
        figures["walk, per thread"] = asyncio.run(_walk(endpoints, arguments.small))
    for workers in (1, 2):
        figures[f"fan-out, {workers} workers"] = _fan_out(arguments.changed, workers)
    small = figures[f"changed run, {arguments.small} at rest"]["seconds"]
    large = figures[f"changed run, {arguments.large} at rest"]["seconds"]
    one, two = (figures[f"fan-out, {n} workers"]["seconds"] for n in (1, 2))
    figures["ratios"] = {"large/small": large / small, "two/one workers": two / one}
    for name, value in figures.items():
        print(f"{name}: {json.dumps(value)}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _settings(endpoints: Endpoints) -> Settings:
    unique = uuid.uuid4().hex[:12]
    return Settings(
        storage=StorageSettings(connection_string=endpoints.connection_string),
        container=f"bench-{unique}",
        messages_table=f"ChatMessages{unique}",
        threads_table=f"ChatThreads{unique}",
        holds_table=f"ChatHolds{unique}",
        checkpoints_container=f"bench-checkpoints-{unique}",
        jobs=JobSettings(
            activity_table=f"ChatActivity{unique}",
            queue=f"bench-jobs-{unique}",
            checkpoint_delay_minutes=0,
        ),
    )


async def _archive(storage: AzureStorage, seed: int, count: int, *, at: datetime) -> int:
    """About `count` threads of a message or two, archived `at` that time, 100 events a
    delivery; how many threads."""
    archive = Archive(storage, concurrency=32, timeout_seconds=120, clock=lambda: at)
    workload = Workload(name="at rest", fan_out=1, batch=100, threads=count)
    load = traffic(workload, versions=count, seed=seed)
    for batch in load.batches:
        await delivered(archive, [classify(event) for event in split_body(batch.body)])
    return load.threads


async def _changed_run(endpoints: Endpoints, at_rest: int) -> dict[str, Any]:
    settings = _settings(endpoints)
    storage = AzureStorage.from_settings(settings)
    now = datetime.now(UTC)
    try:
        await storage.prepare()
        await _archive(storage, 1, at_rest, at=now - timedelta(days=2))
        await storage.activity.move_cursor(SEAL, next_cursor(now - timedelta(hours=1)))
        await _archive(storage, 2, 1, at=now)
        sealer = Sealer(storage, PemSigner(Ed25519PrivateKey.generate()))
        runs = Runs(Selection(storage), batch=25)
        started = time.perf_counter()
        visit = await runs.visit(Kind.SEAL)
        results = [r async for r in sealer.seal_all(threads=visit.thread_ids)]
        await runs.settle(visit)
        seconds = time.perf_counter() - started
    finally:
        await storage.close()
    return {"seconds": round(seconds, 3), "visited": len(visit.thread_ids), "sealed": len(results)}


async def _walk(endpoints: Endpoints, at_rest: int) -> dict[str, Any]:
    """The old way, the full sweep (`seal --all`), run again with nothing changed: every
    thread the catalog lists, its blobs listed and its last seal read, at the small size."""
    settings = _settings(endpoints)
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        await _archive(storage, 1, at_rest, at=datetime.now(UTC))
        sealer = Sealer(storage, PemSigner(Ed25519PrivateKey.generate()))
        found = [r async for r in sealer.seal_all()]
        started = time.perf_counter()
        again = [r async for r in sealer.seal_all()]
        seconds = time.perf_counter() - started
    finally:
        await storage.close()
    assert all(r.unchanged for r in again), "nothing changed between the sweeps"
    return {"seconds per thread": round(seconds / max(1, len(found)), 5), "threads": len(found)}


def _fan_out(changed: int, workers: int) -> dict[str, Any]:
    """Seal `changed` new threads through the queue with `workers` local hosts: the wall
    time from the enqueue to the last seal, and the CPU Azurite and the workers spent."""
    with (
        own_azurite(on_disk=False) as (endpoints, emulator),
        tempfile.TemporaryDirectory() as folder,
    ):
        settings = _settings(endpoints)
        key = Path(folder) / "seal.pem"
        key.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        environment = _environment(settings) | {"ARCHIVE_SEAL_KEY": str(key)}
        threads = asyncio.run(_prepared(settings, changed))
        with contextlib.ExitStack() as stack:
            pids = [stack.enter_context(_worker(environment, Path(folder))) for _ in range(workers)]
            azurite_cpu, worker_cpu = cpu_seconds(emulator.pid), sum(map(cpu_seconds, pids))
            started = time.perf_counter()
            asyncio.run(_enqueued(settings))
            asyncio.run(_until_sealed(settings, threads))
            seconds = time.perf_counter() - started
            azurite_cpu = cpu_seconds(emulator.pid) - azurite_cpu
            worker_cpu = sum(map(cpu_seconds, pids)) - worker_cpu
    return {
        "seconds": round(seconds, 2),
        "threads": threads,
        "workers": workers,
        "Azurite CPU seconds": round(azurite_cpu, 2),
        "workers' CPU seconds": round(worker_cpu, 2),
    }


async def _enqueued(settings: Settings) -> None:
    """What `archiver jobs start seal --all` does, in this process."""
    storage = AzureStorage.from_settings(settings)
    try:
        queue = storage.queue(settings.jobs.queue)
        await queue.prepare()
        runs = Runs(Selection(storage), batch=settings.jobs.batch, checkpoint_delay=timedelta(0))
        await runs.enqueue(Kind.SEAL, await runs.visit(Kind.SEAL, sweep=True), queue)
    finally:
        await storage.close()


async def _prepared(settings: Settings, changed: int) -> int:
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        return await _archive(storage, 3, changed, at=datetime.now(UTC))
    finally:
        await storage.close()


async def _until_sealed(settings: Settings, count: int) -> None:
    storage = AzureStorage.from_settings(settings)
    try:
        while True:
            if len([n async for n in storage.blobs.names("seals/")]) >= count:
                return
            await asyncio.sleep(0.2)
    finally:
        await storage.close()


@contextlib.contextmanager
def _worker(environment: dict[str, str], folder: Path) -> Iterator[int]:
    from archiver.hosts.azurite import free_ports

    [port] = free_ports(1)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archiver",
            "serve",
            "--port",
            str(port),
            "--settings",
            str(folder / "absent.json"),
        ],
        cwd=PROJECT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def _environment(settings: Settings) -> dict[str, str]:
    assert settings.storage.connection_string is not None
    return os.environ | {
        "ARCHIVE_STORAGE": settings.storage.connection_string,
        "ARCHIVE_CONTAINER": settings.container,
        "ARCHIVE_MESSAGES_TABLE": settings.messages_table,
        "ARCHIVE_THREADS_TABLE": settings.threads_table,
        "ARCHIVE_HOLDS_TABLE": settings.holds_table,
        "ARCHIVE_CHECKPOINTS_CONTAINER": settings.checkpoints_container,
        "ARCHIVE_ACTIVITY_TABLE": settings.jobs.activity_table,
        "ARCHIVE_JOBS_QUEUE": settings.jobs.queue,
        "ARCHIVE_JOBS_CHECKPOINT_DELAY": "0",
    }


if __name__ == "__main__":
    sys.exit(main())
