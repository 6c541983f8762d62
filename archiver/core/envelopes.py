"""Event Grid and CloudEvents 1.0 envelopes: split a body into events, open each one.

A body is one event object or an array of them, in either schema. Each event keeps
its exact JSON text, cut out of the body, so it can be archived as received.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from archiver.core.errors import InvalidBody, InvalidEvent
from archiver.core.fields import Timestamp, describe
from archiver.core.jsontext import dumps

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text[:40]}")
    return number


def _no_constants(text: str) -> None:
    raise ValueError(f"{text} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constants)


@dataclass(frozen=True)
class RawEvent:
    """One event object: its exact JSON text and its parsed value."""

    text: str = field(repr=False)
    value: dict[str, Any] = field(repr=False)

    @property
    def schema(self) -> Literal["eventgrid", "cloudevents"]:
        """Which schema the event claims (CloudEvents when it has a specversion)."""
        return "cloudevents" if _spec_version_key(self.value) else "eventgrid"

    @property
    def event_type(self) -> str | None:
        """The event type, if the event states one as a string."""
        kind = self.value.get("type" if self.schema == "cloudevents" else "eventType")
        return kind if isinstance(kind, str) else None

    @property
    def topic(self) -> str | None:
        """Event Grid `topic` or CloudEvents `source`, if it is a string."""
        topic = self.value.get("source" if self.schema == "cloudevents" else "topic")
        return topic if isinstance(topic, str) else None

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> RawEvent:
        """Wrap an already-parsed event (the native trigger hands those over)."""
        return cls(text=dumps(value), value=value)


def split_body(body: bytes) -> list[RawEvent]:
    """Return the events of a request body; raise InvalidBody saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBody(f"The body is not valid UTF-8 (byte {exc.start}).") from exc
    text = text.removeprefix("\ufeff")
    position = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text.startswith("[", position):
        events, position = _array(text, position + 1)
    elif text.startswith("{", position):
        value, end = _value(text, position)
        events, position = [_event(text[position:end], value, 0)], end
    elif position == len(text):
        raise InvalidBody("The body is empty; expected an event or an array of events.")
    else:
        raise InvalidBody("The body must be a JSON object (one event) or an array of events.")
    if _WHITESPACE.match(text, position).end() != len(text):  # type: ignore[union-attr]
        raise InvalidBody(f"Unexpected data after the JSON value at character {position}.")
    return events


def _array(text: str, position: int) -> tuple[list[RawEvent], int]:
    events: list[RawEvent] = []
    position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
    if text.startswith("]", position):
        return events, position + 1
    while True:
        value, end = _value(text, position)
        events.append(_event(text[position:end], value, len(events)))
        position = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith("]", position):
            return events, position + 1
        if not text.startswith(",", position):
            raise InvalidBody(f"Expected ',' or ']' at character {position} of the body.")
        position = _WHITESPACE.match(text, position + 1).end()  # type: ignore[union-attr]


def _value(text: str, position: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise InvalidBody(f"The body is not valid JSON: {exc.msg} at character {exc.pos}.") from exc
    except RecursionError as exc:
        raise InvalidBody("The body is nested too deeply to be an event.") from exc
    except ValueError as exc:
        raise InvalidBody(f"The body is not valid JSON: {exc}.") from exc


def _event(text: str, value: Any, index: int) -> RawEvent:
    if not isinstance(value, dict):
        raise InvalidBody(f"Event {index} is not a JSON object.")
    if "eventType" not in value and not _spec_version_key(value):
        raise InvalidBody(
            f"Event {index} is neither an Event Grid event (no 'eventType') "
            "nor a CloudEvent (no 'specversion')."
        )
    return RawEvent(text=text, value=value)


def _spec_version_key(value: dict[str, Any]) -> str | None:
    # Some published ACS examples spell it specVersion; Event Grid sends specversion.
    for key in ("specversion", "specVersion"):
        if key in value:
            return key
    return None


_Envelope = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)
_Text = Annotated[str, Field(min_length=1, strict=True)]


class EventGridEnvelope(BaseModel):
    """The Event Grid schema envelope."""

    model_config = _Envelope
    id: _Text
    event_type: _Text = Field(alias="eventType")
    topic: Annotated[str | None, Field(strict=True)] = None
    subject: Annotated[str | None, Field(strict=True)] = None
    event_time: Timestamp | None = Field(default=None, alias="eventTime")
    data: Any = None


class CloudEventEnvelope(BaseModel):
    """The CloudEvents 1.0 envelope (JSON format)."""

    model_config = _Envelope
    id: _Text
    type: _Text
    source: _Text
    specversion: Literal["1.0"]
    subject: Annotated[str | None, Field(strict=True)] = None
    time: Timestamp | None = None
    data: Any = None
    data_base64: Annotated[str | None, Field(strict=True)] = None


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """An event's envelope in schema-neutral terms."""

    id: str
    type: str
    topic: str | None
    subject: str | None
    time: datetime | None
    data: Any


def open_envelope(event: RawEvent) -> Envelope:
    """Validate the envelope of an event; raise InvalidEvent saying what is wrong."""
    try:
        if event.schema == "eventgrid":
            grid = EventGridEnvelope.model_validate(event.value)
            return Envelope(
                id=grid.id,
                type=grid.event_type,
                topic=grid.topic,
                subject=grid.subject,
                time=grid.event_time,
                data=grid.data,
            )
        value = dict(event.value)
        value.setdefault("specversion", value.get("specVersion"))
        cloud = CloudEventEnvelope.model_validate(value)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid {event.schema} envelope: {describe(exc)}") from exc
    data = cloud.data if cloud.data_base64 is None else _base64_json(cloud.data_base64)
    return Envelope(
        id=cloud.id,
        type=cloud.type,
        topic=cloud.source,
        subject=cloud.subject,
        time=cloud.time,
        data=data,
    )


def validation_code(event: RawEvent) -> str | None:
    """The code of a SubscriptionValidationEvent, or None for any other event."""
    if event.event_type != VALIDATION_EVENT:
        return None
    data = event.value.get("data")
    if isinstance(data, str):  # CloudEvents deliveries double-encode this data
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            return None
    code = data.get("validationCode") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code else None


def _base64_json(text: str) -> Any:
    try:
        return json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidEvent("data_base64 does not hold base64-encoded JSON") from exc
