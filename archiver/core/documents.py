"""Reading a stored message version back into the record it was written from.

The inverse of layout.message_document for the fields a latest row holds, so a row can
be checked against the blob it points at: `latest_row(version_of(document))` is the row
that blob makes. Pure.
"""

from __future__ import annotations

import json
from typing import Any

from archiver.core.errors import DamagedArchive
from archiver.core.fields import parse_timestamp
from archiver.core.keys import encode_key
from archiver.core.records import Action, MessageVersion, Party


def version_of(document: dict[str, Any], *, name: str) -> MessageVersion:
    """The message version a blob document holds; raise DamagedArchive naming the blob
    when it is not one."""
    try:
        return MessageVersion(
            thread_id=_text(document["threadId"]),
            thread_key=encode_key(_text(document["threadId"]), field="threadId"),
            message_id=_text(document["messageId"]),
            message_key=encode_key(_text(document["messageId"]), field="messageId"),
            version=_count(document["version"]),
            action=Action(document["action"]),
            sender=Party(
                raw_id=_optional(document.get("senderId")),
                kind=_text(document.get("senderKind") or "unknown"),
                display_name=_optional(document.get("senderDisplayName")),
            ),
            type=_optional(document.get("type")),
            body=_optional(document.get("body")),
            metadata=_mapping(document.get("metadata")),
            compose_time=_time(document.get("composeTime")),
            edit_time=_time(document.get("editTime")),
            delete_time=_time(document.get("deleteTime")),
            event_type=_text(document.get("eventType") or ""),
            raw=json.dumps(document.get("event")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedArchive(f"{name} does not hold a message version ({exc})") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


def _mapping(value: Any) -> dict[str, str] | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError("metadata is not an object")
    return value


def _count(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("version is not an integer")
    return value


def _time(value: Any) -> Any:
    return None if value is None else parse_timestamp(value)
