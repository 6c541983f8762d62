"""What a reader gets for a version whose key is gone: the plain document's shape, with
what the envelope's cleartext header still says (thread, message, version, action and
times) and "[redacted: receipt N]" in place of the text, the sender and the event. So
exports, RSMF, transcripts and the read API show that a version existed, when, and which
receipt says why it can no longer be read. Pure."""

from __future__ import annotations

from typing import Any

import rfc8785

from archiver.core.erasure.envelopes import Header
from archiver.core.erasure.receipts import REDACTED
from archiver.core.fields import format_timestamp


def redacted_text(receipt: str) -> str:
    """The text shown in place of an erased one (no receipt: "unknown")."""
    return REDACTED.format(receipt or "unknown")


def redacted_document(header: Header, *, receipt: str, restricted: bool = False) -> bytes:
    """The plain document a redacted version reads as."""
    document: dict[str, Any] = {
        "threadId": header.thread_id,
        "messageId": header.message_id,
        "version": header.version,
        "action": header.action.value,
        "senderId": None,
        "senderKind": "unknown",
        "senderDisplayName": None,
        "type": None,
        "body": redacted_text(receipt),
        "metadata": None,
        "composeTime": format_timestamp(header.compose_time),
        "editTime": format_timestamp(header.edit_time),
        "deleteTime": format_timestamp(header.delete_time),
        "eventType": None,
        "redacted": {"receipt": receipt or None, "restricted": restricted},
    }
    return rfc8785.dumps(document)
