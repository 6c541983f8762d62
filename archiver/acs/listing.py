"""What the ACS Chat API lists, read into the archiver's records. Pure, no I/O.

ListMessages shows each message once, in its current state only: its `version`, with
`editedOn` or `deletedOn` when it was edited or deleted. That state becomes the same
MessageVersion an event would (action from `deletedOn`, then `editedOn`), so a repaired
version is stored and ordered by exactly the rules of the real-time archive. System
messages (`topicUpdated`, `participantAdded`, `participantRemoved`) describe thread
changes, not messages. A message that does not parse is quarantined, like an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from archiver.core.errors import InvalidEvent
from archiver.core.fields import Timestamp, Version, describe
from archiver.core.identifiers import Identifier, party
from archiver.core.jsontext import dumps
from archiver.core.keys import encode_key
from archiver.core.layout import LISTED_EVENT_TYPE
from archiver.core.records import Action, MessageVersion, Party, Quarantined
from archiver.core.threads import Member, ThreadRow

LISTED = LISTED_EVENT_TYPE
SYSTEM_TYPES = frozenset({"topicupdated", "participantadded", "participantremoved"})

_Model = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
_Text = Annotated[str | None, Field(strict=True)]
_Id = Annotated[str, Field(min_length=1, strict=True)]
_StringMap = Annotated[dict[str, Annotated[str, Field(strict=True)]] | None, Field(strict=True)]


class ListedParticipant(BaseModel):
    """A ChatParticipant, as ListParticipants and system messages give one."""

    model_config = _Model
    identifier: Identifier | None = Field(default=None, alias="communicationIdentifier")
    display_name: _Text = Field(default=None, alias="displayName")


class _Content(BaseModel):
    model_config = _Model
    message: _Text = None
    topic: _Text = None
    participants: tuple[ListedParticipant, ...] = ()
    initiator: Identifier | None = Field(default=None, alias="initiatorCommunicationIdentifier")


class ListedMessage(BaseModel):
    """A ChatMessage, as ListMessages gives one."""

    model_config = _Model
    id: _Id
    type: _Id
    version: Version
    content: _Content | None = None
    sender_display_name: _Text = Field(default=None, alias="senderDisplayName")
    sender: Identifier | None = Field(default=None, alias="senderCommunicationIdentifier")
    created_on: Timestamp = Field(alias="createdOn")
    edited_on: Timestamp | None = Field(default=None, alias="editedOn")
    deleted_on: Timestamp | None = Field(default=None, alias="deletedOn")
    metadata: _StringMap = None

    @property
    def is_system(self) -> bool:
        """True for a message ACS wrote about a thread change."""
        return self.type.lower() in SYSTEM_TYPES


class ListedThread(BaseModel):
    """ChatThreadProperties, as GetChatThreadProperties gives them."""

    model_config = _Model
    id: _Id
    topic: _Text = None
    created_on: Timestamp | None = Field(default=None, alias="createdOn")
    created_by: Identifier | None = Field(default=None, alias="createdByCommunicationIdentifier")


@dataclass(frozen=True)
class Listed:
    """One listed message: the record to archive (or quarantine) and, for system
    messages, the parsed message to read thread changes from."""

    record: MessageVersion | Quarantined | None  # None for a system message
    system: ListedMessage | None = None

    @property
    def version(self) -> MessageVersion | None:
        """The message version, for a user message that parsed."""
        return self.record if isinstance(self.record, MessageVersion) else None

    @property
    def when(self) -> datetime | None:
        """When the listed change happened (a system message's, or the version's)."""
        if self.system is not None:
            return change_time(self.system)
        version = self.version
        return (
            None
            if version is None
            else version.delete_time or version.edit_time or version.compose_time
        )


def read_message(thread_id: str, value: Any) -> Listed:
    """The record one ListMessages item becomes; never raises for a bad item."""
    raw = dumps(value)
    try:
        message = ListedMessage.model_validate(value)
        if message.is_system:
            return Listed(None, message)
        return Listed(_version(thread_id, message, raw))
    except ValidationError as exc:
        reason = f"invalid {LISTED} message: {describe(exc)}"
    except InvalidEvent as exc:
        reason = str(exc)
    return Listed(Quarantined(reason=reason, event_type=LISTED, raw=raw))


def read_participant(value: Any) -> Party | None:
    """A listed participant, or None when it does not name anyone."""
    try:
        listed = ListedParticipant.model_validate(value)
    except ValidationError:
        return None
    found = party(listed.identifier, display_name=listed.display_name)
    return found if found.raw_id else None


def removed(message: ListedMessage) -> list[Party]:
    """The participants a `participantRemoved` system message removed."""
    if message.type.lower() != "participantremoved" or message.content is None:
        return []
    people = [
        party(p.identifier, display_name=p.display_name) for p in message.content.participants
    ]
    return [p for p in people if p.raw_id]


def change_time(message: ListedMessage) -> datetime:
    """When the message's current state came about."""
    return message.deleted_on or message.edited_on or message.created_on


def _version(thread_id: str, message: ListedMessage, raw: str) -> MessageVersion:
    if message.deleted_on is not None:
        action = Action.DELETED
    elif message.edited_on is not None:
        action = Action.EDITED
    else:
        action = Action.RECEIVED
    body = message.content.message if message.content is not None else None
    if action is not Action.DELETED and body is None:
        raise InvalidEvent(f"{LISTED} message {message.id[:100]!r} has no content.message")
    return MessageVersion(
        thread_id=thread_id,
        thread_key=encode_key(thread_id, field="threadId"),
        message_id=message.id,
        message_key=encode_key(message.id, field="messageId"),
        version=message.version,
        action=action,
        sender=party(message.sender, display_name=message.sender_display_name),
        type=message.type.lower(),
        body=None if action is Action.DELETED else body,
        metadata=message.metadata,
        compose_time=message.created_on,
        edit_time=message.edited_on,
        delete_time=message.deleted_on,
        event_type=LISTED,
        raw=raw,
    )


def thread_facts(
    thread_key: str,
    thread: ListedThread,
    people: list[Party],
    *,
    archiver: str,
    activity: datetime | None,
    transcript_time: datetime,
) -> ThreadRow:
    """What ACS says of a thread, at version 0 so that every event's facts outrank it,
    and when its transcript was written (covering `activity`)."""
    return ThreadRow(
        thread_key=thread_key,
        thread_id=thread.id,
        topic=thread.topic,
        topic_version=0 if thread.topic is not None else None,
        created_by=thread.created_by.resolved_raw_id() if thread.created_by else None,
        create_time=thread.created_on,
        last_activity=activity,
        members=members(p for p in people if p.raw_id != archiver),
        transcript_time=transcript_time,
        transcript_activity=activity,
    )


def members(people: Iterable[Party]) -> tuple[Member, ...]:
    """Listed participants as thread members, at version 0 (events outrank them)."""
    return tuple(
        Member(raw_id=p.raw_id, display_name=p.display_name, version=0, present=True)
        for p in people
        if p.raw_id
    )
