"""Blob legal-hold flags follow the holds (attack 7 of issue 24): every blob of a held
thread, its seals and blobs written after the hold included, carries the flag within one
sealing run, and releasing the last matter clears them.

Azurite has no immutability, so these run on the in-memory store, which refuses to delete
a flagged blob as Azure does with version-level immutability (the Azure adapter sets the
flag with the SDK's set_legal_hold and reads it back from a listing with `legalhold`).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from azure.functions.timer import TimerRequest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.bootstrap import build
from archiver.cli.main import main
from archiver.core.errors import Immutable
from archiver.core.evidence.signatures import PemSigner
from archiver.core.governance.holds import Scope
from archiver.sealing.sealer import Sealer
from archiver.storage.memory import MemoryStorage
from tests.builders import CAROL, message_event, new_message_id
from tests.conftest import drain_jobs, imported_function_app
from tests.governance.archives import ADMIN, archived, custodian_threads, deliver, holds, key

KEY = Ed25519PrivateKey.generate()


def of(storage: MemoryStorage, thread_id: str) -> set[str]:
    """Every blob of the thread, seals included."""
    return {n for n in storage.blobs.contents if f"/{key(thread_id)}/" in n}


async def test_a_held_threads_blobs_cannot_be_deleted_until_its_last_matter_releases():
    storage = MemoryStorage()
    thread = (await archived(storage)).threads[0]
    flagging = holds(storage, blob_flags=True)
    for matter in ("CASE-4471", "CASE-9000"):
        await flagging.add(Scope.THREAD, thread, matter=matter, reason="Hold", principal=ADMIN)
    name = min(n for n in of(storage, thread) if n.startswith("messages/"))

    await flagging.release(Scope.THREAD, thread, matter="CASE-4471", reason="R", principal=ADMIN)
    with pytest.raises(Immutable):
        await storage.blobs.delete(name)
    await flagging.release(Scope.THREAD, thread, matter="CASE-9000", reason="R", principal=ADMIN)
    await storage.blobs.delete(name)

    assert name not in storage.blobs.contents
    assert storage.blobs.flagged == set()


async def test_blobs_written_after_a_hold_and_its_seals_carry_the_flag_after_one_sealing_run():
    storage = MemoryStorage()
    thread = (await archived(storage)).threads[0]
    flagging = holds(storage, blob_flags=True)
    await flagging.add(Scope.THREAD, thread, matter="CASE-4471", reason="Hold", principal=ADMIN)
    await deliver(storage, message_event(thread_id=thread, message_id=new_message_id()))
    _ = [s async for s in Sealer(storage, PemSigner(KEY)).seal_all()]
    unflagged = of(storage, thread) - storage.blobs.flagged

    done = await flagging.enforce_flags()

    assert {n.split("/")[0] for n in unflagged} == {"messages", "seals"}
    assert of(storage, thread) <= storage.blobs.flagged
    assert storage.blobs.flagged <= of(storage, thread)  # no other thread's, no key's
    assert (done.held, done.set, done.cleared) == (1, len(unflagged), 0)
    assert (await flagging.enforce_flags()).set == 0


async def test_a_custodian_hold_flags_every_thread_of_the_participant_and_its_release_clears():
    storage = MemoryStorage()
    ids = await custodian_threads(storage)
    flagging = holds(storage, blob_flags=True)
    await flagging.add(Scope.PARTICIPANT, CAROL, matter="M-1", reason="Custodian", principal=ADMIN)
    flagged = set(storage.blobs.flagged)

    await flagging.release(Scope.PARTICIPANT, CAROL, matter="M-1", reason="R", principal=ADMIN)

    assert flagged == set().union(*(of(storage, ids[t]) for t in ("member", "former", "sender")))
    assert storage.blobs.flagged == set()


async def test_flags_left_on_a_thread_no_matter_holds_are_cleared_by_the_next_run():
    # e.g. a release made while ARCHIVE_BLOB_LEGAL_HOLDS was off
    storage = MemoryStorage()
    thread = (await archived(storage)).threads[0]
    flagging = holds(storage, blob_flags=True)
    await flagging.add(Scope.THREAD, thread, matter="CASE-4471", reason="Hold", principal=ADMIN)
    plain = holds(storage)  # flags off: the release leaves the flags
    await plain.release(Scope.THREAD, thread, matter="CASE-4471", reason="R", principal=ADMIN)

    done = await flagging.enforce_flags()

    assert done.cleared > 0
    assert storage.blobs.flagged == set()


def private_pem() -> str:
    pem = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode().replace("\n", "\\n")


ENVIRONMENT = {
    "ARCHIVE_STORAGE": "UseDevelopmentStorage=true",
    "ARCHIVE_BLOB_LEGAL_HOLDS": "true",
    "ARCHIVE_JOBS_CHECKPOINT_DELAY": "0",
    "ARCHIVE_SEAL_KEY": private_pem(),
}


async def held_in_memory() -> tuple[MemoryStorage, str]:
    storage = MemoryStorage()
    thread = (await archived(storage)).threads[0]
    await holds(storage, blob_flags=True).add(
        Scope.THREAD, thread, matter="CASE-4471", reason="Hold", principal=ADMIN
    )
    await deliver(storage, message_event(thread_id=thread, message_id=new_message_id()))
    return storage, thread


async def test_the_seal_timer_flags_the_new_seals_and_blobs_of_held_threads(monkeypatch, caplog):
    storage, thread = await held_in_memory()

    with imported_function_app(ENVIRONMENT) as app, caplog.at_level(logging.INFO, "archiver"):
        services = build(app.runtime.settings, storage=storage)
        monkeypatch.setattr(app.runtime, "services", lambda: services)
        await app.seal_threads(TimerRequest())
        await drain_jobs(app)  # the batch, then the checkpoint job, which sets the flags

    assert any(n.startswith("seals/") for n in of(storage, thread))
    assert of(storage, thread) <= storage.blobs.flagged
    assert "Legal-hold flags: 1 held threads" in caplog.text


async def test_archiver_seal_flags_the_new_seals_and_blobs_of_held_threads(monkeypatch, capsys):
    storage, thread = await held_in_memory()
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value.replace("\\n", "\n"))
    monkeypatch.setattr(
        "archiver.cli.seals.build", lambda settings: build(settings, storage=storage)
    )

    exit_code = await _in_a_thread(["seal", "--all", "--settings", "/nonexistent.json"])

    assert exit_code == 0, capsys.readouterr().err
    assert of(storage, thread) <= storage.blobs.flagged
    assert "legal-hold flags: " in capsys.readouterr().err


async def _in_a_thread(arguments: list[str]) -> int:
    # the command runs its own event loop (asyncio.run), so not on this one
    return await asyncio.to_thread(main, arguments)
