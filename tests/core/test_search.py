"""Search, decided: a version as a document, a message's standing from its blob names,
what a query means, and citations whose inclusion proof holds only for what the seal
covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from archiver.core.errors import InvalidQuery
from archiver.core.evidence.seals import Covered, Seal
from archiver.core.records import Action, MessageVersion, Party
from archiver.core.search.citations import inclusion_proof, parse_citation, proves
from archiver.core.search.documents import document_of, search_key, standing
from archiver.core.search.queries import Term, Versions, query_of

pytestmark = pytest.mark.pure

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def version(action: Action, body: str | None, *, kind: str = "text") -> MessageVersion:
    return MessageVersion(
        thread_id="19:a@thread.v2", thread_key="19:a@thread.v2", message_id="1", message_key="1",
        version=2, action=action, sender=Party(raw_id="8:acs:x", kind="communicationUser",
        display_name="Alice"), type=kind, body=body, metadata=None, compose_time=AT,
        edit_time=AT.replace(minute=5), delete_time=AT.replace(minute=9), event_type="e", raw="{}",
    )  # fmt: skip


def name(number: int, action: str) -> str:
    return f"messages/19:a@thread.v2/1/{number:020d}-{action}.json"


def test_a_version_is_a_document_of_its_own_time_and_text():
    edited = document_of(version(Action.EDITED, "Refund  sent"), name="n", sha256="s", size=9)
    html = document_of(version(Action.RECEIVED, "<p>a &amp; <b>b</b></p>", kind="html"),
                       name="n", sha256="s", size=9)  # fmt: skip
    deleted = document_of(version(Action.DELETED, None), name="n", sha256="s", size=9)

    assert (edited.time, edited.text) == (AT.replace(minute=5), "Refund sent")
    assert html.text == "a & b"
    assert (deleted.time, deleted.text) == (AT.replace(minute=9), "")


def test_a_messages_standing_is_its_newest_text_and_whether_it_ends_deleted():
    assert standing([name(1, "received"), name(2, "edited")]).current == name(2, "edited")
    gone = standing([name(2, "edited"), name(1, "received"), name(3, "deleted")])
    assert (gone.current, gone.deleted) == (name(2, "edited"), True)
    # at equal versions a deletion is newer than an edit, as the latest row has it
    same = standing([name(4, "edited"), name(4, "deleted")])
    assert (same.current, same.deleted) == (name(4, "edited"), True)
    assert standing([name(1, "deleted")]).current is None
    assert standing(["seals/x.json"]).current is None


def test_a_search_key_is_only_what_azure_ai_search_allows():
    key = search_key("messages/19:a@thread.v2/1/00000000000000000002-edited.json")

    assert set(key) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=")


def test_a_query_is_words_phrases_prefixes_and_exclusions():
    query = query_of('Refund "order 4471-9" escal* -Spam')

    assert query.terms == (
        Term(("refund",)),
        Term(("order", "4471", "9")),
        Term(("escal",), prefix=True),
        Term(("spam",), excluded=True),
    )
    assert query.versions == Versions.LATEST


def test_which_versions_a_query_admits():
    latest, every = query_of("a"), query_of("a", versions="all", include_deleted=True)

    assert latest.admits(current=True, deleted=False)
    assert not latest.admits(current=False, deleted=False)
    assert not latest.admits(current=True, deleted=True)
    assert every.admits(current=False, deleted=True)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"text": "a", "limit": 0}, "limit is between 1 and 1000"),
        ({"text": "a", "versions": "some"}, "versions is one of latest, all"),
        ({"text": "a", "since": AT, "until": AT}, "since must be before until"),
        ({"text": "a", "thread_id": " "}, "thread is empty"),
        ({"text": " ".join(["w"] * 33)}, "at most 32 terms"),
    ],
)
def test_a_bad_query_is_refused_saying_why(arguments, said):
    with pytest.raises(InvalidQuery, match=said):
        query_of(**arguments)


SEAL = Seal(
    thread_id="19:a@thread.v2",
    thread_key="19:a@thread.v2",
    sealed_at=AT,
    blobs=tuple(Covered(name=name(n, "received"), size=n, sha256=f"{n:064x}") for n in range(1, 8)),
    previous=None,
    key_id="k",
    algorithm="Ed25519",
)


@pytest.mark.parametrize("position", range(7))
def test_an_inclusion_proof_holds_for_each_blob_the_seal_covers(position):
    covered = SEAL.blobs[position]

    assert proves(inclusion_proof(SEAL, covered), covered, SEAL) is None


def test_an_inclusion_proof_holds_for_nothing_else():
    covered, other = SEAL.blobs[2], SEAL.blobs[3]
    proof = inclusion_proof(SEAL, covered)
    shuffled = proof | {"path": proof["path"][:1] + proof["path"][1:][::-1]}

    assert "does not match" in (proves(proof, other, SEAL) or "")
    assert "fails" in (proves(shuffled, covered, SEAL) or "")
    assert "does not cover" in (proves(proof, Covered(name="x", size=1, sha256="0"), SEAL) or "")
    assert "alformed" in (proves({"metadata": {}}, covered, SEAL) or "")


def test_a_citation_file_is_a_citation_or_a_hit_holding_one():
    citation = {"format": "acs-chat-archiver/citation@1", "blob": "b", "sha256": "s", "size": 1,
                "threadId": "t", "seal": None}  # fmt: skip

    assert parse_citation(json.dumps(citation)) == citation
    assert parse_citation(json.dumps({"citation": citation})) == citation
    with pytest.raises(InvalidQuery, match="not a citation"):
        parse_citation("{}")
    with pytest.raises(InvalidQuery, match="'size' is missing"):
        parse_citation(json.dumps(citation | {"size": "1"}))
