"""A thread as RSMF: messages with their edits and deletion, joins, leaves, topic
changes, who the conversation lists, and the slices files are cut into."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from archiver.retrieval.rsmf.manifest import (
    Event,
    conversation,
    manifest,
    message_events,
    ordered,
    participant_id,
    slices,
    thread_events,
)
from archiver.retrieval.rsmf.rules import problems
from tests.builders import ALICE, BOB, CAROL, THREAD


def version(
    message_id: str, number: int, action: str, body: str | None, *, sender: str = ALICE, **times
) -> dict[str, Any]:
    return {
        "threadId": THREAD,
        "messageId": message_id,
        "version": number,
        "action": action,
        "senderId": sender,
        "senderDisplayName": "Alice",
        "body": body,
        "composeTime": "2026-11-02T08:00:00.000Z",
        "editTime": times.get("edit"),
        "deleteTime": times.get("delete"),
    }


def change(
    kind: str, number: int, time: str, *, who: str | None = None, **fields
) -> dict[str, Any]:
    return {
        "threadId": THREAD,
        "version": number,
        "change": kind,
        "actor": {"id": ALICE, "kind": "communicationUser", "displayName": None},
        "participant": {"id": who, "kind": "communicationUser", "displayName": "Bob"}
        if who
        else None,
        "time": time,
        **fields,
    }


def test_a_message_is_its_first_body_then_every_edit_in_version_order_and_a_deletion_keeps_it():
    versions = [
        version("1", 30, "deleted", None, delete="2026-11-02T08:09:00.000Z"),
        version("1", 20, "edited", "third", edit="2026-11-02T08:05:00.000Z"),
        version("1", 1, "received", "first"),
        version("1", 10, "edited", "second", edit="2026-11-02T08:01:00.000Z"),
    ]

    [event] = message_events(THREAD, versions)

    assert event.document == {
        "id": "1",
        "type": "message",
        "conversation": THREAD,
        "participant": participant_id(ALICE),
        "timestamp": "2026-11-02T08:00:00.000Z",
        "body": "first",
        "edits": [
            {
                "participant": participant_id(ALICE),
                "timestamp": "2026-11-02T08:01:00.000Z",
                "previous": "first",
                "new": "second",
            },
            {
                "participant": participant_id(ALICE),
                "timestamp": "2026-11-02T08:05:00.000Z",
                "previous": "second",
                "new": "third",
            },
        ],
        "deleted": True,
        "custom": [{"name": "deleteTime", "value": "2026-11-02T08:09:00.000Z"}],
    }


def test_joins_leaves_and_topic_changes_say_who_and_what():
    changes = [
        change("created", 1, "2026-11-02T07:00:00.000Z", participants=[_party(ALICE, "Alice")]),
        change("participantAdded", 2, "2026-11-02T07:10:00.000Z", who=BOB),
        change("propertiesUpdated", 3, "2026-11-02T07:20:00.000Z", properties={"topic": "Q4"}),
        change("participantRemoved", 4, "2026-11-02T07:30:00.000Z", who=BOB),
        change("deleted", 5, "2026-11-02T07:40:00.000Z"),
    ]
    talk = conversation(THREAD, "Q4", [], changes)

    events = thread_events(talk, changes)

    assert [(e.document["type"], e.document["body"]) for e in events] == [
        ("history", "Alice created the thread"),
        ("join", "Bob was added by Alice"),
        ("history", "Alice changed the topic to 'Q4'"),
        ("leave", "Bob was removed by Alice"),
        ("history", "Alice deleted the thread"),
    ]
    assert [e.document["participant"] for e in events] == [
        participant_id(p) for p in (ALICE, BOB, ALICE, BOB, ALICE)
    ]
    assert len({e.document["id"] for e in events}) == 5


def test_a_channel_lists_who_was_present_at_its_first_event_and_everyone_it_names():
    changes = [
        change("created", 1, "2026-11-02T07:00:00.000Z", participants=[_party(ALICE, "Alice")]),
        change("participantAdded", 2, "2026-11-02T07:10:00.000Z", who=BOB),
        change("participantAdded", 3, "2026-11-02T09:00:00.000Z", who=CAROL),
    ]
    versions = [version("1", 1, "received", "hi", sender=CAROL)]
    talk = conversation(THREAD, "Q4", versions, changes)
    events = ordered(message_events(THREAD, versions))

    document = manifest(talk, events)

    assert document["conversations"][0]["type"] == "channel"
    assert document["conversations"][0]["participants"] == [
        participant_id(ALICE),
        participant_id(BOB),
    ]
    assert [p["account_id"] for p in document["participants"]] == [ALICE, BOB, CAROL]
    assert problems(document) == []


def test_a_thread_of_exactly_two_people_is_direct_and_lists_both():
    versions = [
        version("1", 1, "received", "hi", sender=ALICE),
        version("2", 2, "received", "hello", sender=BOB),
    ]
    talk = conversation(THREAD, None, versions, [])

    document = manifest(talk, message_events(THREAD, versions), evidence=(("seal", "abc"),))

    [talked] = document["conversations"]
    assert talked["type"] == "direct"
    assert talked["display"] == THREAD
    assert talked["participants"] == [participant_id(ALICE), participant_id(BOB)]
    assert talked["custom"] == [{"name": "seal", "value": "abc"}]


def test_files_are_cut_per_utc_day_and_never_hold_more_than_the_limit():
    start = datetime(2026, 11, 2, 22, tzinfo=UTC)
    events = [_event(start + timedelta(minutes=30 * n), str(n)) for n in range(9)]

    by_day = slices(events, by_day=True, limit=3)
    whole = slices(events, by_day=False, limit=4)

    assert [(s.day, s.number, len(s.events)) for s in by_day] == [
        (date(2026, 11, 2), 1, 3),
        (date(2026, 11, 2), 2, 1),
        (date(2026, 11, 3), 1, 3),
        (date(2026, 11, 3), 2, 2),
    ]
    assert [(s.day, s.number, len(s.events)) for s in whole] == [
        (None, 1, 4),
        (None, 2, 4),
        (None, 3, 1),
    ]
    assert slices(events, by_day=False)[0].number is None
    assert [e for s in by_day for e in s.events] == events


def test_a_participant_id_is_short_and_the_same_for_the_same_raw_id():
    assert participant_id(ALICE) == participant_id(ALICE)
    assert participant_id(ALICE) != participant_id(BOB)
    assert len(participant_id(ALICE)) == 18
    assert participant_id(None) == "p-unknown"


def _party(raw_id: str, name: str) -> dict[str, str]:
    return {"id": raw_id, "kind": "communicationUser", "displayName": name}


def _event(at: datetime, event_id: str) -> Event:
    return Event(at=at, document={"id": event_id, "type": "message"}, people=())
