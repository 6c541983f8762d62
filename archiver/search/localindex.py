"""The local index: one SQLite file with an FTS5 table over the documents' text.

The standard library's sqlite3 (FTS5 is built in), so `archiver index` and `archiver
search` work on a laptop with nothing else installed. Documents live in an ordinary
table keyed by blob name; an external-content FTS5 table indexes their text, kept in
step by triggers; bm25 ranks, `snippet` cuts the excerpt. Queries are built from the
parsed terms (archiver.core.search.queries) with every word quoted, so no user text is
FTS5 syntax. SQLite calls run in one worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.core.errors import ConfigurationError
from archiver.core.search.citations import Hit
from archiver.core.search.documents import SearchDocument, Standing
from archiver.core.search.queries import Query, Term

SCHEMA_VERSION = "1"
MARK = ("«", "»")
_COLUMNS = (
    "name, sha256, size, thread_id, thread_key, message_id, message_key, version, action, "
    "time_ms, sender_id, sender_name, sender_kind, text, current, deleted"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL,
  size INTEGER NOT NULL, thread_id TEXT NOT NULL, thread_key TEXT NOT NULL,
  message_id TEXT NOT NULL, message_key TEXT NOT NULL, version INTEGER NOT NULL,
  action TEXT NOT NULL, time_ms INTEGER, sender_id TEXT, sender_name TEXT,
  sender_kind TEXT NOT NULL, text TEXT NOT NULL, current INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS documents_thread ON documents(thread_key);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(
  text, content='documents', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS documents_added AFTER INSERT ON documents BEGIN
  INSERT INTO texts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER IF NOT EXISTS documents_removed AFTER DELETE ON documents BEGIN
  INSERT INTO texts(texts, rowid, text) VALUES ('delete', old.id, old.text); END;
CREATE TRIGGER IF NOT EXISTS documents_rewritten AFTER UPDATE OF text ON documents BEGIN
  INSERT INTO texts(texts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO texts(rowid, text) VALUES (new.id, new.text); END;
"""


class LocalIndex:
    """A SearchIndex in one SQLite file at `path`, made for the archive `origin` (an
    index file of another archive is refused, not mixed)."""

    def __init__(self, path: Path, *, origin: str) -> None:
        self._path = path
        self._origin = origin
        self._connection: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        # One thread holds the connection: SQLite connections are not shared across threads.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-index")

    async def prepare(self) -> None:
        await self._run(self._prepare)

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        rows = [_row(d) for d in documents]
        marks = ", ".join("?" * len(_COLUMNS.split(", ")))
        sql = (
            f"INSERT INTO documents({_COLUMNS}) VALUES ({marks}) ON CONFLICT(name) DO UPDATE "
            "SET sha256 = excluded.sha256, size = excluded.size, text = excluded.text"
        )
        await self._run(lambda db: db.executemany(sql, rows))

    async def restand(self, messages: Sequence[tuple[Collection[str], Standing]]) -> None:
        rows = [
            (name == standing.current, standing.deleted, name)
            for names, standing in messages
            for name in names
        ]
        sql = "UPDATE documents SET current = ?, deleted = ? WHERE name = ?"
        await self._run(lambda db: db.executemany(sql, rows))

    async def forget_threads(self, thread_keys: Collection[str]) -> None:
        rows = [(key,) for key in thread_keys]
        await self._run(
            lambda db: db.executemany("DELETE FROM documents WHERE thread_key = ?", rows)
        )

    async def forget(self, names: Collection[str]) -> None:
        rows = [(name,) for name in names]
        await self._run(lambda db: db.executemany("DELETE FROM documents WHERE name = ?", rows))

    async def known(self) -> set[str]:
        found = await self._run(lambda db: db.execute("SELECT name FROM documents").fetchall())
        return {name for (name,) in found}

    async def mark(self, name: str) -> str | None:
        sql = "SELECT value FROM meta WHERE key = ?"
        found = await self._run(lambda db: db.execute(sql, (f"mark:{name}",)).fetchone())
        return None if found is None else str(found[0])

    async def set_mark(self, name: str, value: str) -> None:
        sql = "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?"
        await self._run(lambda db: db.execute(sql, (f"mark:{name}", value, value)))

    async def search(self, query: Query) -> list[Hit]:
        sql, parameters = _select(query)
        found = await self._run(lambda db: db.execute(sql, parameters).fetchall())
        return [_hit(row) for row in found]

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await asyncio.get_running_loop().run_in_executor(self._thread, connection.close)
        self._thread.shutdown(wait=False)

    async def _run(self, work: Any) -> Any:
        async with self._lock:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._within, work
            )

    def _within(self, work: Any) -> Any:
        if self._connection is None:
            self._connection = sqlite3.connect(self._path, check_same_thread=False)
        with self._connection as db:  # one transaction: all of it, or none
            return work(db)

    def _prepare(self, db: sqlite3.Connection) -> None:
        # A write-ahead log, synced at checkpoints: a crash loses at most the last steps,
        # which the next update reads again (it is derived data).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(_SCHEMA)
        for key, value in (("schema", SCHEMA_VERSION), ("origin", self._origin)):
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value))
            (held,) = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if held != value:
                raise ConfigurationError(
                    f"{self._path} is an index of {key} {held!r}, not {value!r}: "
                    "give another --index file"
                )


def _row(document: SearchDocument) -> tuple[Any, ...]:
    d = document
    time_ms = None if d.time is None else int(d.time.timestamp() * 1000)
    return (
        d.name, d.sha256, d.size, d.thread_id, d.thread_key, d.message_id, d.message_key,
        d.version, d.action, time_ms, d.sender_id, d.sender_name, d.sender_kind, d.text,
        d.current, d.deleted,
    )  # fmt: skip


def _select(query: Query) -> tuple[str, list[Any]]:
    where = ["texts MATCH ?"]
    parameters: list[Any] = [_match(query.terms)]
    if query.versions == "latest":
        where.append("d.current = 1")
    if not query.include_deleted:
        where.append("d.deleted = 0")
    if query.thread_id is not None:
        where.append("d.thread_id = ?")
        parameters.append(query.thread_id)
    if query.participant is not None:
        where.append("(d.sender_id = ? OR lower(d.sender_name) = lower(?))")
        parameters += [query.participant, query.participant]
    for moment, comparison in ((query.since, ">="), (query.until, "<")):
        if moment is not None:
            where.append(f"d.time_ms {comparison} ?")
            parameters.append(int(moment.timestamp() * 1000))
    columns = ", ".join(f"d.{c}" for c in _COLUMNS.split(", "))
    sql = (
        f"SELECT {columns}, bm25(texts), snippet(texts, 0, '{MARK[0]}', '{MARK[1]}', '…', 16) "
        f"FROM texts JOIN documents d ON d.id = texts.rowid WHERE {' AND '.join(where)} "
        "ORDER BY bm25(texts), d.name LIMIT ?"
    )
    return sql, [*parameters, query.limit]


def _match(terms: Sequence[Term]) -> str:
    """The FTS5 expression of the terms: every word a quoted string, so nothing a user
    typed is read as FTS5 syntax."""
    wanted = [_phrase(t) for t in terms if not t.excluded]
    unwanted = [_phrase(t) for t in terms if t.excluded]
    expression = " AND ".join(wanted)
    return expression + "".join(f" NOT {phrase}" for phrase in unwanted)


def _phrase(term: Term) -> str:
    """An FTS5 phrase: quoted words joined by `+` (in sequence), `*` after a prefix."""
    quoted = " + ".join('"' + word.replace('"', '""') + '"' for word in term.words)
    return f"({quoted}{' *' if term.prefix else ''})"


def _hit(row: Sequence[Any]) -> Hit:
    (name, sha256, size, thread_id, thread_key, message_id, message_key, version, action,
     time_ms, sender_id, sender_name, sender_kind, text, current, deleted, score,
     snippet) = row  # fmt: skip
    moment = None if time_ms is None else datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    document = SearchDocument(
        name=name, sha256=sha256, size=size, thread_id=thread_id, thread_key=thread_key,
        message_id=message_id, message_key=message_key, version=version, action=action,
        time=moment, sender_id=sender_id, sender_name=sender_name, sender_kind=sender_kind,
        text=text, current=bool(current), deleted=bool(deleted),
    )  # fmt: skip
    return Hit(document=document, snippet=snippet, score=-float(score))
