"""Envelope mode end to end, as an operator turns it on: the same simulated
conversations are delivered over HTTP to a local host in plain mode and to one in
envelope mode. The envelope archive's blobs name no text and no participant, yet every
way of reading it answers as the plain one does: the read API, every export, verify
against the ground truth, seals and checkpoints, a transcript's proof, search and its
citations."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.erasure.keys import new_key
from archiver.core.settings import Settings
from archiver.sim.truth import GroundTruth
from archiver.storage.azure import AzureStorage
from archiver.storage.versions import is_envelope
from tests.conftest import fresh_settings, run_archiver, serving
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

pytestmark = pytest.mark.process

# One event per version (the per-user flavour stores whichever copy came first).
SIMULATION = ("--seed", "26", "--threads", "3", "--messages", "12", "--flavour", "thread")
ARCHIVED_AT = re.compile(r'"(archivedAt|exportedAt)": ?"[^"]*"')


@dataclass
class Archived:
    """One archive of the simulation: its settings, the extra settings its commands run
    with, and what its local host's read API answered for every thread."""

    settings: Settings
    extra: dict[str, str]
    answers: dict[str, Any]

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return run_archiver(
            self.settings, *arguments, "--settings", "/absent.json", extra=self.extra
        )


def archived(azurite, folder: Path, extra: dict[str, str]) -> Archived:
    settings = fresh_settings(azurite.connection_string)
    folder.mkdir()
    with serving(settings, folder / "serve.log", extra=extra) as url:
        delivered = run_archiver(
            settings,
            *("simulate", "--url", f"{url}/api/events", *SIMULATION),
            *("--truth", str(folder / "truth.json"), "--no-progress"),
            extra=extra,
        )
        assert delivered.returncode == 0, delivered.stderr
        truth = GroundTruth.read(folder / "truth.json")
        answers = {thread: _thread(url, thread) for thread in truth.threads}
    return Archived(settings, extra, answers)


def _thread(url: str, thread: str) -> dict[str, Any]:
    """The thread's latest messages (its rows) and every version of each, with the
    events (its blobs), as the read API gives them."""
    path = f"{url}/api/threads/{quote(thread, safe='')}/messages"
    latest = _get(f"{path}?includeDeleted=true&pageSize=1000")["messages"]
    return {
        "latest": latest,
        "versions": [
            _get(f"{path}/{quote(m['messageId'], safe='')}/versions?includeEvent=true")
            for m in latest
        ],
    }


def _get(url: str) -> Any:
    with urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def without_archival_times(text: str) -> str:
    """The two archives were written at different moments; nothing else may differ."""
    return ARCHIVED_AT.sub(r'"\1": null', text)


@pytest.fixture(scope="module")
def both(azurite, tmp_path_factory) -> tuple[Archived, Archived, Path]:
    folder = tmp_path_factory.mktemp("envelopes")
    key = Ed25519PrivateKey.generate()
    (folder / "seal.pem").write_bytes(private_pem(key))
    (folder / "public.pem").write_bytes(public_pem(key))
    common = {"ARCHIVE_SEAL_KEY": str(folder / "seal.pem")}
    (folder / "root.key").write_text(base64.b64encode(new_key()).decode())
    plain = archived(azurite, folder / "plain", common)
    sealed = archived(
        azurite,
        folder / "sealed",
        common
        | {
            "ARCHIVE_ENVELOPE": "on",
            "ARCHIVE_ROOT_KEY": str(folder / "root.key"),
            "ARCHIVE_SEARCH_INDEX_FILE": str(folder / "index.sqlite3"),
        },
    )
    return plain, sealed, folder


async def raw_versions(settings: Settings) -> dict[str, bytes]:
    """Every version blob's bytes as stored, read with no key at all."""
    storage = AzureStorage.from_settings(settings)
    try:
        names = [n async for n in storage.blobs.names("messages/")]
        return {name: await storage.blobs.read(name) for name in names}
    finally:
        await storage.close()


async def test_no_version_blob_holds_a_text_or_a_participant(both):
    _, sealed, folder = both
    truth = GroundTruth.read(folder / "sealed" / "truth.json")
    stored = await raw_versions(sealed.settings)

    assert stored
    assert all(is_envelope(content) for content in stored.values())
    secrets = {v.body for v in truth.versions if v.body and len(v.body) > 8}
    secrets |= {v.sender_id for v in truth.versions}
    leaks = [s for s in secrets for content in stored.values() if s.encode() in content]
    assert secrets
    assert leaks == []


def test_the_read_api_answers_as_it_does_for_the_plain_archive(both):
    plain, sealed, _ = both

    assert without_archival_times(json.dumps(sealed.answers)) == without_archival_times(
        json.dumps(plain.answers)
    )


def test_verify_against_the_ground_truth_reads_every_envelope(both):
    _, sealed, folder = both

    checked = sealed.run("verify", "--truth", str(folder / "sealed" / "truth.json"), "--exact")

    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("form", ["json", "jsonl", "csv"])
def test_every_export_is_the_plain_archives_export(both, form):
    plain, sealed, _ = both
    arguments = ("export", "--all", "--all-versions", "--format", form, "--no-progress")

    exported = [archive.run(*arguments) for archive in (plain, sealed)]

    assert [e.returncode for e in exported] == [0, 0], exported[1].stderr
    texts = [without_archival_times(e.stdout) for e in exported]
    assert len(texts[0]) > 1000
    assert texts[1] == texts[0]


def test_seals_cover_the_envelopes_and_a_transcripts_proof_opens_them(both):
    _, sealed, folder = both
    thread = sorted(sealed.answers)[0]
    rsmf = folder / "thread.rsmf.zip"

    seal = sealed.run("seal", "--all")
    seals = sealed.run("verify", "--seals", "--public-key", str(folder / "public.pem"))
    exported = sealed.run("export", "--thread", thread, "--format", "rsmf", "--output", str(rsmf))
    proved = sealed.run(
        "verify", "--transcript", str(rsmf), "--public-key", str(folder / "public.pem")
    )

    assert seal.returncode == 0, seal.stderr
    assert seals.returncode == 0, seals.stdout + seals.stderr
    assert exported.returncode == 0, exported.stderr
    assert proved.returncode == 0, proved.stdout + proved.stderr


def test_search_finds_a_text_inside_an_envelope_and_its_citation_proves(both):
    _, sealed, folder = both
    sealed.run("seal", "--all")
    truth = GroundTruth.read(folder / "sealed" / "truth.json")
    word = next(
        w for v in truth.latest if v.body for w in v.body.split() if w.isalpha() and len(w) > 6
    )

    indexed = sealed.run("index")
    found = sealed.run("search", word, "--json", "--limit", "1")

    assert indexed.returncode == 0, indexed.stderr
    assert found.returncode == 0, found.stderr
    [hit] = json.loads(found.stdout)["hits"]
    (folder / "hit.json").write_text(json.dumps(hit))
    proved = sealed.run(
        "verify", "--citation", str(folder / "hit.json"), "--public-key", str(folder / "public.pem")
    )
    assert proved.returncode == 0, proved.stdout + proved.stderr


def test_without_the_root_key_the_archive_is_refused_by_name_not_misread(both):
    _, sealed, _ = both
    thread = sorted(sealed.answers)[0]
    keyless = Archived(sealed.settings, {}, {})

    exported = keyless.run("export", "--thread", thread, "--all-versions", "--no-progress")

    assert exported.returncode != 0
    assert "ARCHIVE_ROOT_KEY" in exported.stderr
    assert "Traceback" not in exported.stderr
