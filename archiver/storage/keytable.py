"""`ChatKeys` over the async Table SDK: inserts, ETag-checked replaces and tombstones.

A row is `PartitionKey` = its subject's id and `RowKey` = its data key's id, or "" for
the subject's own key; the wrapped bytes are Base64 text in `wrapped` ("" once
destroyed), beside `kind`, `wrappedBy`, `state`, `createdAt`, `changedAt`, `blob` (a
data key's version blob) and `receipt` (the erasure that destroyed or restricted it).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from archiver.core.errors import AlreadyStored, ConcurrentUpdate, DamagedArchive
from archiver.storage.keyports import (
    KeyKind,
    KeyState,
    KnownKey,
    WrappedKey,
    check_batch,
    check_key_id,
)
from archiver.storage.translation import describe, etag_of, translated

SUBJECT_ROW_KEY = ""  # a subject's own key; a data key's RowKey is never empty


class AzureKeyTable:
    """The key table, written with inserts, ETag-checked replaces and tombstones."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def insert(self, row: WrappedKey) -> str:
        """Create the row and return its ETag; raise AlreadyStored if the key exists."""
        what = _what(row.subject_id, row.key_id)
        with translated(f"inserting {what}"):
            try:
                return etag_of(await self._table.create_entity(to_key_entity(row)))
            except ResourceExistsError as exc:
                raise AlreadyStored(f"{what} already exists") from exc

    async def insert_all(self, rows: Sequence[WrappedKey]) -> list[str]:
        """Create the keys as one entity-group transaction; AlreadyStored if any exists."""
        check_batch(rows)
        if len(rows) == 1:
            return [await self.insert(rows[0])]
        what = f"a transaction of {len(rows)} keys of {rows[0].subject_id}"
        with translated(what):
            try:
                answers = await self._table.submit_transaction(
                    [("create", to_key_entity(row)) for row in rows]
                )
            except TableTransactionError as exc:
                if exc.status_code != 409:
                    raise
                raise AlreadyStored(f"{what} was refused: {describe(exc)}") from exc
        return [etag_of(answer) for answer in answers]

    async def get(self, subject_id: str, key_id: str) -> KnownKey | None:
        """The row and its ETag, or None."""
        partition, row_key = _keys(subject_id, key_id)
        with translated(f"reading {_what(subject_id, key_id)}"):
            try:
                entity = await self._table.get_entity(partition, row_key)
            except ResourceNotFoundError:
                return None
        return KnownKey(from_key_entity(entity), etag_of(entity.metadata))

    async def replace(self, row: WrappedKey, *, etag: str) -> str:
        """Replace a live row that still has `etag`; ConcurrentUpdate otherwise."""
        if row.state is KeyState.DESTROYED:
            raise ValueError("a key is destroyed by destroy(), which keeps no bytes")
        what = _what(row.subject_id, row.key_id)
        # Read first: a tombstone is never written over, even with its own ETag. The
        # replace below is conditional on that ETag, so what was read is what is replaced.
        found = await self.get(row.subject_id, row.key_id)
        if found is None or found.etag != etag or found.row.state is KeyState.DESTROYED:
            raise ConcurrentUpdate(f"{what} changed, went or was destroyed")
        return await self._update(to_key_entity(row), etag, UpdateMode.REPLACE, what)

    async def destroy(
        self, subject_id: str, key_id: str, *, etag: str, at: datetime, receipt: str = ""
    ) -> str:
        """Merge "" over the wrapped bytes and state `destroyed`, if the row has `etag`."""
        partition, row_key = _keys(subject_id, key_id)
        tombstone = {
            "PartitionKey": partition,
            "RowKey": row_key,
            "wrapped": "",
            "state": str(KeyState.DESTROYED),
            "changedAt": at,
            "receipt": receipt,
        }
        what = _what(subject_id, key_id)
        return await self._update(tombstone, etag, UpdateMode.MERGE, f"destroying {what}")

    async def subject_keys(self, subject_id: str) -> AsyncIterator[KnownKey]:
        """The subject's partition, in RowKey order: its own key ("") first."""
        query = "PartitionKey eq @subject"
        async for known in self._query(query, {"subject": check_key_id(subject_id)}):
            yield known

    async def subjects(self) -> AsyncIterator[KnownKey]:
        """Every row whose RowKey is "", in PartitionKey order."""
        async for known in self._query("RowKey eq @own", {"own": SUBJECT_ROW_KEY}):
            yield known

    async def _query(self, query: str, parameters: dict[str, Any]) -> AsyncIterator[KnownKey]:
        with translated("listing keys"):
            try:
                async for entity in self._table.query_entities(query, parameters=parameters):
                    yield KnownKey(from_key_entity(entity), etag_of(entity.metadata))
            except ResourceNotFoundError:
                return  # no table yet: no keys

    async def _update(self, entity: dict[str, Any], etag: str, mode: UpdateMode, what: str) -> str:
        with translated(what):
            try:
                return etag_of(
                    await self._table.update_entity(
                        entity, mode=mode, etag=etag, match_condition=MatchConditions.IfNotModified
                    )
                )
            except ResourceNotFoundError as exc:
                raise ConcurrentUpdate(f"{what}: the key is not there") from exc


def to_key_entity(row: WrappedKey) -> dict[str, Any]:
    """The entity the SDK writes for a key row (camelCase, as users query it)."""
    partition, row_key = _keys(row.subject_id, row.key_id)
    return {
        "PartitionKey": partition,
        "RowKey": row_key,
        "kind": str(row.kind),
        "wrapped": base64.b64encode(row.wrapped).decode("ascii"),
        "wrappedBy": row.wrapped_by,
        "state": str(row.state),
        "createdAt": row.created,
        "changedAt": row.changed,
        "blob": row.blob,
        "receipt": row.receipt,
    }


def from_key_entity(entity: Any) -> WrappedKey:
    """The key row an entity holds; DamagedArchive when it is not one this wrote."""
    try:
        subject_id = str(entity["PartitionKey"])
        return WrappedKey(
            subject_id=subject_id,
            key_id=str(entity["RowKey"]) or subject_id,
            wrapped=base64.b64decode(entity["wrapped"], validate=True),
            wrapped_by=str(entity["wrappedBy"]),
            state=KeyState(entity["state"]),
            created=_plain(entity["createdAt"]),
            changed=_plain(entity["changedAt"]),
            blob=str(entity.get("blob") or ""),
            receipt=str(entity.get("receipt") or ""),
        )
    except (KeyError, ValueError, TypeError) as exc:
        what = _what(entity.get("PartitionKey"), entity.get("RowKey"))
        raise DamagedArchive(f"{what} is not a key row this archiver wrote") from exc


def _keys(subject_id: str, key_id: str) -> tuple[str, str]:
    check_key_id(subject_id)
    if check_key_id(key_id) == subject_id:
        return subject_id, SUBJECT_ROW_KEY
    return subject_id, key_id


def _plain(value: Any) -> datetime:
    # The SDK returns a datetime subclass; hand back a plain aware datetime.
    if not isinstance(value, datetime):
        raise TypeError("not a time")
    return datetime.combine(value.date(), value.timetz())


def _what(subject_id: object, key_id: object) -> str:
    kind = KeyKind.SUBJECT if key_id in (subject_id, SUBJECT_ROW_KEY) else KeyKind.DATA
    return f"{kind} key {subject_id}/{key_id}"
