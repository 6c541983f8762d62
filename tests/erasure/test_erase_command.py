"""`archiver erase` as two operators run it against Azurite, on a sealed envelope archive:
a participant erased across three threads, one held by a matter. Ada asks, Grace
approves; the unheld threads' texts by that person are gone from every export, RSMF and
search; the held thread stays readable until its matter releases it and `erase
--release` shreds it; every seal and the checkpoint still verify and count the erased
leaves by receipt."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.keys import new_key
from archiver.core.events import classify
from archiver.core.keysettings import KeySettings, RootKey
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from tests.builders import ALICE, BOB, message_event
from tests.conftest import run_archiver
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

pytestmark = pytest.mark.process

THREADS = tuple(f"19:f{n}a1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2" for n in range(3))
HELD = THREADS[2]
SECRET = "Elm Street"
ERASE = ("erase", "--participant", ALICE, "--request", "DSAR-17", "--basis", "GDPR Art. 17(1)(a)")


def said(thread: str, n: int) -> list[dict]:
    return [
        message_event("received", thread_id=thread, message_id=str(1700000000000 + 10 * n),
                      sender=ALICE, body=f"my address is {n} {SECRET}",
                      time=f"2026-11-02T09:0{n}:00Z"),
        message_event("received", thread_id=thread, message_id=str(1700000000001 + 10 * n),
                      sender=BOB, body=f"noted for thread {n}", time=f"2026-11-02T09:0{n}:30Z"),
    ]  # fmt: skip


class Desk:
    """The archive's operators: commands run as `user` (the local principal's name)."""

    def __init__(self, settings: Settings, extra: dict[str, str], folder: Path) -> None:
        self.settings, self.extra, self.folder = settings, extra, folder

    def run(self, *arguments: str, user: str = "ada") -> subprocess.CompletedProcess[str]:
        who = {"USER": user, "LOGNAME": user, "LNAME": user, "USERNAME": user}
        done = run_archiver(
            self.settings, *arguments, "--settings", "/absent.json", extra=self.extra | who
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def json(self, *arguments: str, user: str = "ada") -> dict:
        done = self.run(*arguments, "--json", user=user)
        assert done.returncode == 0, done.stderr
        answer: dict = json.loads(done.stdout)
        return answer

    def text(self, thread: str) -> str:
        done = self.run("export", "--thread", thread, "--all-versions", "--no-progress")
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
async def desk(settings: Settings, tmp_path: Path) -> Desk:
    root = new_key()
    (tmp_path / "root.key").write_text(base64.b64encode(root).decode())
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    keys = KeySettings(table=settings.keys.table, envelope=True, root_key=RootKey(material=root))
    storage = AzureStorage.from_settings(Settings(**{**vars(settings), "keys": keys}))
    try:
        await storage.prepare()
        await Archive(storage, concurrency=4, timeout_seconds=60).store(
            [classify(RawEvent.from_value(e)) for n, t in enumerate(THREADS) for e in said(t, n)]
        )
    finally:
        await storage.close()
    extra = {
        "ARCHIVE_ENVELOPE": "on",
        "ARCHIVE_ROOT_KEY": str(tmp_path / "root.key"),
        "ARCHIVE_SEAL_KEY": str(tmp_path / "seal.pem"),
        "ARCHIVE_SEARCH_INDEX_FILE": str(tmp_path / "index.sqlite3"),
    }
    office = Desk(settings, extra, tmp_path)
    held = office.run(
        *("hold", "add", "--thread", HELD, "--matter", "CASE-4471", "--reason", "Litigation")
    )
    assert held.returncode == 0, held.stderr
    assert office.run("seal", "--all").returncode == 0
    assert office.run("index").returncode == 0
    return office


def test_one_principal_alone_cannot_erase(desk):
    asked = desk.json(*ERASE)
    again = desk.run(*ERASE, "--approve")

    assert asked["awaitingApproval"] is True
    assert again.returncode == 1
    assert "another principal" in again.stderr
    assert SECRET in desk.text(THREADS[0])


def test_approved_the_unheld_threads_lose_the_text_everywhere_and_the_held_one_keeps_it(
    desk,
):
    desk.json(*ERASE)
    done = desk.json(*ERASE, "--approve", user="grace")

    assert done["threads"] == {THREADS[0]: "shredded", THREADS[1]: "shredded", HELD: "queued"}
    for thread in THREADS[:2]:
        text = desk.text(thread)
        assert SECRET not in text
        assert "[redacted: receipt" in text
        assert "noted for thread" in text
    assert SECRET in desk.text(HELD)
    desk.run("index")
    found = desk.json("search", "Elm", "--versions", "all")
    assert [hit["threadId"] for hit in found["hits"]] == [HELD]


def test_the_release_shreds_the_held_thread_and_every_seal_still_verifies(desk):
    # A transcript of the thread in its own folder, as archive-thread writes them.
    name = f"{THREADS[0]}/20261102T100000Z.json"
    transcript = desk.run("export", "--thread", THREADS[0], "--blob", name, "--no-progress")
    assert transcript.returncode == 0, transcript.stderr
    assert desk.run("seal", "--all").returncode == 0  # the transcript sealed with its thread
    desk.json(*ERASE)
    desk.json(*ERASE, "--approve", user="grace")
    public = str(desk.folder / "public.pem")

    still = desk.json("erase", "--release")
    released = desk.run(
        *("hold", "release", "--thread", HELD, "--matter", "CASE-4471", "--reason", "Closed")
    )
    shredded = desk.json("erase", "--release")
    sealed = desk.run("seal", "--all")
    seals = desk.json("verify", "--seals", "--public-key", public)
    rsmf = desk.folder / "held.zip"
    exported = desk.run("export", "--thread", HELD, "--format", "rsmf", "--output", str(rsmf))
    proved = desk.run("verify", "--transcript", str(rsmf), "--public-key", public)
    checkpoint = desk.run("verify", "--checkpoint", "latest", "--public-key", public)

    assert still["stillHeld"] == {HELD: ["CASE-4471"]}
    assert released.returncode == 0, released.stderr
    assert len(shredded["receipts"]) == 1
    assert SECRET not in desk.text(HELD)
    assert sealed.returncode == 0, sealed.stderr
    assert seals["altered"] == 0, seals["findings"]
    # The held one shredded by its second receipt; the transcript deleted, its leaf kept.
    assert seals["leaves"] == {"deleted": 1, "shredded": 3}
    assert len(seals["receipts"]) == 3
    assert exported.returncode == 0, exported.stderr
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert checkpoint.returncode == 0, checkpoint.stdout + checkpoint.stderr
