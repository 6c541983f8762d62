"""Transcripts written out: a JSON document, JSON Lines, or CSV for spreadsheets.

Each format is rendered as a stream of byte chunks from a stream of thread sections,
so an export never holds more than a chunk of text in memory.

- `json`: one document, `{"format", "exportedAt", "source", "versions", "since",
  "until", "threads": [{thread fields..., "messages": [...]}]}`.
- `jsonl`: one message entry per line, every line self-contained (it names its thread).
- `csv`: RFC 4180 (CRLF, quotes doubled, fields with separators quoted), UTF-8 with a
  byte order mark so that spreadsheets detect the encoding. A text cell that a
  spreadsheet would run as a formula (it starts with `= + - @`, a tab or a carriage
  return, or their full-width forms) is prefixed with `'`. Lone UTF-16 surrogates,
  which UTF-8 cannot hold, become U+FFFD.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from archiver.core.jsontext import dumps
from archiver.retrieval.transcript import FORMAT, THREAD_FIELDS

CHUNK_BYTES = 64 * 1024
LATEST_COLUMNS = (
    "threadId",
    "messageId",
    "composeTime",
    "editTime",
    "deleteTime",
    "senderId",
    "senderKind",
    "senderDisplayName",
    "type",
    "body",
    "metadata",
)
VERSION_COLUMNS = (*LATEST_COLUMNS[:2], "version", "action", *LATEST_COLUMNS[2:])
_FORMULA = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # and full-width = + - @
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Format(enum.StrEnum):
    """The export formats."""

    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"

    @property
    def content_type(self) -> str:
        """The media type of a file in this format."""
        return {
            Format.JSON: "application/json; charset=utf-8",
            Format.JSONL: "application/jsonl; charset=utf-8",
            Format.CSV: "text/csv; charset=utf-8; header=present",
        }[self]


@dataclass(frozen=True)
class Section:
    """One thread of a transcript: what is known of it, and its message entries."""

    thread: dict[str, Any]
    entries: AsyncIterator[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Heading:
    """What the whole transcript is: when, from where, which versions, which window."""

    exported_at: str
    source: str  # "archive" or "acs"
    all_versions: bool
    since: str | None = None
    until: str | None = None


async def render(
    form: Format, heading: Heading, sections: AsyncIterator[Section], *, bom: bool = True
) -> AsyncIterator[bytes]:
    """The transcript in `form`, as byte chunks of about CHUNK_BYTES."""
    buffer = _Buffer()
    if form is Format.JSON:
        parts = _json(heading, sections)
    elif form is Format.JSONL:
        parts = _jsonl(sections)
    else:
        parts = _csv(sections, all_versions=heading.all_versions, bom=bom)
    async for text in parts:
        if (chunk := buffer.add(text)) is not None:
            yield chunk
    if rest := buffer.rest():
        yield rest


async def _json(heading: Heading, sections: AsyncIterator[Section]) -> AsyncIterator[str]:
    head = {
        "format": FORMAT,
        "exportedAt": heading.exported_at,
        "source": heading.source,
        "versions": "all" if heading.all_versions else "latest",
        "since": heading.since,
        "until": heading.until,
    }
    yield dumps(head)[:-1] + ',"threads":['
    first_thread = True
    async for section in sections:
        thread = {name: section.thread.get(name) for name in THREAD_FIELDS}
        yield ("\n" if first_thread else ",\n") + dumps(thread)[:-1] + ',"messages":['
        first_thread = False
        first = True
        async for item in section.entries:
            yield ("\n" if first else ",\n") + dumps(item)
            first = False
        yield "]}"
    yield "]}\n"


async def _jsonl(sections: AsyncIterator[Section]) -> AsyncIterator[str]:
    async for section in sections:
        async for item in section.entries:
            yield dumps(item) + "\n"


async def _csv(
    sections: AsyncIterator[Section], *, all_versions: bool, bom: bool
) -> AsyncIterator[str]:
    columns = VERSION_COLUMNS if all_versions else LATEST_COLUMNS
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    yield ("\ufeff" if bom else "") + line.getvalue()
    async for section in sections:
        async for item in section.entries:
            line.seek(0)
            line.truncate()
            writer.writerow([_cell(item.get(column)) for column in columns])
            yield line.getvalue()


def _cell(value: Any) -> str | int:
    """A CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return "'" + text if text.startswith(_FORMULA) else text


class _Buffer:
    """Text gathered into UTF-8 chunks of about CHUNK_BYTES."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, text: str) -> bytes | None:
        encoded = text.encode("utf-8")
        self._parts.append(encoded)
        self._size += len(encoded)
        if self._size < CHUNK_BYTES:
            return None
        return self.rest()

    def rest(self) -> bytes:
        chunk = b"".join(self._parts)
        self._parts, self._size = [], 0
        return chunk
