"""python -m bench.seals: how long sealing and checking the seals take, and at what rate.

Archives a workload of message versions into a fresh in-memory Azurite through the
archive use case, seals every thread, writes the checkpoint, then checks every seal the
way `archiver verify --seals` does (every blob read and hashed again, every signature and
row checked) and the archive against the checkpoint as `archiver verify --checkpoint
latest` does (the same, plus the chain of checkpoints and every thread head).

Beside `verify --seals` it reads the same blobs with a bare Azure SDK loop (the async
BlobServiceClient, download_blob over the same names, as many at once as the check
reads), in the same run on the same Azurite: what the store itself allows. The CPU
Azurite spends per read, in both, shows whose time grows with the archive.

python -m bench.seals                                    # 100,000 versions over 100 threads
python -m bench.seals --versions 20000 --threads 100     # the figure the docs quote
python -m bench.seals --versions 2000 --sequential       # also one thread at a time
python -m bench.seals --versions 2000 --profile verify.prof   # and where its CPU goes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.blob.aio import BlobServiceClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import split_body
from archiver.core.errors import StorageUnavailable
from archiver.core.events import classify
from archiver.core.evidence.signatures import PemSigner, PublicKey
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.hosts.azurite import Endpoints, free_ports, start, stop
from archiver.sealing.checkpointcheck import check_checkpoint
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.holdings import READERS, holdings
from archiver.sealing.inspection import CONCURRENCY, catalogued, inspect
from archiver.sealing.judgement import Judgement
from archiver.sealing.sealer import Sealer
from archiver.storage.azure import AzureStorage
from archiver.storage.clients import EMULATOR_BLOB_API_VERSION
from bench.contenders import PROJECT
from bench.workload import Workload, traffic

SEED = 20261203


def main(argv: list[str] | None = None) -> int:
    """Run it; print the figures (and write them as JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.seals", description=__doc__)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--on-disk", action="store_true", help="Azurite keeps its data on disk")
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="threads verify checks at once"
    )
    parser.add_argument(
        "--sequential", action="store_true", help="also verify one thread at a time (0.7's way)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="then verify once more under cProfile, stats to FILE"
    )
    options = parser.parse_args(argv)
    figures = asyncio.run(
        measure(
            versions=options.versions,
            threads=options.threads,
            on_disk=options.on_disk,
            concurrency=options.concurrency,
            sequential=options.sequential,
            profile=options.profile,
        )
    )
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    altered = figures["altered"]
    return 0 if altered == 0 else 1


async def measure(
    *,
    versions: int,
    threads: int,
    on_disk: bool = False,
    concurrency: int = CONCURRENCY,
    sequential: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Archive, seal and check `versions` versions; the times and rates."""
    workload = Workload(name="seals", fan_out=1, batch=100, edits=1, threads=threads)
    load = traffic(workload, versions=versions, seed=SEED)
    key = Ed25519PrivateKey.generate()
    public = PublicKey(key.public_key())
    with own_azurite(on_disk=on_disk) as (endpoints, emulator):
        settings = Settings.from_mapping({"ARCHIVE_STORAGE": endpoints.connection_string})
        storage = AzureStorage.from_settings(settings)
        try:
            await storage.prepare()
            archive = Archive(storage, concurrency=32, timeout_seconds=600)
            began = time.perf_counter()
            for batch in load.batches:
                raw = split_body(batch.body)
                await delivered(archive, [classify(event) for event in raw])
            archived = time.perf_counter() - began
            began = time.perf_counter()
            sealed = [s async for s in Sealer(storage, PemSigner(key)).seal_all()]
            sealing = time.perf_counter() - began
            names = await _read_by_verify(storage)
            keys = {public.key_id: public}
            bare = await _timed(emulator, _bare_reads(endpoints, settings.container, names))
            ours = await _timed(emulator, _verified(storage, keys, concurrency=concurrency))
            checked, checking = ours.result, ours.seconds
            steps = {"bare SDK reads": bare, "verify --seals": ours}
            if sequential:
                steps["verify --seals, one thread at a time"] = await _timed(
                    emulator, _verified(storage, keys, concurrency=1)
                )
            if profile is not None:
                profiler = cProfile.Profile()
                profiler.enable()
                await _verified(storage, keys, concurrency=concurrency)
                profiler.disable()
                profiler.dump_stats(profile)
            log = CheckpointLog(storage, settings.checkpoints_container)
            checkpointer = Checkpointer(storage, PemSigner(key), log, origin="bench/chat-archive")
            began = time.perf_counter()
            written = await checkpointer.write()
            checkpointing = time.perf_counter() - began
            began = time.perf_counter()
            report = await check_checkpoint(storage, log, {public.key_id: public})
            against = time.perf_counter() - began
        finally:
            await storage.close()
    blobs = sum(j.checked["blobs"] for j in checked)
    reads = {
        f"{name} {figure}": value
        for name, step in steps.items()
        for figure, value in (
            ("seconds", round(step.seconds, 1)),
            ("blobs per second", round(len(names) / step.seconds)),
            ("Azurite CPU ms per blob", round(1000 * step.emulator_cpu / len(names), 2)),
            ("own CPU ms per blob", round(1000 * step.own_cpu / len(names), 2)),
        )
    }
    return {
        "versions": len(load.versions),
        "threads": len(sealed),
        "blobs checked": blobs,
        "blobs read": len(names),
        "concurrency": concurrency,
        "archive seconds": round(archived, 1),
        "seal seconds": round(sealing, 1),
        "seal versions per second": round(len(load.versions) / sealing),
        "verify seconds": round(checking, 1),
        "verify blobs per second": round(blobs / checking),
        **reads,
        "verify --seals / bare SDK rate": round(bare.seconds / checking, 2),
        "verify / seal time": round(checking / sealing, 1),
        "checkpoint seconds": round(checkpointing, 2),
        "checkpoint threads": 0
        if written.checkpoint is None
        else len(written.checkpoint.increment.heads),
        "verify --checkpoint seconds": round(against, 1),
        "verify --checkpoint / verify --seals time": round(against / checking, 2),
        "altered": sum(len(j.altered) for j in checked)
        + len(report.altered)
        + len(written.refused),
        "unsealed": sum(len(j.unsealed) for j in checked),
    }


async def delivered(archive: Archive, records: list[Any]) -> None:
    """Store a batch as Event Grid delivers it: again after a 503 (over 100,000 blobs,
    Azurite now and then drops a kept-alive connection the client then reuses), for up
    to two minutes."""
    expires = time.monotonic() + 120
    while True:
        try:
            await archive.store(records)
        except StorageUnavailable:
            if time.monotonic() + 1 > expires:
                raise
            await asyncio.sleep(1)
        else:
            return


@dataclass(frozen=True)
class Step:
    """One timed step: its result, wall time, and the CPU Azurite and this process spent."""

    result: Any
    seconds: float
    emulator_cpu: float
    own_cpu: float


async def _timed(emulator: subprocess.Popen[bytes], work: Awaitable[Any]) -> Step:
    cpu, own, began = cpu_seconds(emulator.pid), time.process_time(), time.perf_counter()
    result = await work
    seconds = time.perf_counter() - began
    return Step(
        result=result,
        seconds=seconds,
        emulator_cpu=cpu_seconds(emulator.pid) - cpu,
        own_cpu=time.process_time() - own,
    )


def cpu_seconds(pid: int) -> float:
    """The user and system CPU a process has spent (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _read_by_verify(storage: AzureStorage) -> list[str]:
    """The names `verify --seals` reads: every blob of every thread, and every seal
    (listed thread by thread, as it lists them)."""
    names = []
    for thread_id in await catalogued(storage):
        held = await holdings(storage, encode_key(thread_id, field="threadId"))
        names += [blob.name for blob in held.blobs] + [name for name, _ in held.seals]
    return names


async def _verified(
    storage: AzureStorage, keys: dict[str, PublicKey], *, concurrency: int
) -> list[Judgement]:
    checked = inspect(storage, keys, concurrency=concurrency)
    return [judgement async for _, judgement in checked]


async def _bare_reads(endpoints: Endpoints, container_name: str, names: list[str]) -> int:
    """Read every blob with nothing but the SDK, READERS at once (as verify reads)."""
    limit = asyncio.Semaphore(READERS)
    async with BlobServiceClient.from_connection_string(
        endpoints.connection_string, api_version=EMULATOR_BLOB_API_VERSION
    ) as service:
        container = service.get_container_client(container_name)

        async def read(name: str) -> int:
            async with limit:
                return len(await (await container.download_blob(name)).readall())

        return sum(await asyncio.gather(*(read(name) for name in names)))


@contextlib.contextmanager
def own_azurite(*, on_disk: bool) -> Iterator[tuple[Endpoints, subprocess.Popen[bytes]]]:
    """An Azurite of its own, in memory (or with its data on disk, where its database
    writes grow slower with every blob: 100,000 versions take hours)."""
    blob, queue, table = free_ports(3)
    endpoints = Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    with tempfile.TemporaryDirectory(prefix="bench-seals-") as location:
        log = Path(tempfile.gettempdir()) / "bench-seals-azurite.log"
        place = Path(location) if on_disk else None
        process = start(PROJECT, endpoints, location=place, log=log)
        try:
            yield endpoints, process
        finally:
            stop(process)


if __name__ == "__main__":
    sys.exit(main())
