"""The rules of an RSMF 2.0 manifest, checked: what its schema says, and what it cannot.

The published JSON Schema (draft-07, `rsmf_schema_2_0_0.json` in Relativity's
rsmf-validator-samples) is written out here as our own checks: required keys, types,
enumerations, minimum lengths, ISO 8601 timestamps, the shapes of custom properties,
edits, attachments, reactions and read receipts. One rule is stricter than the schema:
a key the schema does not name is a problem (a misspelt `attachment` would otherwise be
silently ignored by a reviewer's platform). Then the references the schema leaves to
prose: participant, conversation and event ids are unique, and every id an event or a
conversation names is defined. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

VERSION = "2.0.0"
EVENT_TYPES = ("message", "disclaimer", "join", "leave", "history", "unknown")


@dataclass(frozen=True, kw_only=True)
class Field:
    """What the schema says of one key: its JSON type and the constraints on it."""

    kind: type
    required: bool = False
    min_length: int = 0
    choices: tuple[str, ...] = ()
    moment: bool = False  # "format": "date-time"
    items: Field | Mapping[str, Field] | None = None  # an array's items: a value or an object


_TEXT = Field(kind=str)
_ID = Field(kind=str, required=True, min_length=1)
_REFERENCE = Field(kind=str, min_length=1)
_MOMENT = Field(kind=str, moment=True)
_CUSTOM = Field(
    kind=list,
    items={
        "name": Field(kind=str, required=True, min_length=1),
        "value": Field(kind=str, required=True, min_length=1),
    },
)
PARTICIPANT: Mapping[str, Field] = {
    "id": _ID,
    "display": _TEXT,
    "email": _TEXT,
    "avatar": _TEXT,
    "account_id": _TEXT,
    "custom": _CUSTOM,
}
CONVERSATION: Mapping[str, Field] = {
    "id": _ID,
    "display": _TEXT,
    "platform": Field(kind=str, required=True, min_length=1),
    "type": Field(kind=str, choices=("direct", "channel")),
    "participants": Field(kind=list, required=True, items=_REFERENCE),
    "custodian": _TEXT,
    "custom": _CUSTOM,
    "icon": _TEXT,
}
EVENT: Mapping[str, Field] = {
    "id": _TEXT,
    "type": Field(kind=str, required=True, min_length=1, choices=EVENT_TYPES),
    "parent": _TEXT,
    "body": _TEXT,
    "participant": _TEXT,
    "conversation": _TEXT,
    "timestamp": _MOMENT,
    "deleted": Field(kind=bool),
    "importance": Field(kind=str, choices=("normal", "high")),
    "reactions": Field(
        kind=list,
        items={
            "value": Field(kind=str, required=True, min_length=1),
            "count": Field(kind=int),
            "participants": Field(kind=list, items=_REFERENCE),
        },
    ),
    "attachments": Field(
        kind=list,
        items={"id": _ID, "display": _TEXT, "size": Field(kind=int)},
    ),
    "edits": Field(
        kind=list,
        items={
            "participant": _ID,
            "timestamp": _MOMENT,
            "previous": _TEXT,
            "new": _TEXT,
        },
    ),
    "custom": _CUSTOM,
    "direction": Field(kind=str, choices=("incoming", "outgoing")),
    "read_receipts": Field(
        kind=list,
        items={
            "participant": _ID,
            "timestamp": _MOMENT,
            "action": Field(kind=str, choices=("read", "delivered")),
        },
    ),
}
MANIFEST: Mapping[str, Field] = {
    "version": Field(kind=str, required=True, min_length=5),
    "participants": Field(kind=list, required=True, items=PARTICIPANT),
    "conversations": Field(kind=list, required=True, items=CONVERSATION),
    "events": Field(kind=list, required=True, items=EVENT),
    "eventcollectionid": _TEXT,
}


def problems(manifest: Any) -> list[str]:
    """Every way `manifest` breaks the RSMF 2.0 rules, each naming where; none when valid."""
    found: list[str] = []
    _object(manifest, MANIFEST, "manifest", found)
    if found:
        return found  # the references are read only from a manifest of the right shape
    if manifest["version"] != VERSION:
        found.append(f"manifest.version: {manifest['version']!r} is not {VERSION!r}")
    return found + _references(manifest)


def _object(value: Any, shape: Mapping[str, Field], path: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        found.append(f"{path}: must be an object")
        return
    for key in value:
        if key not in shape:
            found.append(f"{path}.{key}: not a key of the RSMF {VERSION} schema")
    for key, field in shape.items():
        if key in value:
            _value(value[key], field, f"{path}.{key}", found)
        elif field.required:
            found.append(f"{path}.{key}: required")


def _value(value: Any, field: Field, path: str, found: list[str]) -> None:
    if not _is(value, field.kind):
        found.append(f"{path}: must be {_NAMES[field.kind]}, not {value!r}")
        return
    if isinstance(value, str):
        if len(value) < field.min_length:
            found.append(f"{path}: must not be empty")
        if field.choices and value not in field.choices:
            found.append(f"{path}: {value!r} is not one of {', '.join(field.choices)}")
        if field.moment and not _is_moment(value):
            found.append(f"{path}: {value!r} is not an ISO 8601 date and time")
    if isinstance(value, list) and field.items is not None:
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if isinstance(field.items, Field):
                _value(item, field.items, where, found)
            else:
                _object(item, field.items, where, found)


_NAMES = {str: "a string", int: "an integer", bool: "a boolean", list: "an array"}


def _is(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _is_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return "T" in text


def _references(manifest: dict[str, Any]) -> list[str]:
    """The rules the schema states only in prose: unique ids, and every id defined."""
    found: list[str] = []
    people = _unique(manifest["participants"], "participants", found)
    talks = _unique(manifest["conversations"], "conversations", found)
    for index, conversation in enumerate(manifest["conversations"]):
        path = f"conversations[{index}]"
        members = conversation["participants"]
        for place, person in enumerate(members):
            _defined(person, people, "participant", f"{path}.participants[{place}]", found)
        if "custodian" in conversation and conversation["custodian"] not in members:
            found.append(f"{path}.custodian: {conversation['custodian']!r} is not a participant")
    ids: dict[str, set[str]] = {}
    for index, event in enumerate(manifest["events"]):
        if "id" in event:
            seen = ids.setdefault(event.get("conversation", ""), set())
            if event["id"] in seen:
                found.append(f"events[{index}].id: {event['id']!r} is not unique")
            seen.add(event["id"])
    for index, event in enumerate(manifest["events"]):
        path = f"events[{index}]"
        _defined(event.get("participant"), people, "participant", f"{path}.participant", found)
        _defined(event.get("conversation"), talks, "conversation", f"{path}.conversation", found)
        siblings = ids.get(event.get("conversation", ""), set())
        _defined(event.get("parent"), siblings, "event", f"{path}.parent", found)
        for name in ("edits", "read_receipts"):
            for place, item in enumerate(event.get(name, ())):
                where = f"{path}.{name}[{place}].participant"
                _defined(item["participant"], people, "participant", where, found)
        for place, reaction in enumerate(event.get("reactions", ())):
            for who in reaction.get("participants", ()):
                where = f"{path}.reactions[{place}].participants"
                _defined(who, people, "participant", where, found)
    return found


def _unique(items: list[dict[str, Any]], path: str, found: list[str]) -> set[str]:
    ids: set[str] = set()
    for index, item in enumerate(items):
        if item["id"] in ids:
            found.append(f"{path}[{index}].id: {item['id']!r} is not unique")
        ids.add(item["id"])
    return ids


def _defined(value: str | None, known: set[str], what: str, path: str, found: list[str]) -> None:
    if value is not None and value not in known:
        found.append(f"{path}: {value!r} names no {what} of the manifest")
