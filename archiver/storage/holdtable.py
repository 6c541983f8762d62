"""The `ChatHolds` table over the async Table SDK, every write ETag-checked.

A hold row is `PartitionKey` = its scope's key (the thread's key, or `~participant:` and
the participant's key) and `RowKey` = its matter's key. A thread's own row is
`PartitionKey` = the thread's key and `RowKey` = "": the disposal claim, the flags, and
the hold an older archiver kept there (`held`, `reason`, `case`, ...: the legacy matter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import PARTICIPANT_SCOPE, Hold, Scope
from archiver.core.keys import decode_key
from archiver.storage.entities import THREAD_ROW_KEY
from archiver.storage.ports import KnownHold, KnownState
from archiver.storage.tables import deleted, inserted, replaced
from archiver.storage.translation import etag_of, translated

STATE_ROW_KEY = THREAD_ROW_KEY  # a thread's own row; a hold's RowKey is never empty
_HOLD_TEXT = ("reason", "placed_by", "released_by", "release_reason")
_HOLD_TIMES = ("placed_at", "released_at")
_STATE_TIMES = {
    "claimed_at": "disposingSince",
    "confirmed_at": "disposalConfirmedAt",
    "disposed_at": "disposedAt",
    "hold_changed_at": "holdChangedAt",
}
_STATE_TEXT = {"plan": "disposalPlan", "planned_etag": "plannedThreadEtag"}


class AzureHoldTable:
    """The hold table, written with inserts, ETag-checked replaces and deletes."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def get(self, scope_key: str, matter_key: str) -> KnownHold | None:
        """Return the hold row and its ETag, or None when there is none."""
        entity = await self._entity(scope_key, matter_key)
        if entity is None or matter_key == STATE_ROW_KEY:
            return None
        return KnownHold(from_hold_entity(entity), etag_of(entity.metadata))

    async def state(self, thread_key: str) -> KnownState | None:
        """Return the thread's own row and its ETag, or None when there is none."""
        entity = await self._entity(thread_key, STATE_ROW_KEY)
        return (
            None
            if entity is None
            else KnownState(from_state_entity(entity), etag_of(entity.metadata))
        )

    async def insert(self, row: Hold | ThreadState) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        return await inserted(self._table, to_entity(row), _what(row))

    async def replace(self, row: Hold | ThreadState, *, etag: str) -> str:
        """Replace the row if it still has `etag`; raise ConcurrentUpdate otherwise."""
        return await replaced(self._table, to_entity(row), etag, _what(row))

    async def delete(self, row: Hold, *, etag: str) -> None:
        """Delete the hold row if it still has `etag`; one already gone is fine."""
        await deleted(self._table, row.scope_key, row.matter_key, _what(row), etag=etag)

    async def scan(self, scope_key: str | None = None) -> AsyncIterator[Hold | ThreadState]:
        """Yield every row, or one scope's, in key order."""
        with translated("listing hold rows"):
            try:
                if scope_key is None:
                    entities = self._table.list_entities()
                else:
                    entities = self._table.query_entities(
                        "PartitionKey eq @scope", parameters={"scope": scope_key}
                    )
                async for entity in entities:
                    if entity["RowKey"] == STATE_ROW_KEY:
                        yield from_state_entity(entity)
                    else:
                        yield from_hold_entity(entity)
            except ResourceNotFoundError:
                return

    async def _entity(self, partition: str, row: str) -> Any:
        with translated(f"reading hold row {partition}/{row}"):
            try:
                return await self._table.get_entity(partition, row)
            except ResourceNotFoundError:
                return None


def to_entity(row: Hold | ThreadState) -> dict[str, Any]:
    """The entity the Azure SDK writes for a row (camelCase, as users query it)."""
    return to_state_entity(row) if isinstance(row, ThreadState) else to_hold_entity(row)


def to_hold_entity(row: Hold) -> dict[str, Any]:
    """A hold row: its scope, target, matter, and the placement and release."""
    target = "threadId" if row.scope is Scope.THREAD else "participantId"
    entity: dict[str, Any] = {
        "PartitionKey": row.scope_key,
        "RowKey": row.matter_key,
        "scope": str(row.scope),
        target: row.target,
        "matter": row.matter,
        "held": row.held,
    }
    return entity | _present(row, (*_HOLD_TEXT, *_HOLD_TIMES))


def from_hold_entity(entity: Any) -> Hold:
    """The hold an entity holds (its keys decoded when a field is missing)."""
    scope = Scope.PARTICIPANT if entity.get("scope") == "participant" else Scope.THREAD
    target = entity.get("threadId" if scope is Scope.THREAD else "participantId")
    if not isinstance(target, str):
        target = decode_key(str(entity["PartitionKey"]).removeprefix(PARTICIPANT_SCOPE))
    matter = entity.get("matter")
    return Hold(
        scope=scope,
        target=target,
        matter=matter if isinstance(matter, str) else decode_key(entity["RowKey"]),
        held=entity.get("held") is True,
        **_read(entity, _HOLD_TEXT, _HOLD_TIMES),
    )


def to_state_entity(row: ThreadState) -> dict[str, Any]:
    """A thread's own row: the claim, the flags, and the legacy hold's own fields."""
    entity: dict[str, Any] = {
        "PartitionKey": row.thread_key,
        "RowKey": STATE_ROW_KEY,
        "threadId": row.thread_id,
    }
    for name, column in (*_STATE_TIMES.items(), *_STATE_TEXT.items()):
        if (value := getattr(row, name)) is not None:
            entity[column] = value
    if row.flagged:
        entity["blobFlags"] = True
    if row.legacy is not None:
        entity["held"] = row.legacy.held
        if row.legacy.case is not None:
            entity["case"] = row.legacy.case
        entity |= _present(row.legacy, (*_HOLD_TEXT, *_HOLD_TIMES))
    return entity


def from_state_entity(entity: Any) -> ThreadState:
    """A thread's own row; one with hold fields holds the legacy matter's hold."""
    thread_id = entity.get("threadId") or entity["PartitionKey"]
    values: dict[str, Any] = {}
    for name, column in _STATE_TIMES.items():
        values[name] = _moment(entity.get(column))
    for name, column in _STATE_TEXT.items():
        values[name] = _string(entity.get(column))
    legacy = None
    if entity.get("held") is True or entity.get("placedAt") is not None:
        legacy = Hold(
            scope=Scope.THREAD,
            target=thread_id,
            matter=None,
            held=entity.get("held") is True,
            case=_string(entity.get("case")),
            **_read(entity, _HOLD_TEXT, _HOLD_TIMES),
        )
    return ThreadState(
        thread_key=entity["PartitionKey"],
        thread_id=thread_id,
        flagged=entity.get("blobFlags") is True,
        legacy=legacy,
        **values,
    )


def _present(row: Hold, names: tuple[str, ...]) -> dict[str, Any]:
    return {_camel(n): v for n in names if (v := getattr(row, n)) is not None}


def _read(entity: Any, text: tuple[str, ...], times: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {name: _string(entity.get(_camel(name))) for name in text}
    values |= {name: _moment(entity.get(_camel(name))) for name in times}
    return values


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # The SDK returns a datetime subclass; hand back a plain aware datetime.
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=value.tzinfo,
    )


def _what(row: Hold | ThreadState) -> str:
    if isinstance(row, ThreadState):
        return f"hold row {row.thread_key}"
    return f"hold row {row.scope_key}/{row.matter_key}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
