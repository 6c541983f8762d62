"""The storage contract: blob names, blob documents and the latest-message row.

This is what users query directly, and the README documents it; change it only with
a migration. Names are natural keys: the same version of the same message always
gets the same blob name, which is what makes every write idempotent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archiver.core.fields import format_timestamp
from archiver.core.jsontext import dumps
from archiver.core.records import Action, MessageVersion, Party, Quarantined, ThreadEvent
from archiver.core.versions import Stamp

MESSAGES_PREFIX = "messages/"
THREADS_PREFIX = "threads/"
QUARANTINE_PREFIX = "quarantine/"
TRANSCRIPTS_PREFIX = "transcripts/"
SEALS_PREFIX = "seals/"
# The blob metadata key that holds the SHA-256 of a blob's bytes, recorded at write time.
SHA256_METADATA = "sha256"
# The eventType a version repaired from the ACS API is stored with (no event carried it).
LISTED_EVENT_TYPE = "ListChatMessages"
# Transcript names are chosen by users (`export --blob NAME`): path segments of
# key-safe characters, none of them "." or "..".
_TRANSCRIPT_NAME = re.compile(
    r"^(?!.*(^|/)\.{1,2}(/|$))[A-Za-z0-9._~:@=+-]+(/[A-Za-z0-9._~:@=+-]+)*$"
)
# A Table string property holds 64 KiB of UTF-16; stay a little under it.
MAX_ROW_TEXT_UNITS = 32_000
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def content_sha256(content: bytes) -> str:
    """The lowercase hex SHA-256 of stored bytes, as blob metadata and rows record it."""
    return hashlib.sha256(content).hexdigest()


def message_blob_name(version: MessageVersion) -> str:
    """`messages/{threadKey}/{messageKey}/{version:020d}-{action}.json`."""
    return (
        f"{MESSAGES_PREFIX}{version.thread_key}/{version.message_key}/"
        f"{version.version:020d}-{version.action}.json"
    )


def thread_blob_name(event: ThreadEvent) -> str:
    """`threads/{threadKey}/{version:020d}-{change}[-{participantKey}].json`."""
    suffix = f"-{event.participant_key}" if event.participant_key else ""
    return f"{THREADS_PREFIX}{event.thread_key}/{event.version:020d}-{event.change}{suffix}.json"


def quarantine_blob_name(entry: Quarantined) -> str:
    """`quarantine/{sha256 of the event text}.json`, so a redelivery is a duplicate."""
    digest = hashlib.sha256(entry.raw.encode("utf-8")).hexdigest()
    return f"{QUARANTINE_PREFIX}{digest}.json"


def transcript_blob_name(thread_key: str, at: datetime, extension: str) -> str:
    """`transcripts/{threadKey}/{yyyymmddThhmmssZ}.{extension}`: one per archiving run."""
    return f"{TRANSCRIPTS_PREFIX}{thread_key}/{at:%Y%m%dT%H%M%SZ}.{extension}"


def is_transcript_name(name: str) -> bool:
    """True for a name under `transcripts/` made of safe path segments."""
    return (
        name.startswith(TRANSCRIPTS_PREFIX)
        and len(name) <= 1024
        and is_safe_name(name[len(TRANSCRIPTS_PREFIX) :])
    )


def is_safe_name(name: str) -> bool:
    """True for a blob name of key-safe path segments, none of them "." or "..", that
    fits in a blob name (1,024 characters)."""
    return len(name) <= 1024 and _TRANSCRIPT_NAME.match(name) is not None


def message_document(version: MessageVersion, *, archived_at: datetime) -> bytes:
    """The immutable blob of one message version: normalized fields plus the event."""
    return _document(
        {
            "threadId": version.thread_id,
            "messageId": version.message_id,
            "version": version.version,
            "action": str(version.action),
            "senderId": version.sender.raw_id,
            "senderKind": version.sender.kind,
            "senderDisplayName": version.sender.display_name,
            "type": version.type,
            "body": version.body,
            "metadata": version.metadata,
            "composeTime": format_timestamp(version.compose_time),
            "editTime": format_timestamp(version.edit_time),
            "deleteTime": format_timestamp(version.delete_time),
            "eventType": version.event_type,
        },
        archived_at=archived_at,
        raw=version.raw,
    )


def thread_document(event: ThreadEvent, *, archived_at: datetime) -> bytes:
    """The immutable blob of one thread or participant change."""
    participants = None if event.participants is None else [_party(p) for p in event.participants]
    return _document(
        {
            "threadId": event.thread_id,
            "version": event.version,
            "change": str(event.change),
            "actor": _party(event.actor),
            "participant": _party(event.participant) if event.participant else None,
            "time": format_timestamp(event.time),
            "properties": event.properties,
            "metadata": event.metadata,
            "participants": participants,
            "eventType": event.event_type,
        },
        archived_at=archived_at,
        raw=event.raw,
    )


def quarantine_document(entry: Quarantined, *, archived_at: datetime) -> bytes:
    """The blob of a quarantined event: why, and the event exactly as received."""
    return _document(
        {"reason": entry.reason, "eventType": entry.event_type},
        archived_at=archived_at,
        raw=entry.raw,
    )


def _document(fields: dict[str, Any], *, archived_at: datetime, raw: str) -> bytes:
    fields["archivedAt"] = format_timestamp(archived_at)
    # The event is spliced in as received, byte for byte, rather than re-serialized.
    return f'{dumps(fields)[:-1]},"event":{raw}}}'.encode()


def _party(party: Party) -> dict[str, str | None]:
    return {"id": party.raw_id, "kind": party.kind, "displayName": party.display_name}


@dataclass(frozen=True, kw_only=True)
class LatestRow:
    """The `ChatMessages` row: the newest version seen of one message."""

    thread_key: str
    message_key: str
    thread_id: str
    message_id: str
    version: int
    action: Action
    sender_id: str | None
    sender_kind: str
    sender_display_name: str | None
    type: str | None
    body: str | None
    metadata: str | None
    compose_time: datetime | None
    edit_time: datetime | None
    delete_time: datetime | None
    blob_name: str
    truncated: bool = False
    sha256: str | None = None  # of the blob at blob_name; None for rows written before 0.6

    @property
    def stamp(self) -> Stamp:
        """The row's place in the version order."""
        return Stamp.of(self.version, self.action)


def latest_row(version: MessageVersion, *, sha256: str | None = None) -> LatestRow:
    """The row a message version becomes, with its blob's SHA-256; long text is cut to
    fit and flagged."""
    body, body_cut = fit_text(version.body)
    metadata, metadata_cut = fit_text(dumps(version.metadata) if version.metadata else None)
    name, name_cut = fit_text(version.sender.display_name)
    sender_id, sender_cut = fit_text(version.sender.raw_id)
    return LatestRow(
        thread_key=version.thread_key,
        message_key=version.message_key,
        thread_id=version.thread_id,
        message_id=version.message_id,
        version=version.version,
        action=version.action,
        sender_id=sender_id,
        sender_kind=version.sender.kind[:100],
        sender_display_name=name,
        type=(version.type or "")[:100] or None,
        body=body,
        metadata=metadata,
        compose_time=version.compose_time,
        edit_time=version.edit_time,
        delete_time=version.delete_time,
        blob_name=message_blob_name(version),
        truncated=body_cut or metadata_cut or name_cut or sender_cut,
        sha256=sha256,
    )


def fit_text(text: str | None, *, units: int = MAX_ROW_TEXT_UNITS) -> tuple[str | None, bool]:
    """Text a Table property accepts: lone surrogates replaced, at most `units` UTF-16
    units; the flag says whether it was cut."""
    if text is None:
        return None, False
    text = _LONE_SURROGATE.sub("\ufffd", text)
    if len(text) * 2 <= units:
        return text, False
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index], True
    return text, False
