"""The storage contract as users see it: names, documents and the latest row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.layout import (
    MAX_ROW_TEXT_UNITS,
    latest_row,
    message_blob_name,
    message_document,
    quarantine_blob_name,
    quarantine_document,
    thread_blob_name,
    thread_document,
)
from archiver.core.records import MessageVersion, Quarantined, ThreadEvent
from tests.builders import ALICE, BOB, TEAMS_USER, message_event, payload, thread_event

ARCHIVED_AT = datetime(2026, 11, 21, 12, 0, 0, 123000, tzinfo=UTC)


def version_of(event: dict) -> MessageVersion:
    record = classify(RawEvent.from_value(event))
    assert isinstance(record, MessageVersion)
    return record


def thread_of(event: dict) -> ThreadEvent:
    record = classify(RawEvent.from_value(event))
    assert isinstance(record, ThreadEvent)
    return record


def test_a_message_version_blob_is_named_by_thread_message_version_and_action():
    version = version_of(payload("eventgrid", "chat_message_edited_in_thread"))

    assert message_blob_name(version) == (
        "messages/19:e07c8ddc5bab4c059ea9f11d29b544b6@thread.v2/1613782685964/"
        "00000001613782750464-edited.json"
    )


def test_hostile_ids_cannot_leave_their_prefix():
    version = version_of(
        message_event(thread_id="../../quarantine", message_id="a/../../b", version=1613694358927)
    )

    name = message_blob_name(version)

    assert (
        name == "messages/~2E.~2F..~2Fquarantine/a~2F..~2F..~2Fb/00000001613694358927-received.json"
    )
    assert name.count("/") == 3


def test_thread_blobs_are_named_by_version_change_and_participant():
    created = thread_of(thread_event("ChatThreadCreated", version=7))
    added = thread_of(thread_event("ChatThreadParticipantAdded", version=8, participant=TEAMS_USER))

    assert thread_blob_name(created) == (
        "threads/19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2/00000000000000000007-created.json"
    )
    assert thread_blob_name(added).endswith(
        f"/00000000000000000008-participantAdded-{TEAMS_USER}.json"
    )


def test_the_message_document_holds_the_normalized_record_and_the_event_as_received():
    event = payload("eventgrid", "chat_message_received")
    raw = RawEvent(text=json.dumps(event, indent=3), value=event)
    record = classify(raw)
    assert isinstance(record, MessageVersion)

    content = message_document(record, archived_at=ARCHIVED_AT)

    document = json.loads(content)
    assert document == {
        "threadId": "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2",
        "messageId": "1613694358927",
        "version": 1613694358927,
        "action": "received",
        "senderId": event["data"]["senderCommunicationIdentifier"]["rawId"],
        "senderKind": "communicationUser",
        "senderDisplayName": "Bob(Admin)",
        "type": "text",
        "body": "Welcome to Azure Communication Services",
        "metadata": {"key": "value", "description": "A map of data associated with the message"},
        "composeTime": "2021-02-19T00:25:58.927Z",
        "editTime": None,
        "deleteTime": None,
        "eventType": "Microsoft.Communication.ChatMessageReceived",
        "archivedAt": "2026-11-21T12:00:00.123Z",
        "event": event,
    }
    assert content.endswith(f',"event":{raw.text}}}'.encode())


def test_a_body_with_a_lone_surrogate_still_makes_a_valid_utf8_document():
    version = version_of(message_event(body="broken \ud83d pair"))

    content = message_document(version, archived_at=ARCHIVED_AT)

    assert json.loads(content.decode("utf-8"))["body"] == "broken \ud83d pair"


def test_the_thread_document_names_actor_participant_and_time():
    event = thread_event("ChatThreadParticipantRemoved", participant=BOB, actor=ALICE)

    document = json.loads(thread_document(thread_of(event), archived_at=ARCHIVED_AT))

    assert document["change"] == "participantRemoved"
    assert document["actor"] == {"id": ALICE, "kind": "communicationUser", "displayName": None}
    assert document["participant"] == {"id": BOB, "kind": "communicationUser", "displayName": "Bob"}
    assert document["time"] == "2021-02-20T00:56:18.111800Z"
    assert document["event"] == event


def test_a_quarantine_entry_is_named_by_content_and_keeps_the_event_and_reason():
    entry = Quarantined(reason="version: Field required", event_type="T", raw='{"eventType": "T"}')

    document = json.loads(quarantine_document(entry, archived_at=ARCHIVED_AT))

    assert quarantine_blob_name(entry) == quarantine_blob_name(
        Quarantined(reason="another reason", event_type=None, raw='{"eventType": "T"}')
    )
    assert quarantine_blob_name(entry).startswith("quarantine/")
    assert document == {
        "reason": "version: Field required",
        "eventType": "T",
        "archivedAt": "2026-11-21T12:00:00.123Z",
        "event": {"eventType": "T"},
    }


def test_the_latest_row_carries_the_version_and_points_at_its_blob():
    version = version_of(message_event("edited", metadata={"ticket": "INC-42"}))

    row = latest_row(version)

    assert (row.thread_id, row.message_id, row.version, row.action) == (
        version.thread_id,
        version.message_id,
        version.version,
        version.action,
    )
    assert row.blob_name == message_blob_name(version)
    assert row.metadata == '{"ticket":"INC-42"}'
    assert row.body == "Welcome to Azure Communication Services"
    assert not row.truncated


def test_text_too_long_for_a_table_property_is_cut_and_flagged_but_the_blob_keeps_it():
    long_body = "👋" * MAX_ROW_TEXT_UNITS
    version = version_of(message_event(body=long_body))

    row = latest_row(version)

    assert row.truncated
    assert row.body == "👋" * (MAX_ROW_TEXT_UNITS // 2)
    assert json.loads(message_document(version, archived_at=ARCHIVED_AT))["body"] == long_body


def test_lone_surrogates_become_replacement_characters_in_the_row():
    row = latest_row(version_of(message_event(body="a\udc00b")))

    assert row.body == "a\ufffdb"
    assert not row.truncated
