"""ListMessages items read into records: the same versions the events would give."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archiver.acs.listing import LISTED, read_message, read_participant, removed
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.layout import message_blob_name
from archiver.core.records import Action, MessageVersion, Quarantined
from tests.builders import ALICE, BOB, THREAD, identifier, message_event


def listed(**changes: object) -> dict:
    """A ChatMessage as the REST API lists it (the shapes of the 2024-03-07 spec)."""
    value: dict = {
        "id": "1613694358927",
        "type": "text",
        "sequenceId": "3",
        "version": "1613694358927",
        "content": {"message": "Welcome to Azure Communication Services"},
        "senderDisplayName": "Bob(Admin)",
        "createdOn": "2021-02-19T00:25:58.927Z",
        "senderCommunicationIdentifier": identifier(ALICE),
    }
    return value | changes


@pytest.mark.parametrize(
    ("changes", "event", "action"),
    [
        ({}, message_event(), Action.RECEIVED),
        (
            {
                "version": "1613694500784",
                "editedOn": "2021-02-19T00:28:20.784Z",
                "content": {"message": "Welcome to Azure Communication Services"},
            },
            message_event("edited"),
            Action.EDITED,
        ),
        (
            {"version": "1613695390361", "deletedOn": "2021-02-19T00:43:10.14Z", "content": None},
            message_event("deleted"),
            Action.DELETED,
        ),
    ],
    ids=["received", "edited", "deleted"],
)
def test_a_listed_message_is_the_version_its_event_would_be(changes, event, action):
    record = read_message(THREAD, listed(**changes)).record
    from_event = classify(RawEvent.from_value(event))

    assert isinstance(record, MessageVersion)
    assert isinstance(from_event, MessageVersion)
    assert record.action is action
    assert message_blob_name(record) == message_blob_name(from_event)
    assert (record.sender, record.type, record.compose_time) == (
        from_event.sender,
        from_event.type,
        from_event.compose_time,
    )
    assert record.body == from_event.body
    assert record.event_type == LISTED


def test_a_listed_message_keeps_the_item_as_the_api_gave_it():
    item = listed(metadata={"ticket": "INC-42"})

    record = read_message(THREAD, item).record

    assert isinstance(record, MessageVersion)
    assert record.metadata == {"ticket": "INC-42"}
    assert '"sequenceId":"3"' in record.raw


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"version": "v2"}, "version"),
        ({"content": {"message": None}}, "has no content.message"),
        ({"createdOn": "yesterday"}, "createdOn"),
        ({"id": ""}, "id"),
        ({"metadata": {"n": 1}}, "metadata"),
    ],
)
def test_a_listed_message_that_does_not_parse_is_quarantined_with_the_reason(changes, says):
    record = read_message(THREAD, listed(**changes)).record

    assert isinstance(record, Quarantined)
    assert says in record.reason
    assert record.event_type == LISTED


def test_system_messages_are_thread_changes_and_name_who_was_removed():
    system = listed(
        id="1613694359000",
        type="participantRemoved",
        content={
            "participants": [
                {"communicationIdentifier": identifier(BOB), "displayName": "Bob"},
                {"displayName": "nobody"},
            ],
            "initiatorCommunicationIdentifier": identifier(ALICE),
        },
    )
    del system["senderCommunicationIdentifier"]

    result = read_message(THREAD, system)

    assert result.record is None
    assert result.system is not None
    assert [(p.raw_id, p.display_name) for p in removed(result.system)] == [(BOB, "Bob")]
    assert result.system.created_on == datetime(2021, 2, 19, 0, 25, 58, 927000, tzinfo=UTC)


def test_a_listed_participant_is_read_or_ignored_when_it_names_no_one():
    person = read_participant({"communicationIdentifier": identifier(BOB), "displayName": "Bob"})

    assert person is not None
    assert (person.raw_id, person.display_name) == (BOB, "Bob")
    assert read_participant({"displayName": "nobody"}) is None
    assert read_participant("not an object") is None
