"""What the Azure AI Search stand-in (tests/aisearch_standin.py) understands of a query,
written from Microsoft's references: the simple query syntax ("Simple query syntax in
Azure AI Search") and OData `$filter` and `$orderby` ("OData language overview",
"OData comparison operators"), each the subset the archiver's adapter sends.

Text is tokenized as the standard Lucene analyzer does it for these specs: runs of word
characters, lower-cased (no stemming, no stop words, no UAX #29 subtleties such as
apostrophes inside words).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TOKEN = re.compile(r"\w+")
_SIMPLE = re.compile(r'\s*(?:(-)|(\()|(\))|"((?:[^"\\]|\\.)*)"|((?:[^\s"()\\]|\\.)+))')
_ODATA = re.compile(
    r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|"
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d))|"
    r"(-?\d+(?:\.\d+)?)|([A-Za-z_][\w.]*(?:\(\))?))"
)
COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


class Refused(ValueError):
    """A query the service would answer with 400 Bad Request."""


def tokens(text: str | None) -> list[str]:
    return [token.lower() for token in TOKEN.findall(text or "")]


# --- the simple query syntax --------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One part of a query: a phrase (one token for a word), or a group of clauses."""

    words: tuple[str, ...] = ()
    prefix: bool = False
    negated: bool = False
    group: tuple[Clause, ...] = ()

    def matches(self, found: list[str]) -> bool:
        if self.group:
            return all(c.matches(found) != c.negated for c in self.group)
        return count(self, found) > 0


def parse_simple(text: str) -> list[Clause]:
    """The clauses of a simple-syntax query (searchMode all: every clause must hold)."""
    clauses, _rest = _clauses(text, 0, nested=False)
    return clauses


def _clauses(text: str, at: int, *, nested: bool) -> tuple[list[Clause], int]:
    found: list[Clause] = []
    negated = False
    while at < len(text):
        match = _SIMPLE.match(text, at)
        if match is None or match.end() == at:
            break
        at = match.end()
        minus, opening, closing, phrase, word = match.groups()
        if minus:
            negated = True
        elif opening:
            inner, at = _clauses(text, at, nested=True)
            found.append(Clause(group=tuple(inner), negated=negated))
            negated = False
        elif closing:
            if nested:
                return found, at
        else:
            raw = re.sub(r"\\(.)", r"\1", phrase if phrase is not None else word)
            prefix = phrase is None and raw.endswith("*")
            words = tuple(tokens(raw))
            if words:
                found.append(Clause(words=words, prefix=prefix, negated=negated))
            negated = False
    return found, at


def count(clause: Clause, found: list[str]) -> int:
    """How many times a phrase occurs in the tokens (its last word maybe a prefix)."""
    size = len(clause.words)
    hits = 0
    for start in range(len(found) - size + 1):
        window = found[start : start + size]
        exact = window[:-1] == list(clause.words[:-1])
        last = (
            window[-1].startswith(clause.words[-1])
            if clause.prefix
            else (window[-1] == clause.words[-1])
        )
        hits += exact and last
    return hits


def score(clauses: list[Clause], found: list[str]) -> float:
    """A simple tf score: occurrences of the wanted clauses over the square root of the
    field's length."""
    wanted = [c for c in _flat(clauses) if not c.negated]
    occurrences = sum(count(c, found) for c in wanted)
    return occurrences / math.sqrt(max(len(found), 1))


def highlighted(clauses: list[Clause], text: str, pre: str, post: str) -> str | None:
    """The text with each token of a wanted clause between the tags (None: none there)."""
    wanted = {w for c in _flat(clauses) if not c.negated for w in c.words}
    prefixes = {c.words[-1] for c in _flat(clauses) if not c.negated and c.prefix}
    marked = False

    def mark(match: re.Match[str]) -> str:
        nonlocal marked
        token = match.group(0).lower()
        if token in wanted or any(token.startswith(p) for p in prefixes):
            marked = True
            return f"{pre}{match.group(0)}{post}"
        return match.group(0)

    result = TOKEN.sub(mark, text)
    return result if marked else None


def _flat(clauses: list[Clause] | tuple[Clause, ...]) -> list[Clause]:
    flat: list[Clause] = []
    for clause in clauses:
        if clause.group:
            flat += [c for c in _flat(clause.group) if not clause.negated]
        else:
            flat.append(clause)
    return flat


# --- OData $filter and $orderby ----------------------------------------------------


Predicate = Callable[[dict[str, Any]], bool]


def parse_filter(text: str, fields: dict[str, dict[str, Any]]) -> Predicate:
    """A predicate over documents; raise Refused as the service answers 400."""
    parsed = _Filter(_odata_tokens(text), fields)
    predicate = parsed.disjunction()
    if parsed.at != len(parsed.tokens):
        raise Refused(f"Invalid expression: syntax error at position {parsed.at} in '{text}'.")
    return predicate


def _odata_tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    at = 0
    while at < len(text.rstrip()):
        match = _ODATA.match(text, at)
        if match is None:
            raise Refused(f"Invalid expression: syntax error at position {at} in '{text}'.")
        at = match.end()
        opening, closing, string, moment, number, name = match.groups()
        if opening or closing:
            found.append(("(" if opening else ")", None))
        elif string is not None:
            found.append(("value", string.replace("''", "'")))
        elif moment is not None:
            found.append(("value", datetime.fromisoformat(moment)))
        elif number is not None:
            found.append(("value", float(number) if "." in number else int(number)))
        elif name in ("true", "false"):
            found.append(("value", name == "true"))
        elif name == "null":
            found.append(("value", None))
        else:
            found.append(("name", name))
    return found


class _Filter:
    def __init__(self, found: list[tuple[str, Any]], fields: dict[str, dict[str, Any]]):
        self.tokens, self.fields, self.at = found, fields, 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", None)

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        self.at += 1
        return token

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == ("name", "or"):
            self.take()
            parts.append(self.conjunction())
        return lambda doc: any(p(doc) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek() == ("name", "and"):
            self.take()
            parts.append(self.unary())
        return lambda doc: all(p(doc) for p in parts)

    def unary(self) -> Predicate:
        kind, value = self.take()
        if (kind, value) == ("name", "not"):
            inner = self.unary()
            return lambda doc: not inner(doc)
        if kind == "(":
            inner = self.disjunction()
            if self.take()[0] != ")":
                raise Refused("Invalid expression: ')' or operator expected.")
            return inner
        if kind != "name" or value not in self.fields:
            raise Refused(f"Invalid expression: Could not find a property named '{value}'.")
        field = self.fields[value]
        if not field.get("filterable"):
            raise Refused(
                f"Invalid expression: '{value}' is not a filterable field. Only filterable "
                "fields can be used in filter expressions."
            )
        operator = self.take()
        literal_kind, literal = self.take()
        if operator[0] != "name" or operator[1] not in COMPARISONS or literal_kind != "value":
            raise Refused(f"Invalid expression: a comparison of '{value}' was expected.")
        _check_type(value, field["type"], literal)
        compare = COMPARISONS[operator[1]]
        if field["type"] == "Edm.DateTimeOffset":
            return lambda doc: compare(_moment(doc.get(value)), literal)
        return lambda doc: compare(doc.get(value), literal)


def _check_type(name: str, kind: str, literal: Any) -> None:
    kinds: dict[str, type | tuple[type, ...]] = {
        "Edm.String": str, "Edm.Boolean": bool, "Edm.DateTimeOffset": datetime,
        "Edm.Int64": int, "Edm.Int32": int, "Edm.Double": (int, float),
    }  # fmt: skip
    expected = kinds.get(kind)
    if literal is not None and expected is not None and not isinstance(literal, expected):
        raise Refused(
            f"Invalid expression: A binary operator with incompatible types was detected. "
            f"Found operand types '{kind}' and '{type(literal).__name__}' for field '{name}'."
        )


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def order(
    results: list[tuple[float, dict[str, Any]]], orderby: str, fields: dict[str, dict[str, Any]]
) -> list[tuple[float, dict[str, Any]]]:
    """Results sorted by a `$orderby` list of `field [asc|desc]` and `search.score()`."""
    keys = []
    for part in [p.strip() for p in orderby.split(",") if p.strip()]:
        words = part.split()
        name, direction = words[0], (words[1] if len(words) > 1 else "asc")
        if name != "search.score()" and not fields.get(name, {}).get("sortable"):
            raise Refused(f"Invalid expression: '{name}' is not a sortable field.")
        keys.append((name, direction == "desc"))
    for name, descending in reversed(keys):

        def value(entry: tuple[float, dict[str, Any]], name: str = name) -> tuple[bool, Any]:
            found = entry[0] if name == "search.score()" else entry[1].get(name)
            return (found is not None, found)

        results = sorted(results, key=value, reverse=descending)
    return results
