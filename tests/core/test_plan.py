"""Version order, and collapsing a request into the least storage work."""

from __future__ import annotations

import itertools

import pytest

from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.plan import plan
from archiver.core.records import Action, MessageVersion
from archiver.core.versions import Stamp, supersedes
from tests.builders import BOB, CAROL, fan_out, message_event, thread_event


def records(*events):
    return [classify(RawEvent.from_value(event)) for event in events]


def test_a_higher_version_is_newer_whatever_the_action():
    assert supersedes(Stamp.of(2, Action.RECEIVED), Stamp.of(1, Action.DELETED))
    assert not supersedes(Stamp.of(1, Action.DELETED), Stamp.of(2, Action.RECEIVED))


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        (Action.DELETED, Action.EDITED),
        (Action.EDITED, Action.RECEIVED),
        (Action.DELETED, Action.RECEIVED),
    ],
)
def test_at_equal_versions_deleted_beats_edited_beats_received(newer, older):
    assert supersedes(Stamp.of(5, newer), Stamp.of(5, older))
    assert not supersedes(Stamp.of(5, older), Stamp.of(5, newer))


def test_a_version_never_supersedes_itself():
    assert not supersedes(Stamp.of(5, Action.EDITED), Stamp.of(5, Action.EDITED))


def test_per_user_copies_of_a_version_collapse_into_one_write():
    copies = fan_out([BOB, CAROL, "8:acs:x_1", "8:acs:x_2"], message_id="42")

    work = plan(records(*copies))

    [message] = work.messages
    [write] = message.writes
    assert write.events == (0, 1, 2, 3)


def test_thread_level_and_per_user_copies_of_a_version_collapse_too():
    work = plan(
        records(message_event(message_id="42"), message_event(message_id="42", recipient=BOB))
    )

    assert [w.events for w in work.messages[0].writes] == [(0, 1)]


def test_each_message_gets_one_row_candidate_its_newest_version():
    events = [
        message_event("received", message_id="7"),
        message_event("edited", message_id="7"),
        message_event("deleted", message_id="7"),
        message_event(message_id="8"),
    ]

    for order in itertools.permutations(events):
        work = plan(records(*order))

        newest = {m.newest.message_id: m.newest.action for m in work.messages}
        assert newest == {"7": Action.DELETED, "8": Action.RECEIVED}
        assert sum(len(m.writes) for m in work.messages) == 4


def test_thread_events_collapse_per_user_copies_and_ignored_events_are_listed():
    added = [
        thread_event("ChatParticipantAddedToThreadWithUser", recipient=r) for r in (BOB, CAROL)
    ]
    typing = message_event() | {
        "eventType": "Microsoft.Communication.ChatTypingIndicatorReceivedInThread"
    }

    work = plan(records(*added, typing))

    assert [w.events for w in work.others] == [(0, 1)]
    assert work.ignored == (2,)
    assert work.messages == ()


def test_the_first_copy_of_a_version_is_the_one_stored():
    first, second = fan_out([BOB, CAROL], message_id="42")

    work = plan(records(first, second))

    stored = work.messages[0].writes[0].record
    assert isinstance(stored, MessageVersion)
    assert f'"{BOB}"' in stored.raw
