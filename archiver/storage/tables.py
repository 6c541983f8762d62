"""The `ChatMessages` and `ChatThreads` tables over the async Table SDK.

Rows are written with inserts and ETag-conditional replaces only; a lost race is a
ConcurrentUpdate for the archive to resolve by reading and deciding again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from archiver.core.errors import ConcurrentUpdate, InvalidQuery, RowConflict
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow
from archiver.core.transactions import RowWrite, check
from archiver.storage.entities import (
    THREAD_ROW_KEY,
    from_entity,
    from_thread_entity,
    stamp_of,
    to_entity,
    to_thread_entity,
)
from archiver.storage.ports import Current, Known, Page, Window
from archiver.storage.translation import describe, etag_of, translated

_ROW_STAMP = ["version", "action"]
# Exists (insert), precondition failed (replace), not found (replace of a deleted row).
_LOST_RACE = frozenset({404, 409, 412})


class AzureMessageTable:
    """The latest-message table, written with inserts and ETag-checked replaces."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def current(self, thread_key: str, message_key: str) -> Current | None:
        """Return the row's stamp and ETag, or None when there is no row."""
        entity = await self._entity(thread_key, message_key, select=_ROW_STAMP)
        if entity is None:
            return None
        return Current(stamp_of(entity), entity.metadata["etag"])

    async def insert(self, row: LatestRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        return await inserted(
            self._table, to_entity(row), f"row {row.thread_key}/{row.message_key}"
        )

    async def replace(self, row: LatestRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""
        what = f"row {row.thread_key}/{row.message_key}"
        return await replaced(self._table, to_entity(row), etag, what)

    async def transact(self, writes: Sequence[RowWrite]) -> list[str]:
        """Apply `writes` as one entity-group transaction; RowConflict names the first
        write that lost a race (the service then wrote nothing)."""
        check(writes)
        operations: list[Any] = [
            ("create", to_entity(w.row))
            if w.etag is None
            else (
                "update",
                to_entity(w.row),
                {
                    "mode": UpdateMode.REPLACE,
                    "etag": w.etag,
                    "match_condition": MatchConditions.IfNotModified,
                },
            )
            for w in writes
        ]
        what = f"a transaction of {len(writes)} rows of {writes[0].row.thread_key}"
        with translated(what):
            try:
                answers = await self._table.submit_transaction(operations)
            except TableTransactionError as exc:
                if exc.status_code not in _LOST_RACE:
                    raise
                index = exc.index if 0 <= exc.index < len(writes) else 0
                lost = writes[index].row
                raise RowConflict(
                    f"{what} was refused: row {lost.message_key} {describe(exc)}", index=index
                ) from exc
        return [etag_of(answer) for answer in answers]

    async def get(self, thread_key: str, message_key: str) -> LatestRow | None:
        """Return the whole row, or None."""
        entity = await self._entity(thread_key, message_key)
        return None if entity is None else from_entity(entity)

    async def delete(self, thread_key: str, message_key: str, *, etag: str | None = None) -> None:
        """Delete a row (one already gone is fine); with `etag`, only if it still has it."""
        what = f"row {thread_key}/{message_key}"
        await deleted(self._table, thread_key, message_key, what, etag=etag)

    async def scan(self, thread_key: str | None = None) -> AsyncIterator[LatestRow]:
        """Yield every row, or one thread's, in key order."""
        with translated("listing rows"):
            try:
                if thread_key is None:
                    pages = self._table.list_entities()
                else:
                    pages = self._table.query_entities(
                        "PartitionKey eq @thread", parameters={"thread": thread_key}
                    )
                async for entity in pages:
                    yield from_entity(entity)
            except ResourceNotFoundError:
                return  # no table yet: nothing was archived

    async def page(
        self, thread_key: str, window: Window, *, size: int, token: str | None = None
    ) -> Page:
        """At most `size` of a thread's rows in `window`, from where `token` left off;
        the window is a server-side filter, so rows outside it are never sent."""
        clauses, parameters = ["PartitionKey eq @thread"], {"thread": thread_key}
        if window.since is not None:
            clauses.append("composeTime ge @since")
            parameters["since"] = window.since  # type: ignore[assignment]
        if window.until is not None:
            clauses.append("composeTime lt @until")
            parameters["until"] = window.until  # type: ignore[assignment]
        if not window.include_deleted:
            clauses.append("action ne 'deleted'")
        resume = _continuation(token)
        with translated(f"listing rows of {thread_key}"):
            try:
                pager = self._table.query_entities(
                    " and ".join(clauses), parameters=parameters, results_per_page=size
                ).by_page(continuation_token=resume)
                rows: list[LatestRow] = []
                async for page in pager:
                    rows = [from_entity(entity) async for entity in page]
                    break
            except ResourceNotFoundError:
                return Page((), None)
        following = pager.continuation_token  # type: ignore[attr-defined]
        return Page(tuple(rows), _token(following) if following else None)

    async def _entity(
        self, thread_key: str, message_key: str, select: list[str] | None = None
    ) -> Any:
        with translated(f"reading row {thread_key}/{message_key}"):
            try:
                return await self._table.get_entity(thread_key, message_key, select=select)
            except ResourceNotFoundError:
                return None


async def deleted(
    table: TableClient, partition: str, row: str, what: str, *, etag: str | None = None
) -> None:
    """Delete an entity (one already gone is fine); with `etag`, only if it still has
    it (ConcurrentUpdate otherwise)."""
    condition: dict[str, Any] = (
        {} if etag is None else {"etag": etag, "match_condition": MatchConditions.IfNotModified}
    )
    with translated(f"deleting {what}"), contextlib.suppress(ResourceNotFoundError):
        await table.delete_entity(partition, row, **condition)


class AzureThreadTable:
    """The thread table, written with inserts and ETag-checked replaces."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def get(self, thread_key: str) -> Known | None:
        """Return the row and its ETag, or None when there is no row."""
        with translated(f"reading thread row {thread_key}"):
            try:
                entity = await self._table.get_entity(thread_key, THREAD_ROW_KEY)
            except ResourceNotFoundError:
                return None
        return Known(from_thread_entity(entity), etag_of(entity.metadata))

    async def insert(self, row: ThreadRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        return await inserted(self._table, to_thread_entity(row), f"thread row {row.thread_key}")

    async def replace(self, row: ThreadRow, *, etag: str) -> str:
        """Replace the row if it still has `etag` and return the new ETag; raise
        ConcurrentUpdate otherwise."""
        what = f"thread row {row.thread_key}"
        return await replaced(self._table, to_thread_entity(row), etag, what)

    async def delete(self, thread_key: str, *, etag: str | None = None) -> None:
        """Delete a thread's row (one already gone is fine); with `etag`, only if it
        still has it."""
        what = f"thread row {thread_key}"
        await deleted(self._table, thread_key, THREAD_ROW_KEY, what, etag=etag)

    async def scan(self) -> AsyncIterator[ThreadRow]:
        """Yield every thread row, in key order."""
        with translated("listing thread rows"):
            try:
                async for entity in self._table.list_entities():
                    yield from_thread_entity(entity)
            except ResourceNotFoundError:
                return  # no table yet: nothing was archived


async def inserted(table: TableClient, entity: dict[str, Any], what: str) -> str:
    """Create an entity and return its ETag; ConcurrentUpdate if it exists."""
    with translated(f"inserting {what}"):
        try:
            return etag_of(await table.create_entity(entity))
        except ResourceExistsError as exc:
            raise ConcurrentUpdate(f"{what} already exists") from exc


async def replaced(table: TableClient, entity: dict[str, Any], etag: str, what: str) -> str:
    """Replace an entity if it still has `etag`; ConcurrentUpdate if it changed or went."""
    with translated(f"replacing {what}"):
        try:
            return etag_of(
                await table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            )
        except ResourceNotFoundError as exc:
            raise ConcurrentUpdate(f"{what} was deleted") from exc


def _token(continuation: Any) -> str:
    """The SDK's continuation (next partition and row keys) as an opaque string."""
    return base64.urlsafe_b64encode(json.dumps(continuation).encode()).decode()


def _continuation(token: str | None) -> Any:
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidQuery("continuationToken is not one this archive issued") from exc
    if not (
        isinstance(value, dict)
        and set(value) <= {"PartitionKey", "RowKey"}
        and all(isinstance(v, str) for v in value.values())
    ):
        raise InvalidQuery("continuationToken is not one this archive issued")
    return value
