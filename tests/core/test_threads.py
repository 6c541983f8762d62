"""The ChatThreads row rules, pure: any order and any repetition of events give one row."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.records import Record
from archiver.core.threads import (
    ACTIVITY_RESOLUTION,
    MAX_MEMBERS,
    MAX_NAME_UNITS,
    MAX_TOPIC_UNITS,
    Patch,
    ThreadRow,
    advance,
    join,
    patches,
)
from tests.builders import ALICE, BOB, CAROL, TEAMS_USER, THREAD, message_event, thread_event

CREATED = 1613781114365


def records(*events: dict) -> list[Record]:
    return [classify(RawEvent.from_value(event)) for event in events]


def patch_of(*events: dict) -> Patch:
    [patch] = patches(records(*events))
    return patch


def apply_in_order(events: list[dict]) -> ThreadRow | None:
    """The row after delivering `events` one request at a time, in this order."""
    row: ThreadRow | None = None
    for event in events:
        row = advance(row, patch_of(event)) or row
    return row


def life() -> list[dict]:
    """A thread created with Alice and Bob, renamed, Carol in, Bob out and back, renamed."""
    return [
        thread_event("ChatThreadCreated", version=CREATED, subject_line="Claim 4471"),
        thread_event(
            "ChatThreadPropertiesUpdated", version=CREATED + 10, subject_line="Claim 4471 (car)"
        ),
        thread_event(
            "ChatThreadParticipantAdded",
            version=CREATED + 20,
            participant=CAROL,
            display_name="Carol",
        ),
        thread_event("ChatThreadParticipantRemoved", version=CREATED + 30, participant=BOB),
        thread_event(
            "ChatThreadParticipantAdded",
            version=CREATED + 40,
            participant=BOB,
            display_name="Bob (back)",
        ),
        thread_event(
            "ChatThreadParticipantRemoved",
            version=CREATED + 50,
            participant=CAROL,
            display_name="Carol",
        ),
        thread_event("ChatThreadPropertiesUpdated", version=CREATED + 60, subject_line="Closed"),
    ]


def test_every_order_of_a_threads_life_gives_the_same_row():
    each = [patch_of(event) for event in life()]
    rows = set()
    for order in itertools.permutations(each):
        row: ThreadRow | None = None
        for patch in order:
            row = advance(row, patch) or row
        rows.add(row)

    assert len(rows) == 1
    [row] = rows
    assert row is not None
    assert row.topic == "Closed"
    assert row.created_by == ALICE
    assert row.create_time == datetime(2021, 2, 20, 0, 31, 54, 365000, tzinfo=UTC)
    assert [(m.raw_id, m.display_name) for m in row.participants] == [
        (ALICE, "Bob"),
        (BOB, "Bob (back)"),
    ]
    assert [m.raw_id for m in row.former_participants] == [CAROL]


def test_redelivering_what_a_row_already_holds_writes_nothing():
    row = apply_in_order(life())

    for event in life():
        assert advance(row, patch_of(event)) is None


def test_at_equal_versions_a_removal_wins_whatever_the_order():
    added = thread_event("ChatThreadParticipantAdded", version=CREATED + 5, participant=CAROL)
    removed = thread_event("ChatThreadParticipantRemoved", version=CREATED + 5, participant=CAROL)

    for order in ([added, removed], [removed, added]):
        row = apply_in_order(order)
        assert row is not None
        assert [m.raw_id for m in row.former_participants] == [CAROL]
        assert row.participants == ()


def test_an_older_topic_never_replaces_a_newer_one():
    newer = thread_event("ChatThreadPropertiesUpdated", version=CREATED + 9, subject_line="New")
    older = thread_event("ChatThreadPropertiesUpdated", version=CREATED + 1, subject_line="Old")

    row = apply_in_order([newer])

    assert advance(row, patch_of(older)) is None
    assert row is not None
    assert (row.topic, row.topic_version) == ("New", CREATED + 9)


def test_a_properties_change_without_a_topic_keeps_the_topic():
    event = thread_event("ChatThreadPropertiesUpdated", version=CREATED + 9)
    event["data"]["properties"] = {"retentionPolicy": {"kind": "none"}}
    event["data"]["metadata"] = {"queue": "claims"}

    row = apply_in_order([thread_event("ChatThreadCreated", version=CREATED), event])

    assert row is not None
    assert row.topic == "Talk about new Thread Events in commuication services"
    assert row.metadata == {"queue": "claims"}


def test_a_deletion_records_who_and_when_and_the_participants_stay_known():
    deleted = thread_event("ChatThreadDeleted", version=CREATED + 99, actor=BOB)

    row = apply_in_order([*life(), deleted])

    assert row is not None
    assert row.deleted_by == BOB
    assert row.delete_time == datetime(2021, 2, 20, 0, 0, 40, 127180, tzinfo=UTC)
    assert [m.raw_id for m in row.participants] == [ALICE, BOB]


def test_participant_events_tell_when_a_thread_whose_creation_was_missed_began():
    row = apply_in_order([thread_event("ChatThreadParticipantAdded", participant=TEAMS_USER)])

    assert row is not None
    assert row.created_by is None
    assert row.create_time == datetime(2021, 2, 20, 0, 31, 54, 365000, tzinfo=UTC)
    assert [m.raw_id for m in row.participants] == [TEAMS_USER]


def test_a_thread_known_only_from_messages_gets_a_row_with_its_activity():
    row = apply_in_order([message_event(time="2026-12-01T09:00:00Z")])

    assert row == ThreadRow(
        thread_key=THREAD,
        thread_id=THREAD,
        last_activity=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )


def test_a_message_moves_last_activity_only_once_it_is_a_quarter_hour_newer():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    row = apply_in_order([message_event(time=_stamp(start))])

    within = patch_of(message_event(time=_stamp(start + ACTIVITY_RESOLUTION - timedelta(1))))
    beyond = patch_of(message_event(time=_stamp(start + ACTIVITY_RESOLUTION)))

    assert advance(row, within) is None
    moved = advance(row, beyond)
    assert moved is not None
    assert moved.last_activity == start + ACTIVITY_RESOLUTION


def test_a_thread_change_records_its_time_exactly_and_the_newest_message_with_it():
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    row = apply_in_order([message_event(time=_stamp(start))])
    request = patches(
        records(
            message_event(message_id="1764580000001", time=_stamp(start + timedelta(minutes=3))),
            thread_event(
                "ChatThreadParticipantAdded",
                participant=CAROL,
                time=_stamp(start + timedelta(minutes=1)),
            ),
        )
    )

    moved = advance(row, request[0])

    assert moved is not None
    assert moved.last_activity == start + timedelta(minutes=3)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 6 * 3600), min_size=1, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_last_activity_ends_within_a_quarter_hour_of_the_newest_message_in_any_order(offsets, seed):
    start = datetime(2026, 12, 1, tzinfo=UTC)
    events = [
        message_event(message_id=str(1764547200000 + n), time=_stamp(start + timedelta(seconds=s)))
        for n, s in enumerate(offsets)
    ]
    random.Random(seed).shuffle(events)

    row = apply_in_order(events)

    newest = start + timedelta(seconds=max(offsets))
    assert row is not None
    assert row.last_activity is not None
    assert newest - ACTIVITY_RESOLUTION < row.last_activity <= newest


_EVENT_SPECS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "ChatThreadCreated",
                "ChatThreadPropertiesUpdated",
                "ChatThreadDeleted",
                "ChatThreadParticipantAdded",
                "ChatThreadParticipantRemoved",
            ]
        ),
        st.integers(1, 6),  # versions collide on purpose
        st.sampled_from([ALICE, BOB, CAROL, TEAMS_USER]),
        st.sampled_from(["A", "B", "C"]),
    ),
    max_size=6,
)


def _row_of(specs: list[tuple[str, int, str, str]]) -> ThreadRow:
    events = [
        thread_event(kind, version=version, participant=who, display_name=name, subject_line=name)
        for kind, version, who, name in specs
    ]
    empty = ThreadRow(thread_key=THREAD, thread_id=THREAD)
    return reduce(join, [p.row for p in patches(records(*events))], empty)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(a=_EVENT_SPECS, b=_EVENT_SPECS, c=_EVENT_SPECS)
def test_join_is_commutative_associative_and_idempotent(a, b, c):
    x, y, z = _row_of(a), _row_of(b), _row_of(c)

    assert join(x, y) == join(y, x)
    assert join(join(x, y), z) == join(x, join(y, z))
    assert join(x, x) == x


def test_a_hostile_creation_is_cut_to_fit_a_row_and_says_so():
    crowd = [f"8:acs:crowd_{n:05d}" for n in range(MAX_MEMBERS + 100)]
    event = thread_event("ChatThreadCreated", subject_line="x" * 100_000, participants=crowd)
    event["data"]["participants"][0]["displayName"] = "n" * 10_000

    row = apply_in_order([event])

    assert row is not None
    assert row.truncated
    assert len(row.members) == MAX_MEMBERS
    assert row.topic is not None
    assert len(row.topic) == MAX_TOPIC_UNITS
    assert all(len(m.display_name or "") <= MAX_NAME_UNITS for m in row.members)
    assert row == apply_in_order([event])  # the same cut every time


def test_a_lone_surrogate_in_a_topic_reads_as_the_replacement_character():
    row = apply_in_order([thread_event("ChatThreadCreated", subject_line="broken \ud800 topic")])

    assert row is not None
    assert row.topic == "broken \ufffd topic"


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
