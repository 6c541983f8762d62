"""Reading a request's query parameters, each refused with InvalidQuery (a 400) naming
it: unknown parameters, times that are not ISO 8601, flags other than true/false,
numbers out of range. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from archiver.core.errors import InvalidQuery
from archiver.core.fields import parse_timestamp

ALWAYS_ALLOWED = frozenset({"code"})  # the function key, when sent as a query parameter


def allowed(query: Mapping[str, str], names: set[str]) -> None:
    """Refuse a parameter that is not one of `names`."""
    unknown = sorted(set(query) - names - ALWAYS_ALLOWED)
    if unknown:
        expected = ", ".join(sorted(names)) or "none"
        raise InvalidQuery(f"unknown query parameter {unknown[0]!r} (expected: {expected})")


def moment(query: Mapping[str, str], name: str) -> datetime | None:
    """The time parameter `name`, or None when absent."""
    text = query.get(name)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise InvalidQuery(f"{name} {exc}, e.g. 2026-11-01T09:00:00Z") from exc


def flag(query: Mapping[str, str], name: str) -> bool:
    """The true/false parameter `name` (false when absent)."""
    text = query.get(name, "false").lower()
    if text not in ("true", "false"):
        raise InvalidQuery(f"{name} must be true or false, got {query[name]!r}")
    return text == "true"


def whole(query: Mapping[str, str], name: str, *, default: int, maximum: int) -> int:
    """The whole-number parameter `name`, from 1 to `maximum` (`default` when absent)."""
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise InvalidQuery(f"{name} must be a whole number from 1 to {maximum}, got {text!r}")
    return int(text)
