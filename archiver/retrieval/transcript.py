"""What a transcript says of a thread and its messages, whichever source it comes from.

A transcript is the same document whether it is exported from the archive (rows and
version blobs) or listed from the ACS API: one entry shape for every message version,
one section shape for the thread. Deleted messages are tombstones: who sent them, when
they were composed and deleted, no text. Pure, no I/O.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from archiver.core.fields import format_timestamp
from archiver.core.layout import LatestRow
from archiver.core.records import MessageVersion
from archiver.core.threads import Member, ThreadRow

FORMAT = "acs-chat-archiver/transcript@1"
ENTRY_FIELDS = (
    "threadId",
    "messageId",
    "version",
    "action",
    "type",
    "senderId",
    "senderKind",
    "senderDisplayName",
    "body",
    "metadata",
    "composeTime",
    "editTime",
    "deleteTime",
)
THREAD_FIELDS = (
    "threadId",
    "topic",
    "createdBy",
    "createTime",
    "deleteTime",
    "participants",
    "formerParticipants",
    "seal",
)


def entry(
    *,
    thread_id: str,
    message_id: str,
    version: int,
    action: str,
    type: str | None,
    sender_id: str | None,
    sender_kind: str,
    sender_display_name: str | None,
    body: str | None,
    metadata: dict[str, str] | None,
    compose_time: datetime | str | None,
    edit_time: datetime | str | None,
    delete_time: datetime | str | None,
) -> dict[str, Any]:
    """One message version as a transcript holds it (a tombstone when deleted)."""
    deleted = action == "deleted"
    return {
        "threadId": thread_id,
        "messageId": message_id,
        "version": version,
        "action": action,
        "type": type,
        "senderId": sender_id,
        "senderKind": sender_kind,
        "senderDisplayName": sender_display_name,
        "body": None if deleted else body,
        "metadata": None if deleted else metadata,
        "composeTime": _time(compose_time),
        "editTime": None if deleted else _time(edit_time),
        "deleteTime": _time(delete_time),
    }


def row_entry(row: LatestRow) -> dict[str, Any]:
    """The entry of a message's latest row (not for truncated rows: read the blob)."""
    return entry(
        thread_id=row.thread_id,
        message_id=row.message_id,
        version=row.version,
        action=str(row.action),
        type=row.type,
        sender_id=row.sender_id,
        sender_kind=row.sender_kind,
        sender_display_name=row.sender_display_name,
        body=row.body,
        metadata=_metadata(row.metadata),
        compose_time=row.compose_time,
        edit_time=row.edit_time,
        delete_time=row.delete_time,
    )


def version_entry(version: MessageVersion) -> dict[str, Any]:
    """The entry of a message version record (as ACS lists it, or an event gave it)."""
    return entry(
        thread_id=version.thread_id,
        message_id=version.message_id,
        version=version.version,
        action=str(version.action),
        type=version.type,
        sender_id=version.sender.raw_id,
        sender_kind=version.sender.kind,
        sender_display_name=version.sender.display_name,
        body=version.body,
        metadata=version.metadata,
        compose_time=version.compose_time,
        edit_time=version.edit_time,
        delete_time=version.delete_time,
    )


def document_entry(document: dict[str, Any]) -> dict[str, Any]:
    """The entry of a message version's blob document (see layout.message_document)."""
    metadata = document.get("metadata")
    return entry(
        thread_id=str(document.get("threadId")),
        message_id=str(document.get("messageId")),
        version=int(document.get("version") or 0),
        action=str(document.get("action")),
        type=document.get("type"),
        sender_id=document.get("senderId"),
        sender_kind=str(document.get("senderKind") or "unknown"),
        sender_display_name=document.get("senderDisplayName"),
        body=document.get("body"),
        metadata=metadata if isinstance(metadata, dict) else None,
        compose_time=document.get("composeTime"),
        edit_time=document.get("editTime"),
        delete_time=document.get("deleteTime"),
    )


def thread_section(thread_id: str, row: ThreadRow | None) -> dict[str, Any]:
    """What a transcript says of the thread itself, from its row (if there is one)."""
    if row is None:
        row = ThreadRow(thread_key="", thread_id=thread_id)
    return section(
        thread_id=thread_id,
        topic=row.topic,
        created_by=row.created_by,
        create_time=row.create_time,
        delete_time=row.delete_time,
        participants=row.participants,
        former_participants=row.former_participants,
    )


def section(
    *,
    thread_id: str,
    topic: str | None,
    created_by: str | None,
    create_time: datetime | None,
    delete_time: datetime | None,
    participants: tuple[Member, ...],
    former_participants: tuple[Member, ...],
) -> dict[str, Any]:
    """A thread section; participants sorted by id, each with its display name."""
    return {
        "threadId": thread_id,
        "topic": topic,
        "createdBy": created_by,
        "createTime": format_timestamp(create_time),
        "deleteTime": format_timestamp(delete_time),
        "participants": _people(participants),
        "formerParticipants": _people(former_participants),
    }


def _people(members: tuple[Member, ...]) -> list[dict[str, str | None]]:
    ordered = sorted(members, key=lambda m: m.raw_id)
    return [{"id": m.raw_id, "displayName": m.display_name} for m in ordered]


def _metadata(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _time(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value
