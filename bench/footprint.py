"""Memory and cold start: peak RSS of the host for a 1 MiB request, and import time.

Peak RSS is the kernel's high-water mark (VmHWM) of a fresh archiver host process
after it archived one request of ~1 MiB (Event Grid's largest delivery). Import time
compares what a cold Functions worker pays for the archiver (import `function_app`
and build its services, which imports the storage SDKs) with the imports it cannot
avoid (`azure.functions`, the async Blob and Table clients and their aiohttp
transport), each in a fresh interpreter, alternating, the median of several.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.contenders import PROJECT, BenchError, azurite, served
from bench.workload import Workload, traffic

_BARE = "import azure.functions, aiohttp, azure.storage.blob.aio, azure.data.tables.aio"
_APP = "import function_app; function_app.runtime.services()"
_TIMED = "import time; began = time.perf_counter(); {code}; print(time.perf_counter() - began)"


@dataclass(frozen=True)
class Memory:
    """The host's resident memory, idle and at its peak, and the request that peaked it."""

    idle_mib: float
    peak_mib: float
    request_bytes: int
    events: int


@dataclass(frozen=True)
class Imports:
    """Median seconds to import the archiver's entry point, and the bare minimum."""

    app_seconds: float
    bare_seconds: float

    @property
    def ratio(self) -> float:
        """How many times the unavoidable imports the archiver costs."""
        return self.app_seconds / self.bare_seconds


def memory(*, seed: int) -> Memory:
    """Post one ~1 MiB batch of new messages to a fresh host and read its peak RSS."""
    workload = Workload(name="1 MiB request", fan_out=1, batch=5000)
    batches = traffic(workload, versions=1500, seed=seed).batches
    body = max((b for b in batches), key=lambda b: len(b.body)).body
    if len(body) > 1024 * 1024:
        raise BenchError(f"the 1 MiB request came out at {len(body)} bytes")
    with azurite() as endpoints, served("bench.host", endpoints) as (base, pid):
        idle = _rss(pid, "VmRSS")
        asyncio.run(_post(f"{base}/api/events", body))
        peak = _rss(pid, "VmHWM")
    return Memory(
        idle_mib=idle, peak_mib=peak, request_bytes=len(body), events=body.count(b'"eventType"')
    )


def imports(*, runs: int) -> Imports:
    """Median import times over `runs` fresh interpreters of each kind."""
    app: list[float] = []
    bare: list[float] = []
    environment = os.environ | {"ARCHIVE_STORAGE": "UseDevelopmentStorage=true"}
    for _ in range(runs):
        for code, into in ((_BARE, bare), (_APP, app)):
            done = subprocess.run(
                [sys.executable, "-c", _TIMED.format(code=code)],
                cwd=PROJECT,
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            into.append(float(done.stdout.strip()))
    return Imports(app_seconds=statistics.median(app), bare_seconds=statistics.median(bare))


async def _post(url: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        if response.status != 200:
            raise BenchError(f"the 1 MiB request was answered {response.status}")


def _rss(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"/proc/{pid}/status has no {field}")
