"""What the webhook must answer to a delivery, and how a stored row may differ from its
blob: the specification the fuzzing holds the archiver to, written without its code."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from archiver.core.fields import format_timestamp
from archiver.core.jsontext import dumps
from archiver.core.layout import (
    LatestRow,
    message_blob_name,
    quarantine_blob_name,
    thread_blob_name,
)
from archiver.core.records import MessageVersion, Quarantined, Record, ThreadEvent
from archiver.core.settings import Settings
from archiver.verification.findings import Findings
from tests.reliability.fuzzing.strategies import Delivery, is_cloud, topic_of, validation_code_of

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Expected:
    """The status a delivery must get; for a 200, the events or the validation code."""

    status: int
    events: int = 0
    validation_code: str | None = None


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} does not fit a double")
    return number


def _not_json(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def events_in(payload: bytes) -> list[dict[str, Any]] | None:
    """The events of a body, or None when its structure is wrong (400, nothing written).

    UTF-8 JSON (one leading BOM tolerated), numbers that fit a double, an event object
    or an array of them, each with `eventType` (Event Grid) or `specversion`.
    """
    try:
        text = payload.decode("utf-8").removeprefix("\ufeff")
        value = json.loads(text, parse_float=_finite, parse_constant=_not_json)
    except (ValueError, RecursionError):
        return None
    events = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    if not isinstance(value, list | dict) or not all(
        isinstance(event, dict) and ("eventType" in event or is_cloud(event)) for event in events
    ):
        return None
    return events


def expect(delivery: Delivery, settings: Settings) -> Expected:
    """413 over the limit, 400 for a wrong structure or validation, 403 foreign, else 200."""
    if len(delivery.body) > settings.max_body_bytes:
        return Expected(413)
    events = events_in(delivery.body)
    if events is None:
        return Expected(400)
    codes = [validation_code_of(event) for event in events]
    if delivery.aeg_event_type == "SubscriptionValidation" or any(codes):
        if len(events) == 1 and codes[0]:
            return Expected(200, validation_code=codes[0])
        return Expected(400)
    if not all(settings.topic_allowed(topic_of(event)) for event in events):
        return Expected(403)
    return Expected(200, events=len(events))


def blob_name(record: MessageVersion | ThreadEvent | Quarantined | Record) -> str:
    """The blob the storage contract names for a record."""
    if isinstance(record, MessageVersion):
        return message_blob_name(record)
    if isinstance(record, ThreadEvent):
        return thread_blob_name(record)
    assert isinstance(record, Quarantined)
    return quarantine_blob_name(record)


def document_of(content: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(content)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def disagreement(row: LatestRow, document: dict[str, Any] | None) -> list[str]:
    """Where a row says other than the blob it points at, beyond the documented cuts.

    A row's text may lose its end (then `truncated` is set) and its lone surrogates
    (they become U+FFFD); everything else round-trips through the table exactly.
    """
    if document is None:
        return [f"{row.blob_name} is not a JSON object"]
    metadata = document.get("metadata")
    texts = {
        "body": (row.body, document.get("body")),
        "senderId": (row.sender_id, document.get("senderId")),
        "senderDisplayName": (row.sender_display_name, document.get("senderDisplayName")),
        "metadata": (row.metadata, dumps(metadata) if metadata else None),
    }
    problems = [
        f"{name} is {_short(got)!r}, its blob has {_short(full)!r}"
        for name, (got, full) in texts.items()
        if not _same_text(got, full, cut=row.truncated)
    ]
    exact = {
        "threadId": (row.thread_id, document.get("threadId")),
        "messageId": (row.message_id, document.get("messageId")),
        "senderKind": (row.sender_kind, str(document.get("senderKind"))[:100]),
        "type": (row.type, (document.get("type") or "")[:100] or None),
        "composeTime": (format_timestamp(row.compose_time), document.get("composeTime")),
        "editTime": (format_timestamp(row.edit_time), document.get("editTime")),
        "deleteTime": (format_timestamp(row.delete_time), document.get("deleteTime")),
    }
    problems += [
        f"{name} is {got!r}, its blob has {want!r}"
        for name, (got, want) in exact.items()
        if got != want
    ]
    return problems


def _same_text(got: str | None, full: str | None, *, cut: bool) -> bool:
    if full is None:
        return got is None
    expected = LONE_SURROGATE.sub("\ufffd", full)
    return got == expected or (cut and got is not None and expected.startswith(got))


def _short(text: str | None) -> str | None:
    return text if text is None or len(text) <= 60 else f"{text[:57]}..."


def findings_text(findings: Findings) -> str:
    return "\n".join(findings.missing + findings.extra + findings.wrong + findings.stray)
