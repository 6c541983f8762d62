"""What an RSMF file says of where it came from, as custom properties of its conversation.

Two kinds, both text as RSMF custom values are: the seal that covered the thread when
it was exported (`seal.seal`, `seal.sealSha256`, `seal.rootHash`, ...: the evidence a
JSON transcript carries), and the file's scope within its export (`export.since` and
`export.until`, the window; `export.day`, the UTC day of a file of `--slice day`;
`export.part` and `export.partSize`, which of several files a day or thread needed,
and how many events each holds), each only when it applies. The scope is what lets a
file be proved complete: it names exactly which events of the thread the file holds.
Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from archiver.core.errors import InvalidQuery
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.retrieval.rsmf.manifest import MAX_EVENTS
from archiver.storage.ports import Window

SEAL = "seal."
EXPORT = "export."


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which events of a thread one file holds: a window, a day of it, a part of that."""

    window: Window = Window()
    day: date | None = None  # --slice day
    part: int | None = None  # 1, 2, ... when the day (or the whole) needed several files
    part_size: int = MAX_EVENTS


def seal_pairs(evidence: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """A seal's evidence as RSMF custom name/value pairs (none for no seal)."""
    return tuple((f"{SEAL}{name}", str(value)) for name, value in (evidence or {}).items())


def scope_pairs(scope: Scope) -> tuple[tuple[str, str], ...]:
    """A file's scope as RSMF custom name/value pairs (none for a whole thread's file)."""
    pairs = []
    for name, value in (
        ("since", format_timestamp(scope.window.since)),
        ("until", format_timestamp(scope.window.until)),
        ("day", scope.day.isoformat() if scope.day else None),
        ("part", str(scope.part) if scope.part else None),
        ("partSize", str(scope.part_size) if scope.part else None),
    ):
        if value is not None:
            pairs.append((f"{EXPORT}{name}", value))
    return tuple(pairs)


def evidence_of(properties: Sequence[Any]) -> dict[str, Any] | None:
    """The seal evidence a conversation's custom properties carry (None: none)."""
    carried: dict[str, Any] = dict(_named(properties, SEAL))
    if str(carried.get("treeSize", "")).isdigit():
        carried["treeSize"] = int(carried["treeSize"])
    return carried or None


def scope_of(properties: Sequence[Any]) -> Scope:
    """The scope a conversation's custom properties name; raise InvalidQuery when it is
    not one an export writes."""
    named = dict(_named(properties, EXPORT))
    try:
        since, until = (
            parse_timestamp(named[key]) if key in named else None for key in ("since", "until")
        )
        day = date.fromisoformat(named["day"]) if "day" in named else None
        part = _count(named["part"]) if "part" in named else None
        size = _count(named["partSize"]) if "partSize" in named else MAX_EVENTS
    except ValueError as exc:
        raise InvalidQuery(f"not an RSMF file of this archiver: its export scope ({exc})") from None
    unknown = set(named) - {"since", "until", "day", "part", "partSize"}
    if unknown or ("partSize" in named) != (part is not None):
        raise InvalidQuery(f"not an RSMF file of this archiver: its export scope {named}")
    return Scope(window=Window(since=since, until=until), day=day, part=part, part_size=size)


def within(time: Any, window: Window) -> bool:
    """True when a thread change timed `time` happened in `window` (untimed: only when
    the window is open)."""
    if window.since is None and window.until is None:
        return True
    if not isinstance(time, str):
        return False
    moment = datetime.fromisoformat(time)
    after = window.since is None or moment >= window.since
    return after and (window.until is None or moment < window.until)


def _named(properties: Sequence[Any], prefix: str) -> list[tuple[str, Any]]:
    return [
        (str(item["name"])[len(prefix) :], item.get("value"))
        for item in properties
        if isinstance(item, dict) and str(item.get("name", "")).startswith(prefix)
    ]


def _count(text: Any) -> int:
    if not isinstance(text, str) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} is not a count")
    return int(text)
