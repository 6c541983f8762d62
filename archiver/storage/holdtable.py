"""The `ChatHolds` table over the async Table SDK: one row per thread, ETag-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from archiver.core.holds import HoldRow
from archiver.storage.ports import KnownHold
from archiver.storage.tables import inserted, replaced
from archiver.storage.translation import etag_of, translated

HOLD_ROW_KEY = ""  # one row per thread: the partition is the thread
_TEXT = ("reason", "case", "placed_by", "released_by", "release_reason")
_TIMES = ("placed_at", "released_at", "disposing_since", "disposed_at")


class AzureHoldTable:
    """The hold table, written with inserts and ETag-checked replaces."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def get(self, thread_key: str) -> KnownHold | None:
        """Return the row and its ETag, or None when there is no row."""
        with translated(f"reading hold row {thread_key}"):
            try:
                entity = await self._table.get_entity(thread_key, HOLD_ROW_KEY)
            except ResourceNotFoundError:
                return None
        return KnownHold(from_hold_entity(entity), etag_of(entity.metadata))

    async def insert(self, row: HoldRow) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        return await inserted(self._table, to_hold_entity(row), f"hold row {row.thread_key}")

    async def replace(self, row: HoldRow, *, etag: str) -> str:
        """Replace the row if it still has `etag`; raise ConcurrentUpdate otherwise."""
        return await replaced(self._table, to_hold_entity(row), etag, f"hold row {row.thread_key}")

    async def scan(self) -> AsyncIterator[HoldRow]:
        """Yield every row, in key order."""
        with translated("listing hold rows"):
            try:
                async for entity in self._table.list_entities():
                    yield from_hold_entity(entity)
            except ResourceNotFoundError:
                return


def to_hold_entity(row: HoldRow) -> dict[str, Any]:
    """The entity the Azure SDK writes for a hold row (camelCase, as users query it)."""
    entity: dict[str, Any] = {
        "PartitionKey": row.thread_key,
        "RowKey": HOLD_ROW_KEY,
        "threadId": row.thread_id,
        "held": row.held,
    }
    for name in (*_TEXT, *_TIMES):
        value = getattr(row, name)
        if value is not None:
            entity[_camel(name)] = value
    return entity


def from_hold_entity(entity: Any) -> HoldRow:
    """The hold row an entity holds."""
    values: dict[str, Any] = {}
    for name in _TEXT:
        value = entity.get(_camel(name))
        values[name] = value if isinstance(value, str) else None
    for name in _TIMES:
        value = entity.get(_camel(name))
        values[name] = value if isinstance(value, datetime) else None
    return HoldRow(
        thread_key=entity["PartitionKey"],
        thread_id=entity.get("threadId") or entity["PartitionKey"],
        held=entity.get("held") is True,
        **values,
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
