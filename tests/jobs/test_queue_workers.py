"""The daily jobs through the jobs queue on Azurite, done by two `archiver serve`
processes at once, as two Functions instances would: sealed, transcribed from the ACS
stand-in and disposed of exactly as one process would, with a batch delivered twice and
a message that is no job poisoned."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.governance.holds import Scope
from archiver.core.governance.principals import TIMER
from archiver.core.jobs import Job, Kind
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.governance.holds import Holds
from archiver.governance.trail import AuditTrail
from archiver.sim.conversations import Shape
from archiver.storage.azure import AzureStorage
from tests.acs.test_reconciliation import standin, world_of
from tests.chats import archive, chat
from tests.conftest import run_archiver, serving
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

pytestmark = pytest.mark.process
__all__ = ["standin"]  # the ACS stand-in, a fixture
SHAPE = Shape(threads=7, messages=3, participants=(2, 3), delete_threads=0)


def run(
    settings: Settings, extra: dict[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    return run_archiver(settings, *arguments, extra=extra)


async def until(condition, *, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await _sleep()
    raise AssertionError("the queue workers did not finish in time")


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.5)


async def test_two_workers_seal_transcribe_and_dispose_through_the_queue_as_one_would(
    azurite, standin, tmp_path: Path
):
    world = await world_of(azurite, standin, chat(11, SHAPE))
    settings, acs = world.settings, world.settings.acs
    assert acs is not None
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    extra = {
        "ARCHIVE_SEAL_KEY": str(tmp_path / "seal.pem"),
        "ARCHIVE_JOBS_BATCH": "2",
        "ARCHIVE_RETENTION_DAYS": "1",  # the simulated chats are from November 2026
        "ARCHIVE_INACTIVE_DAYS": "1",
        "ACS_ENDPOINT": acs.endpoint,
        "ACS_ACCESS_KEY": acs.access_key or "",
        "ACS_ARCHIVER_USER_ID": acs.archiver_user_id or "",
    }
    simulated = world.chat
    threads = simulated.threads
    storage = AzureStorage.from_settings(settings)
    queue = storage.queue(settings.jobs.queue)
    try:
        await storage.prepare()
        await archive(storage, simulated.events)
        await queue.prepare()
        twice = Job(job=Kind.SEAL, run="twice", threads=threads[:2]).text()
        for text in (twice, "not a job", twice):
            await queue.send(text)

        with contextlib.ExitStack() as workers:
            logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
            for log in logs:
                workers.enter_context(serving(settings, log, extra=extra))

            started = run(settings, extra, "jobs", "start", "seal")
            assert started.returncode == 0, started.stderr

            async def sealed() -> bool:
                names = [n async for n in storage.blobs.names("seals/")]
                poisoned = any("Job poisoned:" in log.read_text() for log in logs)
                return len(names) == len(threads) and await queue.length() == 0 and poisoned

            await until(sealed)
            started = run(settings, extra, "jobs", "start", "transcribe")
            assert started.returncode == 0, started.stderr

            async def transcribed() -> bool:
                names = [n async for n in storage.blobs.names("transcripts/")]
                return len(names) == 2 * len(threads) and await queue.length() == 0

            await until(transcribed)
            started = run(settings, extra, "jobs", "start", "seal")  # the transcripts
            assert started.returncode == 0, started.stderr

            async def resealed() -> bool:
                names = [n async for n in storage.blobs.names("seals/")]
                return len(names) == 2 * len(threads) and await queue.length() == 0

            await until(resealed)
            await Holds(storage, AuditTrail(storage), blob_flags=False).add(
                Scope.THREAD, threads[0], matter="CASE-9", reason="Hold", principal=TIMER
            )
            started = run(settings, extra, "jobs", "start", "dispose")
            assert started.returncode == 0, started.stderr

            async def disposed() -> bool:
                # A disposal deletes a thread's seals last: the thread is gone when they are.
                held = {encode_key(threads[0], field="threadId")}
                left = {n.split("/")[1] async for n in storage.blobs.names("messages/")}
                seals = {n.split("/")[1] async for n in storage.blobs.names("seals/")}
                return left == seals == held and await queue.length() == 0

            await until(disposed)
            texts = [log.read_text() for log in logs]
    finally:
        await storage.close()

    # Which worker takes which batch is the queue's choice (one may take them all, four at
    # a time); together they did every one: 6 batches of the run, and "twice" twice.
    assert sum(text.count("Job done: seal") for text in texts) >= 6 + 2
    assert sum(text.count("Job poisoned:") for text in texts) == 1
    # One process would have nothing left to seal, and every seal verifies.
    again = run(settings, extra, "seal", "--thread", threads[0])
    assert again.stdout.startswith(f"unchanged {threads[0]}"), again.stdout + again.stderr
    checked = run(settings, {}, "verify", "--seals", "--public-key", str(tmp_path / "public.pem"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
