"""The events ACS publishes through Event Grid for a conversation's happenings.

Shapes follow Microsoft's published examples (tests/payloads/): thread-level events
(`...InThread`, `ChatThread...`) once per happening, per-user events once per
recipient (a message's sender gets no copy of it), in the Event Grid schema or as
CloudEvents 1.0.
"""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from archiver.core.fields import format_timestamp
from archiver.core.records import Action, ThreadChange
from archiver.sim.conversations import Changed, Happening, Person, Said

_PREFIX = "Microsoft.Communication."
_MESSAGE_TYPES = {
    Action.RECEIVED: ("ChatMessageReceivedInThread", "ChatMessageReceived"),
    Action.EDITED: ("ChatMessageEditedInThread", "ChatMessageEdited"),
    Action.DELETED: ("ChatMessageDeletedInThread", "ChatMessageDeleted"),
}
_THREAD_TYPES = {
    ThreadChange.CREATED: ("ChatThreadCreated", "ChatThreadCreatedWithUser"),
    ThreadChange.PROPERTIES_UPDATED: (
        "ChatThreadPropertiesUpdated",
        "ChatThreadPropertiesUpdatedPerUser",
    ),
    ThreadChange.DELETED: ("ChatThreadDeleted", "ChatThreadWithUserDeleted"),
    ThreadChange.PARTICIPANT_ADDED: (
        "ChatThreadParticipantAdded",
        "ChatParticipantAddedToThreadWithUser",
    ),
    ThreadChange.PARTICIPANT_REMOVED: (
        "ChatThreadParticipantRemoved",
        "ChatParticipantRemovedFromThreadWithUser",
    ),
}


class Flavour(enum.StrEnum):
    """Which ACS chat events the subscription receives."""

    THREAD = "thread"  # the ...InThread and ChatThread... events
    PER_USER = "per-user"  # one copy per recipient
    BOTH = "both"


class Schema(enum.StrEnum):
    """The subscription's event delivery schema."""

    EVENTGRID = "eventgrid"
    CLOUDEVENTS = "cloudevents"


@dataclass(frozen=True, kw_only=True)
class Publisher:
    """Turns happenings into published events for one ACS resource."""

    topic: str
    flavour: Flavour = Flavour.THREAD
    schema: Schema = Schema.EVENTGRID

    def events(self, happening: Happening, rng: random.Random) -> list[dict[str, Any]]:
        """Every event published for one happening, in publication order."""
        thread_type, user_type = (
            _MESSAGE_TYPES[happening.action]
            if isinstance(happening, Said)
            else _THREAD_TYPES[happening.change]
        )
        data = _message_data(happening) if isinstance(happening, Said) else _thread_data(happening)
        subject = f"thread/{happening.thread_id}"
        if isinstance(happening, Said):
            subject += f"/sender/{happening.sender.raw_id}"
        published: list[dict[str, Any]] = []
        if self.flavour in (Flavour.THREAD, Flavour.BOTH):
            published.append(self._envelope(thread_type, data, subject, happening.time, rng))
        if self.flavour in (Flavour.PER_USER, Flavour.BOTH):
            for recipient in _recipients(happening):
                copy = data | {"recipientCommunicationIdentifier": identifier(recipient.raw_id)}
                where = f"{subject}/recipient/{recipient.raw_id}"
                published.append(self._envelope(user_type, copy, where, happening.time, rng))
        return published

    def _envelope(
        self, kind: str, data: dict[str, Any], subject: str, time: datetime, rng: random.Random
    ) -> dict[str, Any]:
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        # Event Grid stamps the event a moment after ACS saw the change.
        published = format_timestamp(time + timedelta(milliseconds=rng.randint(50, 900)))
        if self.schema is Schema.CLOUDEVENTS:
            return {
                "id": event_id,
                "source": self.topic,
                "specversion": "1.0",
                "type": _PREFIX + kind,
                "subject": subject,
                "time": published,
                "data": data,
            }
        return {
            "id": event_id,
            "topic": self.topic,
            "subject": subject,
            "data": data,
            "eventType": _PREFIX + kind,
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": published,
        }


def identifier(raw_id: str) -> dict[str, Any]:
    """A CommunicationIdentifierModel for `raw_id`, shaped as ACS sends it."""
    if raw_id.startswith("8:orgid:"):
        return {
            "rawId": raw_id,
            "kind": "microsoftTeamsUser",
            "microsoftTeamsUser": {"userId": raw_id.removeprefix("8:orgid:"), "cloud": "public"},
        }
    return {"rawId": raw_id, "communicationUser": {"id": raw_id}}


def _recipients(happening: Happening) -> list[Person]:
    if isinstance(happening, Said):
        return [p for p in happening.audience if p != happening.sender]
    return list(happening.audience)


def _message_data(said: Said) -> dict[str, Any]:
    data: dict[str, Any] = {
        "messageId": said.message_id,
        "senderCommunicationIdentifier": identifier(said.sender.raw_id),
        "senderDisplayName": said.sender.name,
        "composeTime": format_timestamp(said.compose_time),
        "type": said.type,
        "version": said.version,
        "transactionId": f"{said.version:x}.1.1.1.1",
        "threadId": said.thread_id,
    }
    if said.body is not None:
        data["messageBody"] = said.body
    if said.metadata is not None:
        data["metadata"] = said.metadata
    if said.action is Action.EDITED:
        data["editTime"] = format_timestamp(said.time)
    if said.action is Action.DELETED:
        data["deleteTime"] = format_timestamp(said.time)
    return data


def _thread_data(changed: Changed) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": changed.version,
        "threadId": changed.thread_id,
        "createTime": format_timestamp(changed.create_time),
        "transactionId": f"{changed.version:x}.1.1.1.1",
    }
    actor = identifier(changed.actor.raw_id)
    if changed.change is ThreadChange.CREATED:
        data["createdByCommunicationIdentifier"] = actor
        data["properties"] = {"topic": changed.topic}
        data["participants"] = [_participant(p) for p in changed.audience]
    elif changed.change is ThreadChange.PROPERTIES_UPDATED:
        data["editedByCommunicationIdentifier"] = actor
        data["editTime"] = format_timestamp(changed.time)
        data["properties"] = {"topic": changed.topic}
    elif changed.change is ThreadChange.DELETED:
        data["deletedByCommunicationIdentifier"] = actor
        data["deleteTime"] = format_timestamp(changed.time)
    else:
        assert changed.participant is not None
        added = changed.change is ThreadChange.PARTICIPANT_ADDED
        data["time"] = format_timestamp(changed.time)
        data["addedByCommunicationIdentifier" if added else "removedByCommunicationIdentifier"] = (
            actor
        )
        data["participantAdded" if added else "participantRemoved"] = _participant(
            changed.participant
        )
    return data


def _participant(person: Person) -> dict[str, Any]:
    return {
        "displayName": person.name,
        "participantCommunicationIdentifier": identifier(person.raw_id),
    }
