"""python -m bench.analytics: the Parquet export's memory, at two archive sizes, in one run.

Each size runs in a fresh interpreter: `--threads` threads of `--messages` messages, each
message sent and edited once (two versions), archived through the archive use case into
the in-memory store, then exported to a folder twice: once timed, once with tracemalloc
on, for the peak of what the export itself allocates (the store's contents were
allocated before tracing began, so they are not counted) and pyarrow's own pool peak.
The store lists a prefix from a sorted index and is frozen out of the garbage
collector's walks, as an archive in Blob storage costs the process nothing; so the time
is the export's own work (parsing, figures, Parquet), not Azure's or Azurite's answers.
A bounded export's peaks stay flat while the archive grows tenfold; one that gathered
every row would grow with it.

python -m bench.analytics                          # 1,000 and 10,000 threads of 6 messages
python -m bench.analytics --threads 100 1000 --messages 4 --json analytics.json
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from archiver.capture.archive import Archive
from archiver.core.envelopes import split_body
from archiver.core.events import classify
from archiver.retrieval.analytics.export import Analytics, to_folder
from archiver.retrieval.analytics.tables import THREADS_PER_GROUP
from archiver.storage.memory import MemoryStorage
from archiver.storage.memoryblobs import MemoryBlobArchive
from bench.contenders import PROJECT
from bench.workload import Workload, traffic

SEED = 20261204
_MIB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    """Run every size in its own interpreter; print the figures (and write them as JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--messages", type=int, default=6, help="messages per thread")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.one:
        [threads] = options.threads
        print(json.dumps(asyncio.run(measure(threads, options.messages))))
        return 0
    runs = [_in_child(threads, options.messages) for threads in options.threads]
    print(report(runs))
    if options.json:
        Path(options.json).write_text(json.dumps(runs, indent=2) + "\n")
    return 0


async def measure(threads: int, messages: int) -> dict[str, Any]:
    """Archive `threads` threads of `messages` messages, then export them; the figures."""
    workload = Workload(name="analytics", fan_out=1, batch=100, edits=1, threads=threads)
    load = traffic(workload, versions=threads * messages * 2, seed=SEED, shuffle_window=0)
    storage = MemoryStorage(blobs=_Listed())  # the benchmark's own store: see _Listed
    archive = Archive(storage, concurrency=32, timeout_seconds=600)
    for start in range(0, len(load.events), 500):
        body = ("[" + ",".join(load.events[start : start + 500]) + "]").encode()
        await archive.store([classify(event) for event in split_body(body)])
    del load
    # The archive's contents live in this process only in the benchmark: out of the
    # garbage collector's sight, as they would be in Blob storage.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        await to_folder(storage, Analytics(), Path(folder))
        seconds = time.perf_counter() - began
        sizes = _sizes(Path(folder))
        tracemalloc.start()
        await to_folder(storage, Analytics(), Path(folder))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    versions = len(storage.blobs.contents)
    return {
        "threads": threads,
        "messages": threads * messages,
        "versions": versions,
        "seconds": round(seconds, 4),
        "messages_per_second": round(threads * messages / seconds),
        "python_peak_bytes": peak,
        "arrow_peak_bytes": pa.default_memory_pool().max_memory() or 0,
        "file_bytes": dict(sorted(sizes.items())),
        "threads_per_group": THREADS_PER_GROUP,
    }


def report(runs: list[dict[str, Any]]) -> str:
    """The runs as a table, and each peak's growth against the archive's."""
    lines = [
        "| threads | messages | versions | export s | messages/s | Python peak MiB "
        "| pyarrow peak MiB | messages.parquet MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run['threads']:,} | {run['messages']:,} | {run['versions']:,} "
            f"| {run['seconds']:.2f} | {run['messages_per_second']:,} "
            f"| {run['python_peak_bytes'] / _MIB:.1f} | {run['arrow_peak_bytes'] / _MIB:.1f} "
            f"| {run['file_bytes']['messages.parquet'] / _MIB:.2f} |"
        )
    small, large = runs[0], runs[-1]
    grown = large["messages"] / small["messages"]
    python = large["python_peak_bytes"] / small["python_peak_bytes"]
    arrow = large["arrow_peak_bytes"] / small["arrow_peak_bytes"]
    lines.append(
        f"\n{grown:.0f}x the messages: Python peak x{python:.2f}, pyarrow peak x{arrow:.2f}"
    )
    return "\n".join(lines)


class _Listed(MemoryBlobArchive):
    """The in-memory container, listing by prefix from a sorted index of its names: the
    plain one sorts every name for each listing, which at 100,000 blobs would be the
    benchmark's cost, not the export's (Blob storage lists a prefix by its index too)."""

    def __init__(self) -> None:
        super().__init__()
        self._sorted: list[str] = []

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names that start with `prefix`, in order."""
        await asyncio.sleep(0)
        if len(self._sorted) != len(self.contents):
            self._sorted = sorted(self.contents)
        index = bisect.bisect_left(self._sorted, prefix)
        while index < len(self._sorted) and self._sorted[index].startswith(prefix):
            yield self._sorted[index]
            index += 1


def _sizes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in folder.iterdir()}


def _in_child(threads: int, messages: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench.analytics", "--one"),
            *("--threads", str(threads), "--messages", str(messages)),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
