"""`archiver redact` as an operator runs it against Azurite, on an envelope archive that
is sealed and checkpointed: a card number in one version is gone from the blobs' reading,
the row, every export and RSMF, while the other versions read as before; the seals, the
transcript proof and the checkpoint still verify, and report the erased leaf by its
receipt; the receipt verifies with only the public key and holds none of the text."""

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
from archiver.core.erasure.receipts import ERASURES_PREFIX, parse_receipt
from archiver.core.events import classify
from archiver.core.evidence.signatures import public_key_from_pem
from archiver.core.keysettings import KeySettings, RootKey
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from tests.builders import ALICE, BOB, message_event
from tests.conftest import run_archiver
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

pytestmark = pytest.mark.process

THREAD = "19:c4a9d0e1f2a3b4c5d6e7f8091a2b3c4d@thread.v2"
MESSAGE = "1700000000001"
CARD = "4111 1111 1111 1111"
VERSIONS = (
    message_event("received", thread_id=THREAD, message_id=MESSAGE, sender=ALICE,
                  body="refund order 7 please", time="2026-11-02T09:00:00Z",
                  version=1700000000001),
    message_event("edited", thread_id=THREAD, message_id=MESSAGE, sender=ALICE,
                  body=f"refund order 7 please, card {CARD}", time="2026-11-02T09:01:00Z",
                  version=1700000060001),
    message_event("received", thread_id=THREAD, message_id="1700000000002", sender=BOB,
                  body="refund issued", time="2026-11-02T09:02:00Z"),
)  # fmt: skip


class Operator:
    def __init__(self, settings: Settings, extra: dict[str, str]) -> None:
        self.settings, self.extra = settings, extra

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        done = run_archiver(
            self.settings, *arguments, "--settings", "/absent.json", extra=self.extra
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done


@pytest.fixture
async def operator(settings: Settings, tmp_path: Path) -> Operator:
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
            [classify(RawEvent.from_value(e)) for e in VERSIONS]
        )
    finally:
        await storage.close()
    extra = {
        "ARCHIVE_ENVELOPE": "on",
        "ARCHIVE_ROOT_KEY": str(tmp_path / "root.key"),
        "ARCHIVE_SEAL_KEY": str(tmp_path / "seal.pem"),
    }
    done = Operator(settings, extra)
    assert done.run("seal", "--all").returncode == 0
    return done


def redact(operator: Operator, *options: str) -> dict:
    done = operator.run(
        *("redact", "--thread", THREAD, "--message", MESSAGE, "--version", "1700000060001"),
        *("--reason", "Card number (PCI DSS)", "--request", "TICKET-88", "--json", *options),
    )
    assert done.returncode == 0, done.stderr
    answer: dict = json.loads(done.stdout)
    return answer


def exported(operator: Operator, form: str = "json") -> str:
    done = operator.run(
        "export", "--thread", THREAD, "--all-versions", "--format", form, "--no-progress"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_dry_run_says_what_would_go_and_the_card_is_still_there(operator):
    answer = redact(operator, "--dry-run")

    assert answer["dryRun"] is True
    assert [i["decision"] for i in answer["items"]] == ["shredded"]
    assert CARD in exported(operator)


async def test_after_a_redaction_no_export_shows_the_card_and_the_rest_reads_as_before(operator):
    answer = redact(operator)

    receipt = answer["receipt"]["id"]
    for form in ("json", "jsonl", "csv"):
        text = exported(operator, form)
        assert CARD not in text
        assert f"[redacted: receipt {receipt}]" in text
        assert "refund order 7 please" in text
        assert "refund issued" in text


async def test_the_seals_the_transcript_and_the_checkpoint_verify_and_name_the_receipt(
    operator, tmp_path
):
    answer = redact(operator)
    receipt = answer["receipt"]["id"]
    public = str(tmp_path / "public.pem")

    sealed = operator.run("seal", "--all")
    seals = operator.run("verify", "--seals", "--public-key", public, "--json")
    rsmf = tmp_path / "thread.zip"
    to_rsmf = operator.run("export", "--thread", THREAD, "--format", "rsmf", "--output", str(rsmf))
    proved = operator.run("verify", "--transcript", str(rsmf), "--public-key", public)
    checkpoint = operator.run("verify", "--checkpoint", "latest", "--public-key", public)

    assert sealed.returncode == 0, sealed.stderr
    report = json.loads(seals.stdout)
    assert seals.returncode == 0, seals.stdout
    assert (report["altered"], report["leaves"], report["receipts"]) == (
        0,
        {"shredded": 1},
        [receipt],
    )
    assert to_rsmf.returncode == 0, to_rsmf.stderr
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert checkpoint.returncode == 0, checkpoint.stdout + checkpoint.stderr


async def test_the_receipt_verifies_with_only_the_public_key_and_holds_no_text(
    operator, settings, tmp_path
):
    answer = redact(operator)

    storage = AzureStorage.from_settings(settings)  # no root key: what any reader sees
    try:
        [name] = [n async for n in storage.blobs.names(ERASURES_PREFIX)]
        content = await storage.blobs.read(name)
    finally:
        await storage.close()
    receipt = parse_receipt(content, name=name)
    key = public_key_from_pem((tmp_path / "public.pem").read_bytes(), source="public.pem")
    assert name == answer["receipt"]["blob"]
    assert receipt.signature is not None
    assert receipt.algorithm is not None
    assert key.verifies(receipt.signed_bytes(), receipt.signature, receipt.algorithm)
    assert CARD.encode() not in content
    assert b"refund" not in content


async def test_the_same_request_again_is_done_once(operator):
    first = redact(operator)

    again = redact(operator)

    assert again["again"] is True
    assert again["receipt"] == first["receipt"]
