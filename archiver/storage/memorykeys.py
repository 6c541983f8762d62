"""The in-memory `ChatKeys` table, held to the same contract as the Azure adapter.

Every operation yields to the event loop first, so concurrent callers interleave the
way they do against a network store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from archiver.core.errors import AlreadyStored, ConcurrentUpdate
from archiver.storage.keyports import (
    KeyState,
    KnownKey,
    WrappedKey,
    check_batch,
    check_key_id,
)


class MemoryKeyTable:
    """Key rows in a dict by (subject id, key id), each with an ETag that changes on
    every write."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[WrappedKey, str]] = {}
        self._etags = itertools.count(1)

    async def insert(self, row: WrappedKey) -> str:
        """Create the row and return its ETag; raise AlreadyStored if the key exists."""
        return (await self.insert_all([row]))[0]

    async def insert_all(self, rows: Sequence[WrappedKey]) -> list[str]:
        """Create the keys all or nothing; AlreadyStored if any exists."""
        check_batch(rows)
        await asyncio.sleep(0)
        for row in rows:
            if (row.subject_id, row.key_id) in self.rows:
                raise AlreadyStored(f"key {row.subject_id}/{row.key_id} already exists")
        etags = []
        for row in rows:
            self.rows[(row.subject_id, row.key_id)] = (row, etag := self._etag())
            etags.append(etag)
        return etags

    async def get(self, subject_id: str, key_id: str) -> KnownKey | None:
        """The row and its ETag, or None."""
        await asyncio.sleep(0)
        found = self.rows.get((check_key_id(subject_id), check_key_id(key_id)))
        return None if found is None else KnownKey(*found)

    async def replace(self, row: WrappedKey, *, etag: str) -> str:
        """Replace a live row that still has `etag`; ConcurrentUpdate otherwise."""
        if row.state is KeyState.DESTROYED:
            raise ValueError("a key is destroyed by destroy(), which keeps no bytes")
        await asyncio.sleep(0)
        key = (row.subject_id, row.key_id)
        found = self.rows.get(key)
        if found is None or found[1] != etag or found[0].state is KeyState.DESTROYED:
            raise ConcurrentUpdate(f"key {key} changed, went or was destroyed")
        self.rows[key] = (row, new := self._etag())
        return new

    async def destroy(
        self, subject_id: str, key_id: str, *, etag: str, at: datetime, receipt: str = ""
    ) -> str:
        """Keep the row without its bytes, state destroyed, if it still has `etag`."""
        await asyncio.sleep(0)
        key = (check_key_id(subject_id), check_key_id(key_id))
        found = self.rows.get(key)
        if found is None or found[1] != etag:
            raise ConcurrentUpdate(f"key {key} changed or is not there")
        tombstone = dataclasses.replace(
            found[0], wrapped=b"", state=KeyState.DESTROYED, changed=at, receipt=receipt
        )
        self.rows[key] = (tombstone, new := self._etag())
        return new

    async def subject_keys(self, subject_id: str) -> AsyncIterator[KnownKey]:
        """The subject's own key first, then its data keys in key-id order."""
        await asyncio.sleep(0)
        check_key_id(subject_id)
        own = self.rows.get((subject_id, subject_id))
        if own is not None:
            yield KnownKey(*own)
        for key in sorted(k for k in self.rows if k[0] == subject_id and k[1] != subject_id):
            yield KnownKey(*self.rows[key])

    async def subjects(self) -> AsyncIterator[KnownKey]:
        """Every subject key, in subject-id order."""
        await asyncio.sleep(0)
        for key in sorted(k for k in self.rows if k[0] == k[1]):
            yield KnownKey(*self.rows[key])

    def _etag(self) -> str:
        return f'W/"k{next(self._etags)}"'
