"""What a search asks, checked: the words, the filters, which versions, how many.

The query language is small and the same for every index: words (all must match),
"quoted phrases", prefix* terms and -excluded words or phrases. It is parsed here into
terms, so neither SQLite FTS5's nor Azure AI Search's own syntax is ever exposed: a
query cannot fail inside an index, and an index cannot be asked anything else. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from archiver.core.errors import InvalidQuery

MAX_QUERY_CHARACTERS = 500
MAX_TERMS = 32
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
_TERM = re.compile(r'(-?)(?:"([^"]*)"|(\S+))')
_WORD = re.compile(r"[^\W_]+")  # as the indexes tokenize: letters and digits


class Versions(StrEnum):
    """Which versions of each message are searched."""

    LATEST = "latest"  # each message's current text
    ALL = "all"  # every version: edited-away text too


@dataclass(frozen=True)
class Term:
    """One part of a query: a phrase of words (one word for a word), maybe a prefix of
    its last word, maybe excluded."""

    words: tuple[str, ...]
    prefix: bool = False
    excluded: bool = False


@dataclass(frozen=True, kw_only=True)
class Query:
    """A checked search."""

    text: str
    terms: tuple[Term, ...]
    thread_id: str | None = None
    participant: str | None = None  # the sender: an id, or a display name (any case)
    since: datetime | None = None
    until: datetime | None = None
    versions: Versions = Versions.LATEST
    include_deleted: bool = False
    limit: int = DEFAULT_LIMIT

    def admits(self, *, current: bool, deleted: bool) -> bool:
        """Whether a document of this standing may be a hit of this query."""
        return (self.versions == Versions.ALL or current) and (self.include_deleted or not deleted)


def query_of(
    text: str,
    *,
    thread_id: str | None = None,
    participant: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    versions: str = Versions.LATEST,
    include_deleted: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> Query:
    """The query `text` asks with these filters; raise InvalidQuery saying what is wrong."""
    if len(text) > MAX_QUERY_CHARACTERS:
        raise InvalidQuery(f"a query has at most {MAX_QUERY_CHARACTERS} characters")
    if versions not in set(Versions):
        raise InvalidQuery(f"versions is one of {', '.join(Versions)}, not {versions!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit is between 1 and {MAX_LIMIT}")
    if since is not None and until is not None and since >= until:
        raise InvalidQuery("since must be before until")
    for name, value in (("thread", thread_id), ("participant", participant)):
        if value is not None and not value.strip():
            raise InvalidQuery(f"{name} is empty")
    terms = tuple(_terms(text))
    if not any(not term.excluded for term in terms):
        raise InvalidQuery("a query needs at least one word to find (not only -excluded ones)")
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"a query has at most {MAX_TERMS} terms")
    return Query(
        text=text,
        terms=terms,
        thread_id=thread_id,
        participant=participant,
        since=since,
        until=until,
        versions=Versions(versions),
        include_deleted=include_deleted,
        limit=limit,
    )


def _terms(text: str) -> list[Term]:
    terms = []
    for found in _TERM.finditer(text):
        excluded, phrase, word = found.group(1) == "-", found.group(2), found.group(3)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        words = tuple(w.lower() for w in _WORD.findall(raw))
        if words:
            terms.append(Term(words, prefix=prefix, excluded=excluded))
    return terms
