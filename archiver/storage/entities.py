"""The `ChatMessages` and `ChatThreads` rows as Table entities: names and EDM types.

Versions are always written as Edm.Int64 (the SDK would pick Int32 for small numbers
and refuse large ones), times as Edm.DateTime, and `truncated` only when true. A
thread's participant lists are JSON text; a list longer than one string property
holds (32,000 UTF-16 units) continues in `participants_1`, `participants_2`, ...
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty

from archiver.core.jsontext import dumps
from archiver.core.layout import MAX_ROW_TEXT_UNITS, LatestRow
from archiver.core.records import Action
from archiver.core.threads import Member, ThreadRow
from archiver.core.versions import UNREADABLE, Stamp

THREAD_ROW_KEY = ""  # one row per thread: the partition is the thread


def to_entity(row: LatestRow) -> dict[str, Any]:
    """The entity the Azure SDK writes for a row."""
    entity: dict[str, Any] = {
        "PartitionKey": row.thread_key,
        "RowKey": row.message_key,
        "threadId": row.thread_id,
        "messageId": row.message_id,
        "version": EntityProperty(row.version, EdmType.INT64),
        "action": str(row.action),
        "senderId": row.sender_id,
        "senderKind": row.sender_kind,
        "senderDisplayName": row.sender_display_name,
        "type": row.type,
        "body": row.body,
        "metadata": row.metadata,
        "composeTime": row.compose_time,
        "editTime": row.edit_time,
        "deleteTime": row.delete_time,
        "blobName": row.blob_name,
    }
    if row.sha256 is not None:
        entity["sha256"] = row.sha256
    if row.truncated:
        entity["truncated"] = True
    return entity


def from_entity(entity: Any) -> LatestRow:
    """The row an entity read back from the table holds."""
    return LatestRow(
        thread_key=entity["PartitionKey"],
        message_key=entity["RowKey"],
        thread_id=entity["threadId"],
        message_id=entity["messageId"],
        version=_int(entity.get("version")),
        action=Action(entity["action"]),
        sender_id=entity.get("senderId"),
        sender_kind=entity.get("senderKind", "unknown"),
        sender_display_name=entity.get("senderDisplayName"),
        type=entity.get("type"),
        body=entity.get("body"),
        metadata=entity.get("metadata"),
        compose_time=_time(entity.get("composeTime")),
        edit_time=_time(entity.get("editTime")),
        delete_time=_time(entity.get("deleteTime")),
        blob_name=entity["blobName"],
        truncated=bool(entity.get("truncated", False)),
        sha256=_text(entity.get("sha256")),
    )


def stamp_of(entity: Any) -> Stamp:
    """The stamp of an entity; one that cannot be read sorts below every version."""
    try:
        return Stamp.of(_int(entity.get("version")), Action(entity.get("action")))
    except (TypeError, ValueError):
        return UNREADABLE


def _int(value: Any) -> int:
    number = value.value if isinstance(value, EntityProperty) else value
    if type(number) is not int:
        raise TypeError(f"expected an integer version, got {number!r}")
    return number


def _time(value: Any) -> datetime | None:
    # The SDK returns a datetime subclass; hand back a plain aware datetime.
    if value is None:
        return None
    moment: datetime = value
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=moment.tzinfo,
    )


def to_thread_entity(row: ThreadRow) -> dict[str, Any]:
    """The entity the Azure SDK writes for a thread row."""
    entity: dict[str, Any] = {
        "PartitionKey": row.thread_key,
        "RowKey": THREAD_ROW_KEY,
        "threadId": row.thread_id,
        "topic": row.topic,
        "topicVersion": _int64(row.topic_version),
        "metadata": dumps(row.metadata) if row.metadata is not None else None,
        "metadataVersion": _int64(row.metadata_version),
        "createdBy": row.created_by,
        "createTime": row.create_time,
        "deletedBy": row.deleted_by,
        "deleteTime": row.delete_time,
        "lastActivity": row.last_activity,
        "participantCount": len(row.participants),
        "transcriptTime": row.transcript_time,
        "transcriptActivity": row.transcript_activity,
        "verifiedAt": row.verified_at,
        "complete": row.complete,
        "gaps": row.gaps,
        "seal": row.seal,
        "sealSha256": row.seal_sha256,
    }
    entity |= _chunks("participants", _member_list(row.participants))
    entity |= _chunks("formerParticipants", _member_list(row.former_participants))
    if row.truncated:
        entity["truncated"] = True
    return {name: value for name, value in entity.items() if value is not None}


def from_thread_entity(entity: Any) -> ThreadRow:
    """The thread row an entity holds; unreadable parts read as unknown, to be rejoined."""
    members = [
        *_members(_joined(entity, "participants"), present=True),
        *_members(_joined(entity, "formerParticipants"), present=False),
    ]
    return ThreadRow(
        thread_key=entity["PartitionKey"],
        thread_id=entity.get("threadId") or entity["PartitionKey"],
        topic=_text(entity.get("topic")),
        topic_version=_optional_int(entity.get("topicVersion")),
        metadata=_string_map(entity.get("metadata")),
        metadata_version=_optional_int(entity.get("metadataVersion")),
        created_by=_text(entity.get("createdBy")),
        create_time=_moment(entity.get("createTime")),
        deleted_by=_text(entity.get("deletedBy")),
        delete_time=_moment(entity.get("deleteTime")),
        last_activity=_moment(entity.get("lastActivity")),
        members=tuple(sorted(members, key=lambda m: m.raw_id)),
        transcript_time=_moment(entity.get("transcriptTime")),
        transcript_activity=_moment(entity.get("transcriptActivity")),
        truncated=bool(entity.get("truncated", False)),
        verified_at=_moment(entity.get("verifiedAt")),
        complete=entity.get("complete") if isinstance(entity.get("complete"), bool) else None,
        gaps=_text(entity.get("gaps")),
        seal=_text(entity.get("seal")),
        seal_sha256=_text(entity.get("sealSha256")),
    )


def _member_list(members: tuple[Member, ...]) -> str:
    return dumps(
        [{"id": m.raw_id, "displayName": m.display_name, "version": m.version} for m in members]
    )


def _chunks(name: str, text: str) -> dict[str, str]:
    """`text` over as many properties as it needs, each within a string property's size."""
    chunks: dict[str, str] = {}
    start, used = 0, 0
    for index, char in enumerate(text):
        units = 2 if ord(char) > 0xFFFF else 1
        if used + units > MAX_ROW_TEXT_UNITS:
            chunks[_chunk_name(name, len(chunks))] = text[start:index]
            start, used = index, 0
        used += units
    chunks[_chunk_name(name, len(chunks))] = text[start:]
    return chunks


def _chunk_name(name: str, index: int) -> str:
    return name if index == 0 else f"{name}_{index}"


def _joined(entity: Any, name: str) -> str:
    parts = []
    index = 0
    while isinstance(part := entity.get(_chunk_name(name, index)), str):
        parts.append(part)
        index += 1
    return "".join(parts)


def _members(text: str, *, present: bool) -> list[Member]:
    try:
        listed = json.loads(text) if text else []
    except ValueError:
        return []
    found = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        version = item.get("version")
        name = item.get("displayName")
        found.append(
            Member(
                raw_id=item["id"],
                display_name=name if isinstance(name, str) else None,
                version=version if type(version) is int else -1,
                present=present,
            )
        )
    return found


def _moment(value: Any) -> datetime | None:
    return _time(value) if isinstance(value, datetime) else None


def _int64(value: int | None) -> EntityProperty | None:
    return None if value is None else EntityProperty(value, EdmType.INT64)


def _optional_int(value: Any) -> int | None:
    try:
        return None if value is None else _int(value)
    except TypeError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _string_map(text: Any) -> dict[str, str] | None:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    return None
