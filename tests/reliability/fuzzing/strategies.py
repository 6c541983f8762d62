"""What the fuzzing sends: real payloads mutated, hostile field values, handshakes,
raw bytes and bodies of thousands of events, each as a `Delivery` with its headers."""

from __future__ import annotations

import base64
import copy
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from archiver.core.envelopes import VALIDATION_EVENT
from archiver.core.events import ARCHIVED_EVENT_TYPES
from tests.builders import (
    BOB,
    CAROL,
    THREAD,
    TOPIC,
    fan_out,
    message_event,
    published,
    thread_event,
    validation_event,
)

THREAD_KINDS = (
    "ChatThreadCreated",
    "ChatThreadCreatedWithUser",
    "ChatThreadPropertiesUpdated",
    "ChatThreadPropertiesUpdatedPerUser",
    "ChatThreadDeleted",
    "ChatThreadWithUserDeleted",
    "ChatThreadParticipantAdded",
    "ChatThreadParticipantRemoved",
    "ChatParticipantAddedToThreadWithUser",
    "ChatParticipantRemovedFromThreadWithUser",
)


# --- The corpus: real payloads, as ACS and Event Grid send them ----------------------


def is_cloud(event: dict[str, Any]) -> bool:
    return "specversion" in event or "specVersion" in event


def topic_of(event: dict[str, Any]) -> str | None:
    topic = event.get("source" if is_cloud(event) else "topic")
    return topic if isinstance(topic, str) else None


def _seeds() -> list[dict[str, Any]]:
    events = published("eventgrid") + published("cloudevents")
    for schema in ("eventgrid", "cloudevents"):
        for action in ("received", "edited", "deleted"):
            events.append(message_event(action, schema=schema))
            events.append(message_event(action, schema=schema, recipient=BOB))
        events += [thread_event(kind, schema=schema) for kind in THREAD_KINDS]
    events += fan_out([BOB, CAROL], message_id="1613694358999", metadata={"key": "value"})
    events.append(validation_event())
    events.append(
        {
            "specversion": "1.0",
            "type": VALIDATION_EVENT,
            "source": TOPIC,
            "id": "cloud-validation",
            "data": json.dumps({"validationCode": "512d38b6"}),
        }
    )
    for index, event in enumerate(events):  # the builders draw random ids; fix them
        event["id"] = f"seed-{index:03d}"
    return events


def validation_code_of(event: dict[str, Any]) -> str | None:
    """The code of a SubscriptionValidationEvent (its data may be JSON text), or None."""
    if event.get("type" if is_cloud(event) else "eventType") != VALIDATION_EVENT:
        return None
    data = event.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            return None
    code = data.get("validationCode") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code else None


SEEDS = _seeds()
ALLOWED_TOPICS = frozenset(
    topic.strip().lower() for event in SEEDS if (topic := topic_of(event)) is not None
)


# --- Bodies: JSON text, with bare tokens JSON has no value for --------------------------


@dataclass(frozen=True)
class Raw:
    """A token written into the body as is: `NaN`, `1e400`, `-0`, ..."""

    text: str


def serialize(value: Any, *, ascii_only: bool = True, indent: int | None = None) -> bytes:
    """The JSON body for `value`; lone surrogates become invalid UTF-8 unless escaped."""
    raws: list[str] = []

    def placeholder(item: object) -> str:
        if not isinstance(item, Raw):
            raise TypeError(f"not JSON: {item!r}")
        raws.append(item.text)
        return f"@@raw{len(raws) - 1}@@"

    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent, default=placeholder)
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@raw{index}@@"', raw, 1)
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Delivery:
    """One POST to /api/events: the body, its headers, and which host receives it."""

    body: bytes
    content_type: str = "application/json"
    aeg_event_type: str | None = "Notification"
    strict: bool = False

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": self.content_type}
        if self.aeg_event_type is not None:
            headers["aeg-event-type"] = self.aeg_event_type
        return headers


# --- Strategies ---------------------------------------------------------------------------

UNICODE_EDGES = (
    "\x00",
    "\x1f",
    "\x7f",
    "\u0085",
    "\u200b",
    "\u200d",  # zero-width joiner
    "\u200e",
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2066",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\ud800",  # lone surrogates: written as JSON \ud800 escapes
    "\udbff",
    "\udc00",
    "\udfff",
    "\U0001f600",
    "\U0010ffff",
    "e\u0301",
    "\U0001f469\u200d\U0001f467",
)
PATH_PIECES = (
    "/",
    "\\",
    "#",
    "?",
    ".",
    "..",
    "../",
    "%",
    "%2F",
    "%2e%2e",
    "'",
    '"',
    "~",
    "~7E",
    "~zz",
    "&",
    " ",
    "\t",
    "\r\n",
    ":",
    "@",
)
HOSTILE_IDS = (
    ".",
    "..",
    "../..",
    "a/../b",
    "/",
    "\\",
    "#",
    "?x=1",
    "%2e%2e",
    "100%",
    "O'Brien",
    "~",
    "~7E",
    "\x00",
    "\t",
    " ",
    "",
    ".hidden",
    "a" * 255,
    "a" * 256,
    "\u00e9" * 42,  # 252 characters once encoded: the longest that fits
    "\u00e9" * 43,
    "\ud800",
)
BARE_TOKENS = tuple(
    Raw(text)
    for text in (
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1e400",
        "1E2",
        "-0",
        "1.0",
        "2e-400",
        "9" * 400,
        "1" * 5000,  # more digits than Python converts
    )
)
EVENT_TYPES = (
    *sorted(ARCHIVED_EVENT_TYPES),
    VALIDATION_EVENT,
    "Microsoft.Communication.ChatTypingIndicatorReceivedInThread",
    "Microsoft.Communication.ChatMemberAddedToThreadWithUser",
    "Microsoft.EventGrid.SubscriptionDeletedEvent",
)
TIME_EDGES = (
    "9999-12-31T23:59:59-01:00",  # inside 9999 as written, past it in UTC
    "9999-12-31T23:59:59.9999999Z",
    "0001-01-01T00:00:00Z",
    "1601-01-01T00:00:00+01:00",
    "1600-12-31T23:59:59.9999999Z",
    "2021-02-19T00:25:58.92700000Z",
    "2021-02-19",
    "2021-13-01T00:00:00Z",
    "2021-02-19T24:00:00Z",
    "2021-02-19T00:25:58.927+24:00",
    "now",
    "",
)

pieces = st.one_of(st.characters(), st.sampled_from(UNICODE_EDGES + PATH_PIECES))
hostile_text = st.lists(pieces, max_size=24).map("".join)
huge_text = st.builds(
    lambda unit, length: unit * (length // len(unit)),
    st.sampled_from(("x", "\u00e9", "\U0001f600", "\ud800", "\u202e", "\x00", "<b>")),
    st.integers(10_000, 100_000),
)


def nested(depth: int, shape: str) -> Any:
    """A value `depth` levels deep, of lists or of objects."""
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if shape == "list" else {"a": value}
    return value


deep_values = st.builds(nested, st.integers(100, 400), st.sampled_from(("list", "object")))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),  # BARE_TOKENS has NaN and Infinity
    hostile_text,
    st.sampled_from(BARE_TOKENS),
)
hostile_values = st.one_of(
    scalars,
    huge_text,
    deep_values,
    st.lists(scalars, max_size=3),
    st.dictionaries(hostile_text, scalars, max_size=3),
)
versions = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from((0, 2**63 - 1, 2**63, 2**64, -1, 10**19, 1613694358927)),
    st.floats(),  # NaN and the infinities become bare tokens
    st.sampled_from((1e308, 1.5, 1613694358927.0, -0.0)),
    st.integers(0, 2**64).map(str),
    st.sampled_from(("", "1e3", "0x10", " 1", "+1", "-1", "1.0", "\uff11", "\u0661", "0" * 30)),
    st.sampled_from(BARE_TOKENS),
    st.sampled_from((None, True, [1613694358927], {"value": 1})),
)
ids = st.one_of(
    st.sampled_from(HOSTILE_IDS),
    hostile_text,
    st.builds(
        lambda real, at, insert: real[:at] + insert + real[at:],
        st.sampled_from((THREAD, "1613694358927", BOB)),
        st.integers(0, 48),
        hostile_text,
    ),
)
offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(timezone)
moments = st.one_of(
    st.sampled_from(
        (
            datetime(1, 1, 1),
            datetime(1601, 1, 1),
            datetime(2021, 2, 19, 0, 25, 58, 927000),
            datetime(9999, 12, 31, 23, 59, 59, 999999),
        )
    ),
    st.datetimes(),
)
times = st.one_of(
    st.builds(
        lambda moment, zone: moment.replace(tzinfo=zone).isoformat(),
        moments,
        st.none() | offsets,
    ),
    st.sampled_from(TIME_EDGES),
    st.integers(),
)
event_types = st.one_of(
    st.sampled_from(EVENT_TYPES), st.sampled_from(EVENT_TYPES).map(str.lower), hostile_text
)
added_keys = st.one_of(
    st.sampled_from(("specversion", "specVersion", "eventType", "type", "source", "data_base64")),
    hostile_text,
)
_FOCUS = (
    ("data", "version"),
    ("data", "threadId"),
    ("data", "messageId"),
    ("data", "messageBody"),
    ("data", "metadata"),
    ("data", "composeTime"),
    ("data", "editTime"),
    ("data", "deleteTime"),
    ("data", "createTime"),
    ("data", "time"),
    ("data", "senderCommunicationIdentifier", "rawId"),
    ("data", "participantAdded", "participantCommunicationIdentifier", "rawId"),
    ("data", "participantRemoved", "participantCommunicationIdentifier", "rawId"),
    ("data", "properties"),
    ("data", "participants"),
    ("data",),
    ("eventType",),
    ("type",),
    ("topic",),
    ("source",),
    ("specversion",),
    ("eventTime",),
    ("time",),
    ("id",),
)

Path = tuple[str | int, ...]


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every place inside an event (not the event itself), to a depth of eight."""
    if len(prefix) >= 8:
        return []
    children: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[Path] = []
    for key, child in children:
        found += [(*prefix, key), *paths(child, (*prefix, key))]
    return found


def _at(event: dict[str, Any], path: Path) -> Any:
    node: Any = event
    for key in path:
        node = node[key]
    return node


def retyped(value: Any) -> list[Any]:
    """The same value in other JSON types: numbers as strings, objects as lists, null."""
    options: list[Any] = [None, [value], {"value": value}]
    if isinstance(value, bool):
        options += [int(value), str(value).lower()]
    elif isinstance(value, int):
        options += [str(value), float(value), -value, value + 2**64]
    elif isinstance(value, float):
        options += [str(value), int(value) if math.isfinite(value) else 0]
    elif isinstance(value, str):
        options += [value.upper(), value * 2, "", int(value) if value.isdecimal() else 0]
    elif isinstance(value, dict):
        options += [list(value.values()), [list(pair) for pair in value.items()]]
        options += [serialize(value).decode("utf-8", "surrogatepass")]  # as JSON text
    elif isinstance(value, list):
        options += [{str(index): item for index, item in enumerate(value)}, [], value * 2]
    return options


def _replacement(key: str | int) -> st.SearchStrategy[Any]:
    if key == "version":
        return versions
    if key in ("threadId", "messageId", "rawId", "id", "senderId"):
        return ids
    if isinstance(key, str) and key.lower().endswith("time"):
        return times
    if key in ("eventType", "type"):
        return event_types
    if key == "specversion":
        return st.sampled_from(("1.0", "0.3", "1", 1.0, None, "", " 1.0"))
    return hostile_values


def mutate(draw: st.DrawFn, event: dict[str, Any]) -> None:
    """Change one thing in `event`: drop, retype, replace, add, or base64 its data."""
    places = paths(event)
    focused: list[Path] = [path for path in _FOCUS if _has(event, path)]
    prefer_focused: bool = draw(st.booleans())
    if focused and prefer_focused:
        places = focused  # the fields the archiver reads, more often than their share
    if not places:
        return
    path = draw(st.sampled_from(places))
    parent, key = _at(event, path[:-1]), path[-1]
    operation = draw(st.sampled_from(("replace", "retype", "drop", "add", "base64")))
    if operation == "drop":
        del parent[key]
    elif operation == "retype":
        parent[key] = draw(st.sampled_from(retyped(parent[key])))
    elif operation == "add" and isinstance(parent, dict):
        parent[draw(added_keys)] = draw(hostile_values)
    elif operation == "base64" and is_cloud(event) and "data" in event:
        text = serialize(event.pop("data"))
        event["data_base64"] = draw(
            st.sampled_from((base64.b64encode(text).decode(), "eyJh", "not base64", ""))
        )
    else:
        parent[key] = draw(_replacement(key))


def _has(event: dict[str, Any], path: Path) -> bool:
    try:
        _at(event, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


seed_events = st.sampled_from(SEEDS).map(copy.deepcopy)


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A real event with one to three things changed."""
    event: dict[str, Any] = draw(seed_events)
    for _ in range(draw(st.integers(1, 3))):
        mutate(draw, event)
    return event


def _content_type(value: Any) -> str:
    events = value if isinstance(value, list) else [value]
    if events and all(isinstance(e, dict) and is_cloud(e) for e in events):
        return (
            "application/cloudevents-batch+json"
            if isinstance(value, list)
            else ("application/cloudevents+json")
        )
    return "application/json"


@st.composite
def mutated_deliveries(draw: st.DrawFn) -> Delivery:
    """A delivery of real events, some of them mutated, to either host."""
    events = draw(st.lists(st.one_of(mutated_events(), seed_events), min_size=1, max_size=6))
    value: Any = events[0] if len(events) == 1 and draw(st.booleans()) else events
    return Delivery(
        serialize(value, ascii_only=draw(st.booleans()), indent=draw(st.sampled_from((None, 1)))),
        content_type=_content_type(value),
        aeg_event_type=draw(st.sampled_from(("Notification", None, "SubscriptionValidation"))),
        strict=draw(st.booleans()),
    )


MESSAGE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "threadId": ids,
    "messageId": ids,
    "version": st.one_of(versions, st.integers(0, 2**63 - 1)),
    "messageBody": st.one_of(hostile_text, huge_text, scalars),
    "metadata": st.one_of(st.dictionaries(hostile_text, hostile_text, max_size=4), hostile_values),
    "senderDisplayName": st.one_of(hostile_text, huge_text, scalars),
    "type": st.one_of(st.sampled_from(("Text", "html", "RichText/Html", "")), hostile_text),
    "composeTime": times,
    "editTime": times,
    "deleteTime": times,
    "senderId": ids,
}
THREAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "threadId": ids,
    "version": st.one_of(versions, st.integers(0, 2**63 - 1)),
    "createTime": times,
    "editTime": times,
    "deleteTime": times,
    "time": times,
    "properties": st.one_of(st.dictionaries(hostile_text, hostile_values, max_size=3), deep_values),
    "metadata": st.dictionaries(hostile_text, hostile_text, max_size=3),
    "participants": st.lists(st.fixed_dictionaries({"displayName": hostile_text}), max_size=3),
}


@st.composite
def hostile_field_deliveries(draw: st.DrawFn) -> Delivery:
    """Well-formed message and thread events whose field values are hostile."""
    schema = draw(st.sampled_from(("eventgrid", "cloudevents")))
    events = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            action = draw(st.sampled_from(("received", "edited", "deleted")))
            recipient = draw(st.sampled_from((None, BOB)))
            event, fields = (
                message_event(action, schema=schema, recipient=recipient),
                MESSAGE_FIELDS,
            )
        else:
            event, fields = (
                thread_event(draw(st.sampled_from(THREAD_KINDS)), schema=schema),
                THREAD_FIELDS,
            )
        for name, values in fields.items():
            if draw(st.integers(0, 2)) == 0:
                event["data"][name] = draw(values)
        for party in ("senderCommunicationIdentifier", "participantAdded", "participantRemoved"):
            identifier = event["data"].get(party, {})
            identifier = identifier.get("participantCommunicationIdentifier", identifier)
            if identifier and draw(st.booleans()):
                identifier["rawId"] = draw(ids)
        time_key = "time" if schema == "cloudevents" else "eventTime"
        event[time_key] = draw(st.one_of(st.just(event[time_key]), times))
        event["id"] = draw(st.one_of(st.just(event["id"]), hostile_text))
        events.append(event)
    return Delivery(serialize(events, ascii_only=draw(st.booleans())), _content_type(events))


@st.composite
def validation_deliveries(draw: st.DrawFn) -> Delivery:
    """Subscription validation requests, well-formed or not, in either schema."""
    code = draw(st.one_of(st.just("512d38b6-c7b8-40c8-89fe-f46f9e9622b6"), hostile_text, scalars))
    url = draw(st.one_of(st.just("https://eventgrid.example/validate?token=1A"), hostile_text))
    data: Any = draw(
        st.one_of(
            st.just({"validationCode": code, "validationUrl": url}),
            st.just({"validationUrl": url}),
            hostile_values,
        )
    )
    encoding = draw(st.sampled_from(("object", "JSON text", "deep JSON text")))
    if encoding == "JSON text":
        data = serialize(data).decode("utf-8", "surrogatepass")
    elif encoding == "deep JSON text":
        opening = draw(st.sampled_from(("[", '{"a":', '{"validationCode":[')))
        data = opening * draw(st.integers(100, 20_000))
    event = validation_event()
    event["data"] = data
    if draw(st.booleans()):  # as a CloudEvent, whose data Event Grid double-encodes
        event = {
            "specversion": "1.0",
            "type": VALIDATION_EVENT,
            "source": TOPIC,
            "id": "v",
            "data": data,
        }
    events = [event, *draw(st.lists(seed_events, max_size=2))]
    return Delivery(
        serialize(events, ascii_only=draw(st.booleans())),
        content_type=_content_type(events),
        aeg_event_type=draw(st.sampled_from(("SubscriptionValidation", "Notification", None))),
        strict=draw(st.booleans()),
    )


FIXED_BODIES = (
    b"",
    b" \r\n\t",
    b"null",
    b"true",
    b"42",
    b"-0",
    b'"events"',
    b"[]",
    b"{}",
    b"[{}]",
    b"[1]",
    b"[null]",
    b"[[]]",
    b'[{"eventType": null}]',
    b'{"specversion": "1.0"}',
    b"[" * 5000,
    b'{"a":' * 3000,
    b'[{"eventType": "x"}] []',
    b'[{"eventType": "x"},]',
    b"[{'eventType': 'x'}]",
    b'[{"eventType": NaN}]',
    b'[{"eventType": "x", "n": 1e400}]',
    b"/* comment */ []",
    b'[{"eventType": "\\ud800"}]',
    b"\x00",
    b"[]\x00",
)
JUNK = (
    b"\xff",
    b"\xc3\x28",  # invalid continuation
    b"\xed\xa0\x80",  # a surrogate encoded in UTF-8
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xc0\xaf",  # overlong
    b"\x00",
    b"NaN",
    b",",
    b"]",
    b"}",
    b'"',
    b"\\",
    b"\xef\xbb\xbf",
)
LEADS = (
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbf\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b" \r\n",
    b"\xc2\xa0",
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@st.composite
def raw_deliveries(draw: st.DrawFn) -> Delivery:
    """Bytes: random, truncated, spliced, re-encoded, BOM-led, scalar, or empty."""
    valid = serialize(draw(st.lists(seed_events, min_size=1, max_size=3)), ascii_only=False)
    payload = draw(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(FIXED_BODIES),
            st.integers(0, len(valid)).map(lambda end: valid[:end]),
            st.builds(
                lambda at, junk: valid[:at] + junk + valid[at:],
                st.integers(0, len(valid)),
                st.sampled_from(JUNK),
            ),
            st.sampled_from(LEADS).map(lambda lead: lead + valid),
            st.sampled_from(("utf-16", "utf-16-be", "utf-32", "utf-8-sig")).map(
                lambda codec: valid.decode().encode(codec)
            ),
            json_values.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass")),
            st.just(valid + b" x"),
        )
    )
    return Delivery(
        payload,
        content_type=draw(
            st.sampled_from(
                (
                    "application/json",
                    "application/cloudevents-batch+json",
                    "text/plain",
                    "application/octet-stream",
                    "application/json; charset=utf-16",
                )
            )
        ),
        strict=draw(st.booleans()),
    )


def _minimal(schema: str, kind: str, data: dict[str, Any], index: int) -> dict[str, Any]:
    if schema == "cloudevents":
        return {"specversion": "1.0", "id": str(index), "type": kind, "source": "/c", "data": data}
    return {"id": str(index), "eventType": kind, "data": data}


@st.composite
def crowded_deliveries(draw: st.DrawFn) -> Delivery:
    """Thousands of small events in one body: fan-out, repeats, noise and bad ones."""
    count = draw(st.integers(1000, 4000))
    messages = draw(st.integers(1, 40))
    malformed = draw(st.integers(0, 30))
    schemas = draw(
        st.sampled_from((("eventgrid",), ("cloudevents",), ("eventgrid", "cloudevents")))
    )
    real = [e for e in SEEDS if validation_code_of(e) is None]
    rng = random.Random(draw(st.integers(0, 2**32)))  # one draw, not thousands
    prefix = "Microsoft.Communication."
    events: list[dict[str, Any]] = []
    for index in range(count):
        schema = rng.choice(schemas)
        roll = rng.random()
        number = rng.randint(1, messages)
        if roll < 0.5:
            per_user = rng.random() < 0.5
            data = {
                "threadId": f"19:crowd-{number % 3}@thread.v2",
                "messageId": str(number),
                "version": number + rng.randint(0, 2),
                "messageBody": "hi",
            }
            if per_user:
                data["recipientCommunicationIdentifier"] = {"rawId": f"8:acs:r{index}"}
            kind = "ChatMessageReceived" if per_user else "ChatMessageReceivedInThread"
            events.append(_minimal(schema, prefix + kind, data, index))
        elif roll < 0.8:
            kind = prefix + "ChatTypingIndicatorReceivedInThread"
            events.append(_minimal(schema, kind, {"threadId": "19:crowd"}, index))
        elif roll < 0.95 and malformed:
            data = {"threadId": "19:crowd", "messageId": str(rng.randint(1, malformed))}
            kind = prefix + "ChatMessageEditedInThread"
            events.append(_minimal(schema, kind, data | {"version": "v"}, 0))
        elif roll < 0.97:
            events.append(rng.choice(real))
        else:
            events.append(_minimal(schema, prefix + "ChatThreadDeleted", {"version": 1}, index))
    return Delivery(serialize(events), _content_type(events))


# --- The oracle: what the README says the answer must be ------------------------------
