"""Every ACS chat event type becomes the right record, however its payload varies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.eventgrid import SystemEventNames

from archiver.core.envelopes import RawEvent
from archiver.core.events import ARCHIVED_EVENT_TYPES, MESSAGE_EVENTS, THREAD_EVENTS, classify
from archiver.core.records import (
    Action,
    Ignored,
    MessageVersion,
    Quarantined,
    ThreadChange,
    ThreadEvent,
)
from tests.builders import (
    ALICE,
    PAYLOADS,
    PHONE,
    TEAMS_APP,
    TEAMS_USER,
    message_event,
    payload,
    thread_event,
)

MESSAGE_PAYLOADS = {
    "chat_message_received": Action.RECEIVED,
    "chat_message_received_in_thread": Action.RECEIVED,
    "chat_message_edited": Action.EDITED,
    "chat_message_edited_in_thread": Action.EDITED,
    "chat_message_deleted": Action.DELETED,
    "chat_message_deleted_in_thread": Action.DELETED,
}
THREAD_PAYLOADS = {
    "chat_thread_created": ThreadChange.CREATED,
    "chat_thread_created_with_user": ThreadChange.CREATED,
    "chat_thread_properties_updated": ThreadChange.PROPERTIES_UPDATED,
    "chat_thread_properties_updated_per_user": ThreadChange.PROPERTIES_UPDATED,
    "chat_thread_deleted": ThreadChange.DELETED,
    "chat_thread_with_user_deleted": ThreadChange.DELETED,
    "chat_thread_participant_added": ThreadChange.PARTICIPANT_ADDED,
    "chat_participant_added_to_thread_with_user": ThreadChange.PARTICIPANT_ADDED,
    "chat_thread_participant_removed": ThreadChange.PARTICIPANT_REMOVED,
    "chat_participant_removed_from_thread_with_user": ThreadChange.PARTICIPANT_REMOVED,
}
SCHEMAS = ["eventgrid", "cloudevents"]


def record_of(event: dict) -> object:
    return classify(RawEvent.from_value(event))


def test_the_event_type_names_are_the_azure_sdks_own():
    # The archiver spells the names itself (importing azure-eventgrid costs every cold
    # start); the SDK, a development dependency, is the reference they must match.
    chat = {
        value.value
        for name, value in vars(SystemEventNames).items()
        if name.startswith("AcsChat")
        # Typing indicators and bot commands are ignored; "Member" names are the
        # pre-GA spellings of the participant events, which ACS no longer sends.
        and not any(word in name for word in ("Typing", "BotCommand", "Member"))
    }

    assert {*MESSAGE_EVENTS, *THREAD_EVENTS} == chat


def test_the_published_examples_cover_every_archived_event_type():
    published = {
        payload("cloudevents", path.stem)["type"]
        for path in (PAYLOADS / "cloudevents").glob("*.json")
    }

    assert published >= ARCHIVED_EVENT_TYPES
    assert len(ARCHIVED_EVENT_TYPES) == 16


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize(("name", "action"), MESSAGE_PAYLOADS.items())
def test_each_published_message_event_becomes_a_message_version(schema, name, action):
    event = payload(schema, name)

    record = record_of(event)

    assert isinstance(record, MessageVersion)
    assert record.action is action
    assert record.message_id == event["data"]["messageId"]
    assert record.version == int(event["data"]["version"])
    assert record.thread_id == event["data"]["threadId"]
    assert record.sender.raw_id == event["data"]["senderCommunicationIdentifier"]["rawId"]
    assert record.sender.kind == "communicationUser"
    assert record.type == "text"
    assert record.body == (None if action is Action.DELETED else event["data"]["messageBody"])


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize(("name", "change"), THREAD_PAYLOADS.items())
def test_each_published_thread_event_becomes_a_thread_event(schema, name, change):
    event = payload(schema, name)

    record = record_of(event)

    assert isinstance(record, ThreadEvent)
    assert record.change is change
    assert record.version == int(event["data"]["version"])
    assert record.actor.raw_id is not None
    if change in (ThreadChange.PARTICIPANT_ADDED, ThreadChange.PARTICIPANT_REMOVED):
        assert record.participant is not None
        assert record.participant_key is not None


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize(
    "name",
    ["chat_typing_indicator_received_in_thread", "chat_azure_bot_command_received_in_thread"],
)
def test_typing_indicators_and_bot_commands_are_ignored(schema, name):
    assert isinstance(record_of(payload(schema, name)), Ignored)


@pytest.mark.parametrize(
    "event_type",
    [
        "Microsoft.Communication.SMSReceived",
        "Microsoft.Storage.BlobCreated",
        "Microsoft.EventGrid.SubscriptionDeletedEvent",
    ],
)
def test_other_event_types_are_ignored(event_type):
    event = message_event() | {"eventType": event_type}

    assert record_of(event) == Ignored(event_type=event_type)


def test_the_record_keeps_the_event_text_exactly():
    raw = RawEvent.from_value(message_event())

    record = classify(raw)

    assert isinstance(record, MessageVersion)
    assert record.raw == raw.text


@pytest.mark.parametrize("version", [1613694358927, "1613694358927"])
def test_a_version_may_be_a_number_or_a_numeric_string(version):
    record = record_of(message_event(version=version))

    assert isinstance(record, MessageVersion)
    assert record.version == 1613694358927


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2021-02-19T00:25:58.927Z", datetime(2021, 2, 19, 0, 25, 58, 927000, tzinfo=UTC)),
        ("2021-02-20T00:58:05.964+00:00", datetime(2021, 2, 20, 0, 58, 5, 964000, tzinfo=UTC)),
        (
            "2021-02-19T17:07:10.064-08:00",
            datetime(2021, 2, 19, 17, 7, 10, 64000, tzinfo=timezone(timedelta(hours=-8))),
        ),
        ("2021-02-19T00:25:59.9436666Z", datetime(2021, 2, 19, 0, 25, 59, 943666, tzinfo=UTC)),
        ("2021-02-19T00:25:58", datetime(2021, 2, 19, 0, 25, 58, tzinfo=UTC)),
    ],
)
def test_times_with_z_offsets_or_seven_digit_fractions_are_read(stamp, expected):
    event = message_event()
    event["data"]["composeTime"] = stamp

    record = record_of(event)

    assert isinstance(record, MessageVersion)
    assert record.compose_time == expected


@pytest.mark.parametrize(
    ("message_type", "normalized"),
    [("Text", "text"), ("text", "text"), ("html", "html"), ("RichText/Html", "richtext/html")],
)
def test_the_message_type_is_kept_in_lower_case(message_type, normalized):
    record = record_of(message_event(message_type=message_type))

    assert isinstance(record, MessageVersion)
    assert record.type == normalized


def test_missing_metadata_is_none_and_present_metadata_is_kept():
    without = record_of(message_event())
    with_ = record_of(message_event(metadata={"ticket": "INC-42", "lang": "fr"}))

    assert isinstance(without, MessageVersion)
    assert isinstance(with_, MessageVersion)
    assert without.metadata is None
    assert with_.metadata == {"ticket": "INC-42", "lang": "fr"}


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        (ALICE, "communicationUser"),
        (TEAMS_USER, "microsoftTeamsUser"),
        (PHONE, "phoneNumber"),
        (TEAMS_APP, "microsoftTeamsApp"),
    ],
)
def test_the_sender_keeps_its_raw_id_and_kind(sender, kind):
    record = record_of(message_event(sender=sender))

    assert isinstance(record, MessageVersion)
    assert record.sender.raw_id == sender
    assert record.sender.kind == kind


def test_a_sender_known_only_by_the_legacy_sender_id_is_kept():
    event = message_event(recipient=ALICE)
    del event["data"]["senderCommunicationIdentifier"]
    event["data"]["senderId"] = TEAMS_USER

    record = record_of(event)

    assert isinstance(record, MessageVersion)
    assert record.sender.raw_id == TEAMS_USER
    assert record.sender.kind == "microsoftTeamsUser"


def test_participant_events_name_the_participant_in_their_key():
    record = record_of(thread_event("ChatThreadParticipantAdded", participant=TEAMS_USER))

    assert isinstance(record, ThreadEvent)
    assert record.participant is not None
    assert record.participant.raw_id == TEAMS_USER
    assert record.participant_key == TEAMS_USER


def _without(field: str) -> dict:
    event = message_event("edited")
    del event["data"][field]
    return event


def _with(field: str, value: object, action: str = "received") -> dict:
    event = message_event(action)
    event["data"][field] = value
    return event


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (_without("messageId"), "messageId"),
        (_without("threadId"), "threadId"),
        (_without("version"), "version"),
        (_without("messageBody"), "has no messageBody"),
        (_with("version", -1), "version"),
        (_with("version", 2**63), "version"),
        (_with("version", "12a"), "version"),
        (_with("version", True), "version"),
        (_with("version", 1.5), "version"),
        (_with("messageId", 1613694358927), "messageId"),
        (_with("messageId", ""), "messageId"),
        (_with("messageBody", {"text": "hi"}), "messageBody"),
        (_with("metadata", {"key": 1}), "metadata"),
        (_with("metadata", ["a"]), "metadata"),
        (_with("composeTime", "last tuesday"), "composeTime"),
        (_with("composeTime", 1613694358), "composeTime"),
        (_with("composeTime", "0001-01-01T00:00:00Z"), "composeTime"),
        (_with("composeTime", "1601-01-01T00:30:00+01:00"), "composeTime"),
        (_with("composeTime", "9999-12-31T23:00:00-05:00"), "composeTime"),
        (_with("senderDisplayName", 12), "senderDisplayName"),
        (_with("senderCommunicationIdentifier", "8:acs:x"), "senderCommunicationIdentifier"),
        (_with("threadId", "19:" + "x" * 300), "threadId is too long"),
        (message_event() | {"data": "not an object"}, "data"),
        (message_event() | {"data": None}, "data"),
        (message_event() | {"id": 12}, "envelope"),
        (
            thread_event("ChatThreadParticipantAdded")
            | {"data": {"threadId": "19:a@thread.v2", "version": 1}},
            "does not identify the participant",
        ),
    ],
)
def test_an_event_that_fails_validation_is_quarantined_with_the_reason(event, says):
    record = record_of(event)

    assert isinstance(record, Quarantined)
    assert says in record.reason
    assert record.event_type == event["eventType"]


def test_unknown_extra_fields_are_ignored_for_forward_compatibility():
    event = message_event()
    event["data"]["sequenceId"] = "5"
    event["data"]["retentionPolicy"] = {"kind": "none"}

    assert isinstance(record_of(event), MessageVersion)


def test_every_published_payload_file_is_covered_by_these_tests():
    names = {path.stem for path in Path(PAYLOADS, "eventgrid").glob("*.json")}

    assert names == set(MESSAGE_PAYLOADS) | set(THREAD_PAYLOADS) | {
        "chat_typing_indicator_received_in_thread",
        "chat_azure_bot_command_received_in_thread",
    }
