"""The analytics figures of a message and a thread, from version entries as the archive
reads them back: what each column means, as a specification."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archiver.core.errors import DamagedArchive
from archiver.core.fields import format_timestamp
from archiver.retrieval.analytics.figures import Message, message, replied, thread
from archiver.retrieval.transcript import entry
from tests.builders import ALICE, BOB, CAROL, THREAD

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def version(
    message_id: str,
    number: int,
    action: str,
    *,
    composed: float,
    body: str | None = None,
    sender: str = ALICE,
    edited: float | None = None,
    deleted: float | None = None,
) -> dict[str, Any]:
    """A version entry, as `every_version` reads one back."""
    return entry(
        thread_id=THREAD,
        message_id=message_id,
        version=number,
        action=action,
        type="text",
        sender_id=sender,
        sender_kind="communicationUser",
        sender_display_name="Alice",
        body=body,
        metadata=None,
        compose_time=format_timestamp(at(composed)),
        edit_time=None if edited is None else format_timestamp(at(edited)),
        delete_time=None if deleted is None else format_timestamp(at(deleted)),
    )


def said(message_id: str, sender: str, seconds: float) -> Message:
    """A message sent once, at `seconds` after T0."""
    return message([version(message_id, 1, "received", composed=seconds, sender=sender, body="x")])


def test_a_message_is_counted_from_its_first_version_to_its_last_and_keeps_no_text():
    versions = [
        version("1", 1, "received", composed=0, body="first"),
        version("1", 2, "edited", composed=0, body="second try", edited=30),
        version("1", 3, "edited", composed=0, body="third", edited=90),
    ]

    figures = message(versions)

    assert (figures.created, figures.first_version_time, figures.last_version_time) == (
        at(0),
        at(0),
        at(90),
    )
    assert (figures.versions, figures.edits, figures.edited, figures.deleted) == (3, 2, True, False)
    assert figures.body_length == len("third")
    assert "third" not in repr(figures)


def test_a_deleted_message_keeps_the_length_of_its_last_text_and_ends_at_its_deletion():
    versions = [
        version("1", 9, "deleted", composed=0, deleted=300),
        version("1", 1, "received", composed=0, body="a slip of the keyboard"),
    ]

    figures = message(versions)

    assert figures.deleted
    assert not figures.edited
    assert figures.versions == 2
    assert figures.last_version_time == at(300)
    assert figures.body_length == len("a slip of the keyboard")


def test_a_message_archived_only_as_its_deletion_has_no_length():
    figures = message([version("1", 9, "deleted", composed=0, deleted=60)])

    assert figures.body_length is None
    assert (figures.created, figures.first_version_time) == (at(0), at(60))


def test_a_version_whose_time_is_no_time_is_a_damaged_archive():
    broken = version("1", 1, "received", composed=0, body="x") | {"composeTime": "yesterday"}

    with pytest.raises(DamagedArchive, match="run verify"):
        message([broken])


def test_a_reply_is_timed_from_the_message_just_before_it_when_another_sender_wrote_it():
    messages = replied(
        [
            said("1", ALICE, 0),
            said("2", ALICE, 20),
            said("3", BOB, 95),
            said("4", BOB, 100),
            said("5", ALICE, 160),
        ]
    )

    assert [m.reply_seconds for m in messages] == [None, None, 95 - 20, None, 160 - 100]


def test_messages_are_ordered_by_compose_time_not_by_id_and_one_without_a_time_goes_last():
    undated = replace(said("0", BOB, 0), created=None)

    messages = replied([said("9", ALICE, 0), undated, said("5", BOB, 10)])

    assert [m.message_id for m in messages] == ["9", "5", "0"]
    assert [m.reply_seconds for m in messages] == [None, 10.0, None]


def test_a_thread_has_its_writers_its_span_its_first_response_and_its_median_reply():
    messages = replied(
        [
            said("1", ALICE, 0),
            said("2", ALICE, 20),
            said("3", BOB, 95),
            said("4", ALICE, 160),
            said("5", CAROL, 400),
        ]
    )

    figures = thread(THREAD, "Order 4471", messages)

    assert figures.participant_ids == tuple(sorted({ALICE, BOB, CAROL}))
    assert figures.participants == 3
    assert figures.messages == 5
    assert (figures.first_message_time, figures.last_message_time) == (at(0), at(400))
    assert figures.duration_seconds == 400
    assert figures.first_response_seconds == 95
    # replies: 75 (Bob), 65 (Alice), 240 (Carol): the median of an odd count is the middle
    assert figures.median_reply_seconds == 75


def test_the_median_of_an_even_count_of_replies_is_the_mean_of_the_middle_two():
    messages = replied([said("1", ALICE, 0), said("2", BOB, 10), said("3", ALICE, 40)])

    assert thread(THREAD, None, messages).median_reply_seconds == (10 + 30) / 2


def test_a_thread_nobody_answered_has_no_first_response_and_no_median_reply():
    messages = replied([said("1", ALICE, 0), said("2", ALICE, 50)])

    figures = thread(THREAD, None, messages)

    assert figures.first_response_seconds is None
    assert figures.median_reply_seconds is None
    assert (figures.participants, figures.duration_seconds) == (1, 50)
