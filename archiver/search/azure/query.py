"""A checked Query as Azure AI Search is asked it: search text in the simple query
syntax, and an OData `$filter`.

Every word is quoted (a phrase's words in one quoted string), a prefix is its word and
`*`, an exclusion is `-` before its term: with searchMode `all` that is AND NOT. The
words come from archiver.core.search.queries (letters and digits only), and are escaped
all the same, so nothing a user typed is read as the simple (or Lucene) syntax. Filter
values are OData literals: strings in single quotes with each quote doubled, times in
UTC. A prefix after other words (`e-mail*`) finds its words in any order, the last as a
prefix: the simple syntax has no prefix inside a phrase. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from archiver.core.search.queries import Query, Term, Versions

_SPECIAL = re.compile(r'([+|\-"*()\\~?:^/\[\]{}!&<>=])')  # simple syntax, and Lucene's


def search_text(terms: Sequence[Term]) -> str:
    """The simple-syntax text of the terms: every term required, exclusions negated."""
    return " ".join(("-" if term.excluded else "") + _clause(term) for term in terms)


def odata_filter(query: Query) -> str | None:
    """The `$filter` of the query's standing and filters (None: no filter)."""
    clauses = []
    if query.versions == Versions.LATEST:
        clauses.append("current eq true")
    if not query.include_deleted:
        clauses.append("deleted ne true")  # ne also admits a document not yet restood
    if query.thread_id is not None:
        clauses.append(f"threadId eq {literal(query.thread_id)}")
    if query.participant is not None:
        clauses.append(
            f"(senderId eq {literal(query.participant)} or "
            f"senderNameLower eq {literal(query.participant.lower())})"
        )
    if query.since is not None:
        clauses.append(f"time ge {moment(query.since)}")
    if query.until is not None:
        clauses.append(f"time lt {moment(query.until)}")
    return " and ".join(clauses) or None


def literal(text: str) -> str:
    """An OData string literal: in single quotes, each quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def moment(value: datetime) -> str:
    """An OData DateTimeOffset literal, in UTC to the millisecond."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clause(term: Term) -> str:
    if not term.prefix:
        return _quoted(term.words)
    last = _SPECIAL.sub(r"\\\1", term.words[-1]) + "*"
    if len(term.words) == 1:
        return last
    return f"({_quoted(term.words[:-1])} {last})"


def _quoted(words: Sequence[str]) -> str:
    inner = " ".join(words).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{inner}"'
