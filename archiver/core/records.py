"""The normalized records one event becomes, before anything is stored.

Every record keeps `raw`, the event's JSON text exactly as it was received, so the
archive can hold the original beside the normalized fields.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Action(enum.StrEnum):
    """What happened to a message; at equal versions the later member wins."""

    RECEIVED = "received"
    EDITED = "edited"
    DELETED = "deleted"


class ThreadChange(enum.StrEnum):
    """What happened to a thread."""

    CREATED = "created"
    PROPERTIES_UPDATED = "propertiesUpdated"
    DELETED = "deleted"
    PARTICIPANT_ADDED = "participantAdded"
    PARTICIPANT_REMOVED = "participantRemoved"


@dataclass(frozen=True, kw_only=True)
class Party:
    """A communication identifier: who sent, edited, added or was added."""

    raw_id: str | None
    kind: str
    display_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessageVersion:
    """One version of one chat message, as a ChatMessage*Event describes it."""

    thread_id: str
    thread_key: str
    message_id: str
    message_key: str
    version: int
    action: Action
    sender: Party
    type: str | None
    body: str | None
    metadata: dict[str, str] | None
    compose_time: datetime | None
    edit_time: datetime | None
    delete_time: datetime | None
    event_type: str
    raw: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ThreadEvent:
    """One change to a thread or its participants."""

    thread_id: str
    thread_key: str
    version: int
    change: ThreadChange
    actor: Party
    participant: Party | None
    participant_key: str | None
    time: datetime | None
    create_time: datetime | None
    properties: dict[str, Any] | None
    metadata: dict[str, str] | None
    participants: tuple[Party, ...] | None
    event_type: str
    raw: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Quarantined:
    """An event that could not be archived as a chat record, with the reason."""

    reason: str
    event_type: str | None
    raw: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Ignored:
    """An event the archiver deliberately does not keep (typing, bot commands, others)."""

    event_type: str | None


Record = MessageVersion | ThreadEvent | Quarantined | Ignored
