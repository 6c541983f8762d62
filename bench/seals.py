"""python -m bench.seals: how long sealing and checking the seals take, and at what rate.

Archives a workload of message versions into a fresh in-memory Azurite through the
archive use case, seals every thread, writes the checkpoint, then checks every seal the
way `archiver verify --seals` does (every blob read and hashed again, every signature and
row checked) and the archive against the checkpoint as `archiver verify --checkpoint
latest` does (the same, plus the chain of checkpoints and every thread head).

python -m bench.seals                       # 100,000 versions over 100 threads
python -m bench.seals --versions 2000       # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import split_body
from archiver.core.errors import StorageUnavailable
from archiver.core.events import classify
from archiver.core.evidence.signatures import PemSigner, PublicKey
from archiver.core.settings import Settings
from archiver.hosts.azurite import Endpoints, free_ports, start, stop
from archiver.sealing.checkpointcheck import check_checkpoint
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.inspection import inspect
from archiver.sealing.sealer import Sealer
from archiver.storage.azure import AzureStorage
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
    options = parser.parse_args(argv)
    figures = asyncio.run(
        measure(versions=options.versions, threads=options.threads, on_disk=options.on_disk)
    )
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    altered = figures["altered"]
    return 0 if altered == 0 else 1


async def measure(*, versions: int, threads: int, on_disk: bool = False) -> dict[str, Any]:
    """Archive, seal and check `versions` versions; the times and rates."""
    workload = Workload(name="seals", fan_out=1, batch=100, edits=1, threads=threads)
    load = traffic(workload, versions=versions, seed=SEED)
    key = Ed25519PrivateKey.generate()
    public = PublicKey(key.public_key())
    with _azurite(on_disk=on_disk) as endpoints:
        settings = Settings.from_mapping({"ARCHIVE_STORAGE": endpoints.connection_string})
        storage = AzureStorage.from_settings(settings)
        try:
            await storage.prepare()
            archive = Archive(storage, concurrency=32, timeout_seconds=600)
            began = time.perf_counter()
            for batch in load.batches:
                raw = split_body(batch.body)
                await _delivered(archive, [classify(event) for event in raw])
            archived = time.perf_counter() - began
            began = time.perf_counter()
            sealed = [s async for s in Sealer(storage, PemSigner(key)).seal_all()]
            sealing = time.perf_counter() - began
            began = time.perf_counter()
            checked = [j async for _, j in inspect(storage, {public.key_id: public})]
            checking = time.perf_counter() - began
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
    return {
        "versions": len(load.versions),
        "threads": len(sealed),
        "blobs checked": blobs,
        "archive seconds": round(archived, 1),
        "seal seconds": round(sealing, 1),
        "seal versions per second": round(len(load.versions) / sealing),
        "verify seconds": round(checking, 1),
        "verify blobs per second": round(blobs / checking),
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


async def _delivered(archive: Archive, records: list[Any]) -> None:
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


@contextlib.contextmanager
def _azurite(*, on_disk: bool) -> Iterator[Endpoints]:
    """An Azurite of its own, in memory (or with its data on disk, where its database
    writes grow slower with every blob: 100,000 versions take hours)."""
    blob, queue, table = free_ports(3)
    endpoints = Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    with tempfile.TemporaryDirectory(prefix="bench-seals-") as location:
        log = Path(tempfile.gettempdir()) / "bench-seals-azurite.log"
        place = Path(location) if on_disk else None
        process = start(PROJECT, endpoints, location=place, log=log)
        try:
            yield endpoints
        finally:
            stop(process)


if __name__ == "__main__":
    sys.exit(main())
