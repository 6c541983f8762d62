"""Conversation windows, the chunks an Azure OpenAI or Foundry agent is grounded on: a
thread's current messages in the order they were sent, in windows of a bounded size
that overlap by one message, holding no edited-away or deleted text."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from archiver.core.search.documents import SearchDocument
from archiver.core.search.windows import MAX_CHARACTERS, MAX_MESSAGES, windows

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def said(message: int, text: str, *, version: int = 1, action: str = "received",
         minute: int | None = None, sender: str = "Alice") -> SearchDocument:  # fmt: skip
    number = message * 10 + version
    return SearchDocument(
        name=f"messages/t/m{message:03d}/{number:020d}-{action}.json",
        sha256="0" * 64,
        size=100,
        thread_id="19:t@thread.v2",
        thread_key="t",
        message_id=f"m{message:03d}",
        message_key=f"m{message:03d}",
        version=number,
        action=action,
        time=T0 + timedelta(minutes=message if minute is None else minute),
        sender_id=f"8:acs:{sender.lower()}",
        sender_name=sender,
        sender_kind="communicationUser",
        text="" if action == "deleted" else text,
    )


def test_a_short_conversation_is_one_window_of_lines_in_the_order_sent():
    documents = [said(2, "refund issued", sender="Bob", minute=3), said(1, "please refund")]

    [window] = windows(reversed(documents))

    assert window.text == (
        "[2026-11-02 09:01] Alice: please refund\n[2026-11-02 09:03] Bob: refund issued"
    )
    assert window.message_ids == ("m001", "m002")
    assert window.blobs == tuple(d.name for d in reversed(documents))
    assert window.senders == ("Alice", "Bob")
    assert (window.start, window.end, window.ordinal) == (T0 + timedelta(minutes=1),
                                                          T0 + timedelta(minutes=3), 0)  # fmt: skip


def test_only_current_text_is_in_a_window_never_edited_away_or_deleted_text():
    documents = [
        said(1, "order ALPHA"),
        said(1, "order BRAVO", version=2, action="edited", minute=9),
        said(2, "card CHARLIE"),
        said(2, "", version=2, action="deleted"),
        said(3, "thanks"),
    ]

    [window] = windows(documents)

    assert "BRAVO" in window.text
    assert "thanks" in window.text
    assert "ALPHA" not in window.text
    assert "CHARLIE" not in window.text
    assert window.message_ids == ("m001", "m003")
    assert window.text.startswith("[2026-11-02 09:01] Alice: order BRAVO")  # when it was sent
    assert window.blobs[0].endswith("-edited.json")


def test_windows_overlap_by_one_message_and_hold_at_most_their_share():
    documents = [said(n, f"message number {n}") for n in range(1, 21)]

    found = windows(documents)

    assert [w.ordinal for w in found] == list(range(len(found)))
    for before, after in itertools.pairwise(found):
        assert before.message_ids[-1] == after.message_ids[0]
    assert all(len(w.message_ids) <= MAX_MESSAGES for w in found)
    covered = [m for w in found for m in w.message_ids]
    assert sorted(set(covered)) == [f"m{n:03d}" for n in range(1, 21)]


def test_a_window_stops_before_it_grows_past_its_characters_and_a_long_message_stands_alone():
    documents = [said(1, "short"), said(2, "x" * (MAX_CHARACTERS + 10)), said(3, "after")]

    found = windows(documents)

    # Neither neighbour fits beside the long message, and a window of one message is not
    # repeated as the next one's start: nothing overlaps here.
    assert [w.message_ids for w in found] == [("m001",), ("m002",), ("m003",)]
    assert "x" * (MAX_CHARACTERS + 10) in found[1].text


def test_a_thread_without_current_text_has_no_windows():
    assert windows([]) == []
    assert windows([said(1, "gone"), said(1, "", version=2, action="deleted")]) == []


def test_writing_the_same_thread_again_gives_the_same_windows_and_keys():
    documents = [said(n, f"word {n}") for n in range(1, 12)]

    first, again = windows(documents), windows(list(reversed(documents)))

    assert first == again
    assert len({w.key for w in first}) == len(first)


@given(
    st.lists(st.integers(min_value=0, max_value=3 * MAX_CHARACTERS // 2), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=50, max_value=3000),
)
def test_every_message_is_in_a_window_and_each_window_keeps_its_limits(sizes, most, characters):
    documents = [said(n, "y" * size or "z") for n, size in enumerate(sizes, start=1)]

    found = windows(documents, max_messages=most, max_characters=characters)

    assert {m for w in found for m in w.message_ids} == {d.message_id for d in documents}
    for window in found:
        assert len(window.message_ids) <= most
        assert len(window.message_ids) == 1 or len(window.text) <= characters
    for before, after in itertools.pairwise(found):
        shared = set(before.message_ids) & set(after.message_ids)
        assert len(shared) <= 1
        assert after.message_ids[0] in (before.message_ids[-1], _next(documents, before))


def _next(documents: list[SearchDocument], window) -> str:
    ids = [d.message_id for d in documents]
    return ids[ids.index(window.message_ids[-1]) + 1]
