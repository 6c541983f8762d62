"""The `ChatMessages` row as a Table entity: property names and EDM types.

`version` is always written as Edm.Int64 (the SDK would pick Int32 for small numbers
and refuse large ones), times as Edm.DateTime, and `truncated` only when true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.data.tables import EdmType, EntityProperty

from archiver.layout import LatestRow
from archiver.records import Action
from archiver.versions import UNREADABLE, Stamp


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
