"""`archiver disclose` and `archiver verify --disclosure`, as an archive's operator and a
regulator use them: a thread archived partly in plain mode and partly in envelope mode
over a real Azurite, sealed with a seal key; one version is disclosed, and the regulator,
holding only the file and the seal's public key (no storage they could reach, no root
key), proves it. Every alteration of the file fails with its reason; a plain version is
disclosed without a salt; an erased version is refused; every disclosure is recorded."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.envelopes import read_header
from archiver.core.erasure.keys import new_key
from archiver.core.events import classify
from archiver.core.inventory import MessageBlob, entry
from archiver.core.keysettings import KeySettings, RootKey
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.storage.azure import AzureStorage
from tests.builders import ALICE, BOB, message_event
from tests.conftest import PROJECT, archiver_command, fresh_settings, run_archiver
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

pytestmark = pytest.mark.process

THREAD = "19:d15c105ed15c105ed15c105ed15c105e@thread.v2"
OTHER = "19:0000000000000000000000000000000f@thread.v2"
PLAIN = message_event(
    "received",
    thread_id=THREAD,
    message_id="1700000000001",
    sender=ALICE,
    body="written before envelope mode: order KILO",
    time="2026-11-02T09:00:00Z",
)
ENVELOPED = (
    message_event("received", thread_id=THREAD, message_id="1700000000002", sender=BOB,
                  body="my card is 4111 1111 1111 1111", time="2026-11-02T09:01:00Z"),
    message_event("edited", thread_id=THREAD, message_id="1700000000002", sender=BOB,
                  body="my card is on file, LIMA", time="2026-11-02T09:02:00Z"),
    message_event("received", thread_id=THREAD, message_id="1700000000003", sender=ALICE,
                  body="the disclosed message: refund MIKE issued", time="2026-11-02T09:03:00Z"),
    message_event("received", thread_id=THREAD, message_id="1700000000004", sender=BOB,
                  body="to be erased: my password is NOVEMBER", time="2026-11-02T09:04:00Z"),
    message_event("received", thread_id=OTHER, message_id="1700000000005", sender=BOB,
                  body="another thread altogether: OSCAR", time="2026-11-02T09:05:00Z"),
)  # fmt: skip
TEXTS = [e["data"]["messageBody"] for e in (PLAIN, *ENVELOPED)]
DISCLOSED = "the disclosed message: refund MIKE issued"


@dataclass
class Archived:
    """The archive, the settings its commands run with, and the seal's public key."""

    settings: Settings
    extra: dict[str, str]
    folder: Path

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return run_archiver(
            self.settings, *arguments, "--settings", "/absent.json", extra=self.extra
        )

    def disclose(self, message: str, version: int, name: str, *, thread: str = THREAD) -> Path:
        output = self.folder / name
        done = self.run(
            "disclose", "--thread", thread, "--message", message, "--version", str(version),
            "--output", str(output),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return output


def regulator(*arguments: str, given: str | None = None) -> subprocess.CompletedProcess[str]:
    """A command run with none of the archive's settings: its storage is a port nothing
    listens on, so a command that reached for storage would fail."""
    blob, queue, table = emulator.free_ports(3)
    nowhere = emulator.Endpoints(blob_port=blob, queue_port=queue, table_port=table)

    environment = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    return subprocess.run(
        archiver_command(*arguments, "--settings", "/absent.json"),
        cwd=PROJECT,
        env=environment | {"ARCHIVE_STORAGE": nowhere.connection_string},
        input=given,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def enveloped(settings: Settings, root: bytes) -> AzureStorage:
    keys = KeySettings(table=settings.keys.table, envelope=True, root_key=RootKey(material=root))
    return AzureStorage.from_settings(replace(settings, keys=keys))


async def store(storage: AzureStorage, *events: dict[str, Any]) -> None:
    try:
        await storage.prepare()
        await Archive(storage, concurrency=4, timeout_seconds=60).store(
            [classify(RawEvent.from_value(e)) for e in events]
        )
    finally:
        await storage.close()


async def versions(settings: Settings) -> dict[tuple[str, str], MessageBlob]:
    """Every version blob of the archive, by (message id, action)."""
    storage = AzureStorage.from_settings(settings)
    try:
        found = [entry(n) async for n in storage.blobs.names("messages/")]
    finally:
        await storage.close()
    return {(b.message_id, str(b.action)): b for b in found if isinstance(b, MessageBlob)}


@pytest.fixture(scope="module")
async def archived(azurite, tmp_path_factory) -> Archived:
    folder = tmp_path_factory.mktemp("disclosure")
    key = Ed25519PrivateKey.generate()
    (folder / "seal.pem").write_bytes(private_pem(key))
    (folder / "public.pem").write_bytes(public_pem(key))
    root = new_key()
    (folder / "root.key").write_text(base64.b64encode(root).decode())
    settings = fresh_settings(azurite.connection_string)
    await store(AzureStorage.from_settings(settings), PLAIN)
    await store(enveloped(settings, root), *ENVELOPED)
    extra = {
        "ARCHIVE_SEAL_KEY": str(folder / "seal.pem"),
        "ARCHIVE_ENVELOPE": "on",
        "ARCHIVE_ROOT_KEY": str(folder / "root.key"),
    }
    archive = Archived(settings, extra, folder)
    sealed = archive.run("seal", "--all")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    return archive


def verified(path: Path, public: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return regulator("verify", "--disclosure", str(path), "--public-key", str(public), *more)


async def version_of(archive: Archived, message: str, action: str = "received") -> int:
    return (await versions(archive.settings))[(message, action)].version


async def test_a_disclosure_proves_with_only_the_file_and_the_public_key(archived):
    version = await version_of(archived, "1700000000003")
    path = archived.disclose("1700000000003", version, "disclosure.json")

    proved = verified(path, archived.folder / "public.pem")

    assert proved.returncode == 0, proved.stdout + proved.stderr
    for step in ("commitment: SHA-256(salt ‖ document)", "envelope: its own commitment",
                 "header: the envelope's header names", "leaf: the envelope is",
                 "inclusion: the leaf is under", "signature: seals/"):  # fmt: skip
        assert f"ok: {step}" in proved.stdout
    assert "FAILS" not in proved.stdout
    assert proved.stdout.rstrip().endswith("proved, with 1 key(s) given with --public-key")
    disclosure = json.loads(path.read_text())
    assert json.loads(disclosure["document"])["body"] == DISCLOSED
    assert len(base64.b64decode(disclosure["salt"])) == 16
    reaching = verified(path, archived.folder / "public.pem", "--checkpoint", "latest")
    assert reaching.returncode == 4, "the regulator's machine reaches no storage"


async def test_with_the_archive_at_hand_its_bytes_chain_and_checkpoint_are_proved_too(archived):
    path = archived.disclose(
        "1700000000003", await version_of(archived, "1700000000003"), "anchored.json"
    )

    proved = archived.run(
        "verify", "--disclosure", str(path), "--public-key", str(archived.folder / "public.pem"),
        "--checkpoint", "latest",
    )  # fmt: skip

    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert "ok: archive: blob messages/" in proved.stdout
    assert "ok: archive: checkpoint" in proved.stdout


async def test_the_disclosure_holds_no_other_messages_text(archived):
    path = archived.disclose(
        "1700000000003", await version_of(archived, "1700000000003"), "alone.json"
    )
    text = path.read_text()
    decoded = json.loads(text)
    envelope = base64.b64decode(decoded["envelope"]).decode()

    assert DISCLOSED in text
    others = [t for t in TEXTS if t != DISCLOSED]
    assert [t for t in others if t in text or t in envelope or t in decoded["seal"]] == []
    assert [w for t in others for w in t.split() if w.isupper() and w in text] == []


@pytest.fixture(scope="module")
async def others(archived) -> dict[str, dict[str, Any]]:
    """Disclosures of another version of the thread and of a version of another thread:
    what a forger would splice in."""
    found = await versions(archived.settings)
    edited = found[("1700000000002", "edited")].version
    elsewhere = found[("1700000000005", "received")].version
    return {
        "edited": json.loads(archived.disclose("1700000000002", edited, "edited.json").read_text()),
        "elsewhere": json.loads(
            archived.disclose("1700000000005", elsewhere, "other.json", thread=OTHER).read_text()
        ),
    }


def other_envelope(disclosure: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"envelope": others["edited"]["envelope"]}


def other_seal(disclosure: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"seal": others["elsewhere"]["seal"]}


def truncated_proof(disclosure: dict[str, Any], _: object) -> dict[str, Any]:
    citation = disclosure["citation"]
    proof = citation["seal"]["inclusionProof"]
    shorter = proof | {"path": proof["path"][:-1], "rule": proof["rule"][:-1]}
    sealed = citation["seal"] | {"inclusionProof": shorter}
    return disclosure | {"citation": citation | {"seal": sealed}}


def changed_event_byte(disclosure: dict[str, Any], _: object) -> dict[str, Any]:
    return disclosure | {"document": disclosure["document"].replace("MIKE", "MIKA")}


def changed_salt(disclosure: dict[str, Any], _: object) -> dict[str, Any]:
    salt = bytearray(base64.b64decode(disclosure["salt"]))
    salt[0] ^= 1
    return disclosure | {"salt": base64.b64encode(bytes(salt)).decode()}


@pytest.mark.parametrize(
    ("alteration", "failure"),
    [
        (changed_event_byte, "SHA-256(salt ‖ document) is not the commitment"),
        (changed_salt, "SHA-256(salt ‖ document) is not the commitment"),
        (other_envelope, "the envelope's own commitment is"),
        (other_seal, "the disclosure's seal: seals/"),
        (truncated_proof, "the inclusion proof fails"),
    ],
    ids=["event-byte", "salt", "envelope", "seal", "proof"],
)
async def test_a_disclosure_altered_in_any_part_does_not_prove(
    archived, others, alteration, failure
):
    version = await version_of(archived, "1700000000003")
    path = archived.disclose("1700000000003", version, "original.json")
    altered = archived.folder / "altered.json"
    altered.write_text(json.dumps(alteration(json.loads(path.read_text()), others)))

    proved = verified(altered, archived.folder / "public.pem")

    assert proved.returncode == 1, proved.stdout + proved.stderr
    assert f"FAILS: {failure}" in proved.stdout
    assert "NOT PROVED" in proved.stdout
    assert "Traceback" not in proved.stderr


async def test_a_disclosure_proves_nothing_with_another_public_key(archived):
    path = archived.disclose(
        "1700000000003", await version_of(archived, "1700000000003"), "keyed.json"
    )
    other = archived.folder / "other.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate()))

    proved = verified(path, other)

    assert proved.returncode == 1, proved.stdout + proved.stderr
    assert "FAILS: seals/" in proved.stdout
    assert "is not signed by a trusted key" in proved.stdout


async def test_a_plain_version_is_disclosed_without_a_salt_and_proves(archived):
    version = await version_of(archived, "1700000000001")
    done = archived.run(
        "disclose", "--thread", THREAD, "--message", "1700000000001", "--version", str(version)
    )

    assert done.returncode == 0, done.stderr
    assert "plain version: no salt" in done.stderr
    disclosure = json.loads(done.stdout)
    assert (disclosure["salt"], disclosure["commitment"], disclosure["envelope"]) == (
        None,
        None,
        None,
    )
    assert json.loads(disclosure["document"])["body"] == PLAIN["data"]["messageBody"]
    (archived.folder / "plain.json").write_text(done.stdout)
    proved = verified(archived.folder / "plain.json", archived.folder / "public.pem")
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert "ok: leaf: the document is" in proved.stdout
    assert "note: a plain version: no salt" in proved.stdout


async def test_an_erased_version_is_refused_by_name_and_the_refusal_recorded(archived):
    blob = (await versions(archived.settings))[("1700000000004", "received")]
    storage = enveloped(archived.settings, base64.b64decode(
        (archived.folder / "root.key").read_text()))  # fmt: skip
    try:
        header = read_header(await storage.blobs.read(blob.name))
        known = await storage.keys.get(header.subject_key_id, header.data_key_id)
        assert known is not None
        await storage.keys.destroy(
            header.subject_key_id, header.data_key_id, etag=known.etag, at=datetime.now(UTC)
        )
    finally:
        await storage.close()
    output = archived.folder / "erased.json"

    done = archived.run(
        "disclose", "--thread", THREAD, "--message", "1700000000004",
        "--version", str(blob.version), "--output", str(output),
    )  # fmt: skip

    assert done.returncode == 1
    assert "was erased" in done.stderr
    assert "Traceback" not in done.stderr
    assert not output.exists()
    records = [
        json.loads(line) for line in archived.run("audit", "--thread", THREAD).stdout.splitlines()
    ]
    refused = [r for r in records if r["action"] == "disclose" and r["outcome"] == "refused"]
    assert [r["target"]["messageId"] for r in refused] == ["1700000000004"]
    assert "NOVEMBER" not in json.dumps(records)


async def test_every_disclosure_is_recorded_with_who_made_it(archived):
    version = await version_of(archived, "1700000000003")
    path = archived.disclose("1700000000003", version, "recorded.json")

    audit = archived.run("audit", "--thread", THREAD)

    records = [json.loads(line) for line in audit.stdout.splitlines()]
    mine = [
        r for r in records
        if r["action"] == "disclose" and r["target"].get("file") == str(path)
    ]  # fmt: skip
    assert len(mine) == 1
    assert mine[0]["outcome"] == "allowed"
    assert mine[0]["principal"]["kind"] == "local"
    assert mine[0]["details"]["blob"] == json.loads(path.read_text())["citation"]["blob"]
    assert DISCLOSED not in audit.stdout


@pytest.mark.parametrize(
    ("thread", "message", "version", "said"),
    [
        ("19:00000000000000000000000000000a00@thread.v2", "1700000000003", "1700000000003",
         "holds nothing of thread"),
        (THREAD, "1700000000009", "1700000000009", "holds no message"),
        (THREAD, "1700000000003", "1", "has no version 1"),
    ],
    ids=["thread", "message", "version"],
)  # fmt: skip
async def test_an_unknown_thread_message_or_version_is_a_not_found_error(
    archived, thread, message, version, said
):
    done = archived.run("disclose", "--thread", thread, "--message", message, "--version", version)

    assert done.returncode == 3
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def half_enveloped(disclosure: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"salt": None}


def short_salt(disclosure: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"salt": base64.b64encode(b"short").decode()}


def another_format(disclosure: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"format": "acs-chat-archiver/citation@1"}


def no_citation(disclosure: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"citation": None}


def unparsed_version(disclosure: dict[str, Any]) -> dict[str, Any]:
    return disclosure | {"version": "v2"}


@pytest.mark.parametrize(
    ("malformed", "said"),
    [
        (half_enveloped, "a salt, a commitment and an envelope, or none"),
        (short_salt, "salt is not 16 bytes"),
        (another_format, "not a disclosure of this archiver"),
        (no_citation, "not a citation of this archiver"),
        (unparsed_version, "the disclosure is malformed"),
    ],
    ids=["half", "salt", "format", "citation", "version"],
)
async def test_a_malformed_disclosure_is_a_usage_error_read_from_standard_input(
    archived, malformed, said
):
    path = archived.disclose(
        "1700000000003", await version_of(archived, "1700000000003"), "to-break.json"
    )
    broken = json.dumps(malformed(json.loads(path.read_text())))

    done = regulator(
        "verify", "--disclosure", "-", "--public-key", str(archived.folder / "public.pem"),
        given=broken,
    )  # fmt: skip

    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_a_witness_checkpoint_file_is_not_taken_with_a_disclosure(tmp_path):
    (tmp_path / "note.txt").write_text("a witness's note")

    done = regulator(
        "verify", "--disclosure", str(tmp_path / "absent.json"),
        "--checkpoint", str(tmp_path / "note.txt"),
    )  # fmt: skip

    assert done.returncode == 2
    assert "--checkpoint takes latest" in done.stderr
