"""Memory and cold start: peak RSS of the host for a 1 MiB request, and import time.

Peak RSS is the kernel's high-water mark (VmHWM) of a fresh archiver host process
after it archived one request of ~1 MiB (Event Grid's largest delivery).

Import time compares what a cold Functions worker pays for the archiver (import
`function_app` and build its services, which imports the storage SDKs) with what it
cannot avoid: `azure.functions` with a v2 `FunctionApp` made (its decorators module is
imported only then), the async Blob and Table clients with their aiohttp transport, and
pydantic with one model defined (pydantic's first model pays for its
plugin scan and core schema machinery, whoever defines it). The app is imported from a
copy of what `azd` ships (bench.package), read-only and with the bytecode the prepackage
hook compiles, as the Function App runs it; the same import from source alone, as
without that hook, is reported beside it. Each import runs in a fresh interpreter,
alternating, and the median of several counts.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from archiver.sim.delivery import Policy, Target, send
from bench.contenders import BenchError, azurite, served
from bench.package import compile_bytecode, copy_package
from bench.workload import Workload, traffic

_BARE = (
    "import azure.functions, aiohttp, azure.storage.blob.aio, azure.data.tables.aio; "
    "azure.functions.FunctionApp(); "
    "from pydantic import BaseModel; "
    "type('Model', (BaseModel,), {'__annotations__': {'x': int}})"
)
_APP = "import function_app; function_app.runtime.services()"
# Event Grid's delivery, its time to live cut to what a benchmark run can wait.
_EVENT_GRID = Policy(time_to_live_seconds=120)
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
    """Median seconds to import the archiver's entry point as shipped, from source alone,
    and the bare minimum."""

    app_seconds: float
    bare_seconds: float
    source_seconds: float

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
    times: dict[str, list[float]] = {"app": [], "bare": [], "source": []}
    # Without coverage measurement (the test suite's), which would slow every import.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")} | {
        "ARCHIVE_STORAGE": "UseDevelopmentStorage=true",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    with tempfile.TemporaryDirectory() as shipped, tempfile.TemporaryDirectory() as source:
        compile_bytecode()
        copy_package(Path(shipped))
        copy_package(Path(source), bytecode=False)
        folders = {"app": shipped, "bare": shipped, "source": source}
        for _ in range(runs):
            for kind, code in (("bare", _BARE), ("app", _APP), ("source", _APP)):
                done = subprocess.run(
                    [sys.executable, "-c", _TIMED.format(code=code)],
                    cwd=folders[kind],
                    env=environment,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times[kind].append(float(done.stdout.strip()))
    return Imports(
        app_seconds=statistics.median(times["app"]),
        bare_seconds=statistics.median(times["bare"]),
        source_seconds=statistics.median(times["source"]),
    )


async def _post(url: str, body: bytes) -> None:
    """Deliver the body as Event Grid does (archiver.sim.delivery.send): again after a 503,
    429, other 5xx or broken connection (Azurite now and then drops a kept-alive connection
    the archiver then reuses, and answers slowly on a busy machine), for up to two minutes."""
    async with aiohttp.ClientSession() as session:
        answer = await send(url, body, Target(url=url).headers, _EVENT_GRID, session=session)
    if not answer.delivered:
        raise BenchError(
            f"the 1 MiB request was answered {answer.status or answer.outcome}"
            f" after {answer.attempts} deliveries"
        )


def _rss(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"/proc/{pid}/status has no {field}")
