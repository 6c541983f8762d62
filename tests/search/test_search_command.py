"""`archiver index`, `archiver search` and `archiver verify --citation`, as an
investigator runs them: a hand-made archive with an edit, a deletion and a thread
disposed of is indexed; each text is found exactly when the flags ask for its kind of
version, the disposed thread never; every hit's citation proves, and a citation
altered in any part does not."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.settings import Settings
from archiver.storage.azure import AzureStorage
from tests.builders import ALICE, BOB, message_event
from tests.conftest import run_archiver
from tests.sealing.test_sealing_entry_points import private_pem, public_pem

KEPT = "19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2"
DISPOSED = "19:d15b05edd15b05edd15b05edd15b05ed@thread.v2"
EVENTS = (
    message_event("received", thread_id=KEPT, message_id="1700000000001", sender=ALICE,
                  body="Please refund order ALPHA", time="2026-11-02T09:00:00Z"),
    message_event("edited", thread_id=KEPT, message_id="1700000000001", sender=ALICE,
                  body="Please refund order BRAVO", time="2026-11-02T09:01:00Z"),
    message_event("received", thread_id=KEPT, message_id="1700000000002", sender=ALICE,
                  body="my card is CHARLIE 4471", time="2026-11-02T09:02:00Z"),
    message_event("deleted", thread_id=KEPT, message_id="1700000000002", sender=ALICE,
                  time="2026-11-02T09:03:00Z"),
    message_event("received", thread_id=KEPT, message_id="1700000000003", sender=BOB,
                  body="<p>Refund <b>issued</b> for BRAVO</p>", message_type="html",
                  time="2026-11-02T09:04:00Z"),
    message_event("received", thread_id=DISPOSED, message_id="1700000000004", sender=BOB,
                  body="ECHO refund in a thread past retention", time="2021-02-19T00:25:58Z"),
)  # fmt: skip


def archiver(
    settings: Settings, extra: dict[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    return run_archiver(settings, *arguments, "--settings", "/nonexistent.json", extra=extra)


def hits(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    found: list[dict] = json.loads(result.stdout)["hits"]
    return found


@pytest.fixture
async def investigated(settings: Settings, tmp_path: Path):
    """The archive of EVENTS, the thread past retention disposed of after a first index
    (so the update must forget it), sealed and checkpointed; the environment to run
    commands in, with the seal key, and the public key's file."""
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        await Archive(storage, concurrency=4, timeout_seconds=60).store(
            [classify(RawEvent.from_value(e)) for e in EVENTS]
        )
    finally:
        await storage.close()
    key = Ed25519PrivateKey.generate()
    (tmp_path / "seal.pem").write_bytes(private_pem(key))
    (tmp_path / "public.pem").write_bytes(public_pem(key))
    extra = {
        "ARCHIVE_SEAL_KEY": str(tmp_path / "seal.pem"),
        "ARCHIVE_SEARCH_INDEX_FILE": str(tmp_path / "index.sqlite3"),
        "ARCHIVE_RETENTION_DAYS": str(365),
    }
    first = archiver(settings, extra, "index")
    assert first.returncode == 0, first.stderr
    assert "indexed 6 new versions of 6" in first.stderr
    disposed = archiver(settings, extra, "dispose")
    assert disposed.returncode == 0, disposed.stderr
    sealed = archiver(settings, extra, "seal", "--all")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    again = archiver(settings, extra, "index")
    assert again.returncode == 0, again.stderr
    assert "indexed 0 new versions from 2 threads written since the last update" in again.stderr
    assert "1 gone from the archive left the index" in again.stderr
    return settings, extra, tmp_path / "public.pem"


@pytest.mark.process
async def test_each_text_is_found_only_when_its_kind_of_version_is_asked_for(investigated):
    settings, extra, _ = investigated

    def found(*arguments: str) -> list[tuple[str, int, str]]:
        answer = hits(archiver(settings, extra, "search", *arguments, "--json"))
        return [(h["messageId"], h["version"], h["action"]) for h in answer]

    assert found("alpha") == []
    assert found("alpha", "--versions", "all") == [("1700000000001", 1700000000001, "received")]
    assert found("bravo", "--participant", ALICE) == [("1700000000001", 1700000141858, "edited")]
    assert found("issued") == [("1700000000003", 1700000000003, "received")]  # HTML as text
    assert found("charlie") == []
    assert found("charlie", "--versions", "all") == []
    assert found("charlie", "--include-deleted") == [("1700000000002", 1700000000002, "received")]
    assert found("echo", "--versions", "all", "--include-deleted") == []
    assert len(found("refund")) == 2
    assert found("refund -bravo") == []
    assert len(found('"refund order"', "--versions", "all")) == 2
    assert found('"order refund"', "--versions", "all") == []
    assert len(found("refu*")) == 2
    assert found("refund", "--until", "2026-11-02T09:02:00Z") == [
        ("1700000000001", 1700000141858, "edited")
    ]


@pytest.mark.process
async def test_every_hit_cites_a_sealed_blob_and_its_citation_proves(investigated, tmp_path):
    settings, extra, public = investigated
    every = hits(archiver(settings, extra, "search", "refund", "--versions", "all",
                          "--include-deleted", "--json"))  # fmt: skip
    assert len(every) == 3

    for number, hit in enumerate(every):
        citation = hit["citation"]
        assert citation["seal"] is not None, "sealed before the search"
        given = tmp_path / f"hit-{number}.json"
        given.write_text(json.dumps(hit))
        proved = archiver(settings, extra, "verify", "--citation", str(given),
                          "--public-key", str(public))  # fmt: skip
        assert proved.returncode == 0, proved.stdout + proved.stderr
        assert proved.stdout.rstrip().endswith(
            f"{citation['blob']}: proved, with 1 key(s) given with --public-key"
        )
        assert "ok: checkpoint" in proved.stdout


def sealed_with(citation: dict, **changes: object) -> dict:
    return citation | {"seal": citation["seal"] | changes}


def reversed_path(citation: dict) -> dict:
    proof = citation["seal"]["inclusionProof"]
    return sealed_with(citation, inclusionProof=proof | {"path": proof["path"][::-1]})


OTHER_THREAD = "19:0000000000000000000000000000000f@thread.v2"


@pytest.mark.process
@pytest.mark.parametrize(
    ("alteration", "failure"),
    [
        (lambda c: c | {"sha256": "0" * 64}, "does not hold the cited bytes"),
        (lambda c: c | {"blob": c["blob"].replace("-received", "-edited")}, "not in the archive"),
        (lambda c: sealed_with(c, sha256="0" * 64), "is not the seal cited"),
        (lambda c: sealed_with(c, rootHash="0" * 64), "tree size or root"),
        (reversed_path, "inclusion proof fails"),
        (lambda c: c | {"threadId": OTHER_THREAD}, "is not a message version of thread"),
        (lambda c: c | {"seal": None}, "was not sealed"),
    ],
    ids=["bytes", "blob", "seal", "root", "proof", "thread", "unsealed"],
)
async def test_a_citation_altered_in_any_part_does_not_prove(
    investigated, tmp_path, alteration, failure
):
    settings, extra, public = investigated
    [hit] = hits(archiver(settings, extra, "search", "alpha", "--versions", "all", "--json"))
    given = tmp_path / "altered.json"
    given.write_text(json.dumps(alteration(hit["citation"])))

    proved = archiver(
        settings, extra, "verify", "--citation", str(given), "--public-key", str(public)
    )

    assert proved.returncode == 1, proved.stdout + proved.stderr
    assert failure in proved.stdout
    assert "NOT PROVED" in proved.stdout


@pytest.mark.process
async def test_a_citation_proves_nothing_with_another_key(investigated, tmp_path):
    settings, extra, _ = investigated
    [hit] = hits(archiver(settings, extra, "search", "bravo", "--participant", ALICE, "--json"))
    given = tmp_path / "hit.json"
    given.write_text(json.dumps(hit))
    other = tmp_path / "other.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate()))

    proved = archiver(
        settings, extra, "verify", "--citation", str(given), "--public-key", str(other)
    )

    assert proved.returncode == 1
    assert "not signed by a trusted key" in proved.stdout


@pytest.mark.process
@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("search", "-only -these"), "needs at least one word"),
        (("search", "x" * 501), "at most 500 characters"),
        (("search", "refund", "--since", "2026-12-01", "--until", "2026-11-01"), "since must be"),
        (("search", "refund", "--limit", "0"), "must be at least 1"),
        (("verify", "--citation", "/nonexistent.json"), "--citation /nonexistent.json"),
    ],
)  # fmt: skip
async def test_a_bad_search_or_citation_gets_a_clear_answer(settings, tmp_path, arguments, said):
    extra = {"ARCHIVE_SEARCH_INDEX_FILE": str(tmp_path / "index.sqlite3")}
    answer = archiver(settings, extra, *arguments)
    assert answer.returncode == 2, answer.stdout + answer.stderr
    assert said in answer.stderr
    assert "Traceback" not in answer.stderr


@pytest.mark.process
async def test_every_search_is_in_the_audit_trail_with_its_query(investigated):
    settings, extra, _ = investigated
    assert archiver(settings, extra, "search", "bravo", "--participant", ALICE).returncode == 0

    records = archiver(settings, extra, "audit", "--format", "jsonl")

    searches = [r for r in map(json.loads, records.stdout.splitlines()) if r["action"] == "search"]
    assert [s["details"]["query"] for s in searches] == ["bravo"]
    assert searches[0]["details"]["participant"] == ALICE
    assert searches[0]["principal"]["name"] == os.environ.get(
        "USER", searches[0]["principal"]["name"]
    )
