"""The contract every search index keeps (archiver.search.ports.SearchIndex), on each
index in turn: documents keyed by blob name, written again over themselves; standing
written onto a message's versions; which versions each query admits; the filters;
threads and versions leaving by name; and no query text ever read as the index's own
syntax."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.core.errors import InvalidQuery
from archiver.core.search.documents import SearchDocument, Standing
from archiver.core.search.queries import query_of
from archiver.search.azure.index import AiSearchIndex
from archiver.search.localindex import LocalIndex
from archiver.search.ports import SearchIndex
from tests.aisearch_standin import AiSearchStandin, StandinCredential

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def version(
    thread: str, message: str, number: int, action: str, text: str, *, sender: str = "8:acs:a"
) -> SearchDocument:
    name = f"messages/{thread}/{message}/{number:020d}-{action}.json"
    return SearchDocument(
        name=name,
        sha256=f"{number:064x}",
        size=100 + number,
        thread_id=thread,
        thread_key=thread,
        message_id=message,
        message_key=message,
        version=number,
        action=action,
        time=T0 + timedelta(minutes=number),
        sender_id=sender,
        sender_name="Alice Example" if sender == "8:acs:a" else "Bob",
        sender_kind="communicationUser",
        text=text,
    )


EDITED = [version("t1", "m1", 1, "received", "refund order alpha"),
          version("t1", "m1", 2, "edited", "refund order bravo")]  # fmt: skip
DELETED = [version("t1", "m2", 3, "received", "card charlie 4471"),
           version("t1", "m2", 4, "deleted", "")]  # fmt: skip
OTHER = [version("t2", "m3", 5, "received", "refund delta", sender="8:acs:b")]


@pytest.fixture(params=["local", "aisearch"])
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    """Each index in turn, empty and prepared: the local file, and Azure AI Search
    through the real SDK against its stand-in (tests/aisearch_standin.py)."""
    async with AiSearchStandin() as service:
        made: SearchIndex = (
            LocalIndex(tmp_path / "index.sqlite3", origin="devstoreaccount1/test")
            if request.param == "local"
            else AiSearchIndex(service.endpoint, "chat-messages", credential=StandinCredential())
        )
        await made.prepare()
        try:
            yield made
        finally:
            await made.close()


async def filled(index: SearchIndex) -> SearchIndex:
    for message in (EDITED, DELETED, OTHER):
        await index.put(message)
        current = [d.name for d in message if d.action != "deleted"][-1]
        deleted = message[-1].action == "deleted"
        await index.restand([([d.name for d in message], Standing(current, deleted))])
    return index


async def found(index: SearchIndex, text: str, **filters: object) -> list[tuple[str, int]]:
    hits = await index.search(query_of(text, **filters))  # type: ignore[arg-type]
    return [(hit.document.message_id, hit.document.version) for hit in hits]


async def test_the_latest_versions_are_searched_unless_all_are_asked_for(index):
    await filled(index)

    assert await found(index, "alpha") == []
    assert await found(index, "alpha", versions="all") == [("m1", 1)]
    assert await found(index, "bravo") == [("m1", 2)]


async def test_a_deleted_messages_text_is_found_only_when_deleted_messages_are_asked_for(index):
    await filled(index)

    assert await found(index, "charlie", versions="all") == []
    assert await found(index, "charlie", include_deleted=True) == [("m2", 3)]


async def test_a_hit_is_the_whole_document_with_its_standing_and_a_marked_snippet(index):
    await filled(index)

    [hit] = await index.search(query_of("bravo"))

    assert replace(hit.document, current=False, deleted=False) == EDITED[1]
    assert (hit.document.current, hit.document.deleted) == (True, False)
    assert "bravo" in hit.snippet.lower()
    assert hit.citation is None


async def test_filters_narrow_by_thread_sender_and_time(index):
    await filled(index)

    assert sorted(await found(index, "refund")) == [("m1", 2), ("m3", 5)]
    assert await found(index, "refund", thread_id="t2") == [("m3", 5)]
    assert await found(index, "refund", participant="8:acs:b") == [("m3", 5)]
    assert await found(index, "refund", participant="alice example") == [("m1", 2)]
    assert await found(index, "refund", since=T0 + timedelta(minutes=5)) == [("m3", 5)]
    assert await found(index, "refund", until=T0 + timedelta(minutes=5)) == [("m1", 2)]
    assert len(await found(index, "refund", limit=1)) == 1


async def test_phrases_prefixes_and_exclusions_mean_the_same_on_every_index(index):
    await filled(index)

    assert await found(index, '"order bravo"') == [("m1", 2)]
    assert await found(index, '"bravo order"') == []
    assert sorted(await found(index, "ref*")) == [("m1", 2), ("m3", 5)]
    assert await found(index, "refund -delta") == [("m1", 2)]
    assert await found(index, 'refund -"order bravo"') == [("m3", 5)]


@pytest.mark.parametrize(
    "text", ['" OR 1=1 bravo', "NEAR(bravo)", "text:bravo", "bravo) OR (x", "AND bravo", "bravo'"]
)
async def test_no_query_text_is_read_as_the_index_syntax(index, text):
    await filled(index)

    hits = await index.search(query_of(text))

    assert all("bravo" in hit.document.text for hit in hits)


@pytest.mark.parametrize("text", ["*", "''", "\\", "-bravo", '""'])
def test_a_query_with_no_word_to_find_is_refused(text):
    with pytest.raises(InvalidQuery, match="at least one word"):
        query_of(text)


async def test_writing_a_document_again_changes_nothing(index):
    await filled(index)
    await index.put(EDITED)

    assert sorted(await found(index, "refund order", versions="all")) == [("m1", 1), ("m1", 2)]
    assert await found(index, "bravo") == [("m1", 2)], "its standing is kept"
    assert len(await index.known()) == 5


async def test_threads_and_versions_leave_by_name(index):
    await filled(index)

    await index.forget_threads(["t2"])
    await index.forget([EDITED[0].name])

    assert await found(index, "delta", versions="all", include_deleted=True) == []
    assert await found(index, "alpha", versions="all") == []
    assert await index.known() == {EDITED[1].name, *(d.name for d in DELETED)}
