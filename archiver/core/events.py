"""ACS chat event payloads: typed, frozen models, and the record each event becomes.

`classify` never raises for a bad event: it returns a Quarantined record with the
reason, so one malformed event never costs the rest of its batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from archiver.core.envelopes import RawEvent, open_envelope
from archiver.core.errors import InvalidEvent
from archiver.core.fields import Timestamp, Version, describe
from archiver.core.identifiers import Identifier, party
from archiver.core.keys import encode_key
from archiver.core.records import (
    Action,
    Ignored,
    MessageVersion,
    Quarantined,
    Record,
    ThreadChange,
    ThreadEvent,
)

# Event Grid's names for the ACS chat events (tests check them against azure-eventgrid's
# SystemEventNames; importing that SDK here would cost every cold start its import).
_PREFIX = "Microsoft.Communication."
CHAT_MESSAGE_DELETED = _PREFIX + "ChatMessageDeleted"
CHAT_MESSAGE_DELETED_IN_THREAD = _PREFIX + "ChatMessageDeletedInThread"
CHAT_MESSAGE_EDITED = _PREFIX + "ChatMessageEdited"
CHAT_MESSAGE_EDITED_IN_THREAD = _PREFIX + "ChatMessageEditedInThread"
CHAT_MESSAGE_RECEIVED = _PREFIX + "ChatMessageReceived"
CHAT_MESSAGE_RECEIVED_IN_THREAD = _PREFIX + "ChatMessageReceivedInThread"
CHAT_PARTICIPANT_ADDED_TO_THREAD_WITH_USER = _PREFIX + "ChatParticipantAddedToThreadWithUser"
CHAT_PARTICIPANT_REMOVED_FROM_THREAD_WITH_USER = (
    _PREFIX + "ChatParticipantRemovedFromThreadWithUser"
)
CHAT_THREAD_CREATED = _PREFIX + "ChatThreadCreated"
CHAT_THREAD_CREATED_WITH_USER = _PREFIX + "ChatThreadCreatedWithUser"
CHAT_THREAD_DELETED = _PREFIX + "ChatThreadDeleted"
CHAT_THREAD_PARTICIPANT_ADDED = _PREFIX + "ChatThreadParticipantAdded"
CHAT_THREAD_PARTICIPANT_REMOVED = _PREFIX + "ChatThreadParticipantRemoved"
CHAT_THREAD_PROPERTIES_UPDATED = _PREFIX + "ChatThreadPropertiesUpdated"
CHAT_THREAD_PROPERTIES_UPDATED_PER_USER = _PREFIX + "ChatThreadPropertiesUpdatedPerUser"
CHAT_THREAD_WITH_USER_DELETED = _PREFIX + "ChatThreadWithUserDeleted"

MESSAGE_EVENTS: dict[str, Action] = {
    CHAT_MESSAGE_RECEIVED: Action.RECEIVED,
    CHAT_MESSAGE_RECEIVED_IN_THREAD: Action.RECEIVED,
    CHAT_MESSAGE_EDITED: Action.EDITED,
    CHAT_MESSAGE_EDITED_IN_THREAD: Action.EDITED,
    CHAT_MESSAGE_DELETED: Action.DELETED,
    CHAT_MESSAGE_DELETED_IN_THREAD: Action.DELETED,
}
THREAD_EVENTS: dict[str, ThreadChange] = {
    CHAT_THREAD_CREATED: ThreadChange.CREATED,
    CHAT_THREAD_CREATED_WITH_USER: ThreadChange.CREATED,
    CHAT_THREAD_PROPERTIES_UPDATED: ThreadChange.PROPERTIES_UPDATED,
    CHAT_THREAD_PROPERTIES_UPDATED_PER_USER: ThreadChange.PROPERTIES_UPDATED,
    CHAT_THREAD_DELETED: ThreadChange.DELETED,
    CHAT_THREAD_WITH_USER_DELETED: ThreadChange.DELETED,
    CHAT_THREAD_PARTICIPANT_ADDED: ThreadChange.PARTICIPANT_ADDED,
    CHAT_PARTICIPANT_ADDED_TO_THREAD_WITH_USER: ThreadChange.PARTICIPANT_ADDED,
    CHAT_THREAD_PARTICIPANT_REMOVED: ThreadChange.PARTICIPANT_REMOVED,
    CHAT_PARTICIPANT_REMOVED_FROM_THREAD_WITH_USER: (ThreadChange.PARTICIPANT_REMOVED),
}
ARCHIVED_EVENT_TYPES = frozenset(MESSAGE_EVENTS) | frozenset(THREAD_EVENTS)
# What the deployment subscribes to: the thread-level events, one per change whoever is in
# the thread. infra/app/event-types.json lists the same names for the Bicep (a test checks).
SUBSCRIBED_EVENT_TYPES: tuple[str, ...] = (
    CHAT_MESSAGE_RECEIVED_IN_THREAD,
    CHAT_MESSAGE_EDITED_IN_THREAD,
    CHAT_MESSAGE_DELETED_IN_THREAD,
    CHAT_THREAD_CREATED,
    CHAT_THREAD_PROPERTIES_UPDATED,
    CHAT_THREAD_DELETED,
    CHAT_THREAD_PARTICIPANT_ADDED,
    CHAT_THREAD_PARTICIPANT_REMOVED,
)
# The documented alternative: the same changes, delivered once per recipient.
PER_USER_EVENT_TYPES: tuple[str, ...] = tuple(
    name for name in (*MESSAGE_EVENTS, *THREAD_EVENTS) if name not in SUBSCRIBED_EVENT_TYPES
)

_Payload = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
_Id = Annotated[str, Field(min_length=1, strict=True)]
_Text = Annotated[str | None, Field(strict=True)]
_StringMap = Annotated[dict[str, Annotated[str, Field(strict=True)]] | None, Field(strict=True)]


class ChatMessageData(BaseModel):
    """`data` of the six ChatMessage* events (per-user and InThread)."""

    model_config = _Payload
    thread_id: _Id = Field(alias="threadId")
    message_id: _Id = Field(alias="messageId")
    version: Version
    type: _Text = None
    message_body: _Text = Field(default=None, alias="messageBody")
    metadata: _StringMap = None
    sender: Identifier | None = Field(default=None, alias="senderCommunicationIdentifier")
    sender_id: _Text = Field(default=None, alias="senderId")
    sender_display_name: _Text = Field(default=None, alias="senderDisplayName")
    compose_time: Timestamp | None = Field(default=None, alias="composeTime")
    edit_time: Timestamp | None = Field(default=None, alias="editTime")
    delete_time: Timestamp | None = Field(default=None, alias="deleteTime")


class Participant(BaseModel):
    """A participant as thread events describe one."""

    model_config = _Payload
    identifier: Identifier | None = Field(default=None, alias="participantCommunicationIdentifier")
    display_name: _Text = Field(default=None, alias="displayName")


class ChatThreadData(BaseModel):
    """`data` of the thread and participant events (per-user and thread-level)."""

    model_config = _Payload
    thread_id: _Id = Field(alias="threadId")
    version: Version
    create_time: Timestamp | None = Field(default=None, alias="createTime")
    edit_time: Timestamp | None = Field(default=None, alias="editTime")
    delete_time: Timestamp | None = Field(default=None, alias="deleteTime")
    time: Timestamp | None = None
    created_by: Identifier | None = Field(default=None, alias="createdByCommunicationIdentifier")
    edited_by: Identifier | None = Field(default=None, alias="editedByCommunicationIdentifier")
    deleted_by: Identifier | None = Field(default=None, alias="deletedByCommunicationIdentifier")
    added_by: Identifier | None = Field(default=None, alias="addedByCommunicationIdentifier")
    removed_by: Identifier | None = Field(default=None, alias="removedByCommunicationIdentifier")
    participant_added: Participant | None = Field(default=None, alias="participantAdded")
    participant_removed: Participant | None = Field(default=None, alias="participantRemoved")
    participants: Annotated[tuple[Participant, ...] | None, Field(strict=False)] = None
    properties: Annotated[dict[str, Any] | None, Field(strict=True)] = None
    metadata: _StringMap = None


def classify(event: RawEvent) -> Record:
    """Return the record an event becomes: a message version, a thread event, or not."""
    event_type = event.event_type
    if event_type not in ARCHIVED_EVENT_TYPES:
        return Ignored(event_type=event_type)
    try:
        envelope = open_envelope(event)
        if event_type in MESSAGE_EVENTS:
            return _message(
                ChatMessageData.model_validate(envelope.data),
                MESSAGE_EVENTS[event_type],
                event_type,
                event.text,
            )
        return _thread(
            ChatThreadData.model_validate(envelope.data),
            THREAD_EVENTS[event_type],
            event_type,
            event.text,
        )
    except ValidationError as exc:
        return Quarantined(
            reason=f"invalid {event_type} data: {describe(exc)}",
            event_type=event_type,
            raw=event.text,
        )
    except InvalidEvent as exc:
        return Quarantined(reason=str(exc), event_type=event_type, raw=event.text)


def _message(data: ChatMessageData, action: Action, event_type: str, raw: str) -> MessageVersion:
    if action is not Action.DELETED and data.message_body is None:
        raise InvalidEvent(f"{event_type} has no messageBody")
    return MessageVersion(
        thread_id=data.thread_id,
        thread_key=encode_key(data.thread_id, field="threadId"),
        message_id=data.message_id,
        message_key=encode_key(data.message_id, field="messageId"),
        version=data.version,
        action=action,
        sender=party(
            data.sender, fallback_raw_id=data.sender_id, display_name=data.sender_display_name
        ),
        type=data.type.lower() if data.type else None,
        body=data.message_body if action is not Action.DELETED else None,
        metadata=data.metadata,
        compose_time=data.compose_time,
        edit_time=data.edit_time,
        delete_time=data.delete_time,
        event_type=event_type,
        raw=raw,
    )


def _thread(data: ChatThreadData, change: ThreadChange, event_type: str, raw: str) -> ThreadEvent:
    subject = data.participant_added or data.participant_removed
    participant = (
        party(subject.identifier, display_name=subject.display_name)
        if subject is not None
        else None
    )
    is_participant_change = change in (
        ThreadChange.PARTICIPANT_ADDED,
        ThreadChange.PARTICIPANT_REMOVED,
    )
    if is_participant_change and (participant is None or participant.raw_id is None):
        raise InvalidEvent(f"{event_type} does not identify the participant")
    actor = data.created_by or data.edited_by or data.deleted_by or data.added_by or data.removed_by
    return ThreadEvent(
        thread_id=data.thread_id,
        thread_key=encode_key(data.thread_id, field="threadId"),
        version=data.version,
        change=change,
        actor=party(actor),
        participant=participant,
        participant_key=(
            encode_key(participant.raw_id, field="participant rawId")
            if participant and participant.raw_id and is_participant_change
            else None
        ),
        time=data.time or data.edit_time or data.delete_time or data.create_time,
        create_time=data.create_time,
        properties=data.properties,
        metadata=data.metadata,
        participants=(
            tuple(party(p.identifier, display_name=p.display_name) for p in data.participants)
            if data.participants is not None
            else None
        ),
        event_type=event_type,
        raw=raw,
    )
