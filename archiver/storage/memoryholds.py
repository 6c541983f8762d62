"""The in-memory `ChatHolds` table, held to the same contract as the Azure adapter.

Every operation yields to the event loop first, so concurrent callers interleave the
way they do against a network store.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

from archiver.core.errors import ConcurrentUpdate
from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import Hold
from archiver.storage.ports import KnownHold, KnownState


class MemoryHoldTable:
    """Hold rows and threads' own rows in a dict by (PartitionKey, RowKey), each with an
    ETag that changes on every write."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[Hold | ThreadState, str]] = {}
        self._etags = itertools.count(1)

    async def get(self, scope_key: str, matter_key: str) -> KnownHold | None:
        """Return the hold row and its ETag, or None when there is none."""
        await asyncio.sleep(0)
        found = self.rows.get((scope_key, matter_key))
        if found is None or not isinstance(found[0], Hold):
            return None
        return KnownHold(found[0], found[1])

    async def state(self, thread_key: str) -> KnownState | None:
        """Return the thread's own row and its ETag, or None when there is none."""
        await asyncio.sleep(0)
        found = self.rows.get((thread_key, ""))
        if found is None or not isinstance(found[0], ThreadState):
            return None
        return KnownState(found[0], found[1])

    async def insert(self, row: Hold | ThreadState) -> str:
        """Create the row and return its ETag; raise ConcurrentUpdate if it exists."""
        await asyncio.sleep(0)
        key = _hold_key(row)
        if key in self.rows:
            raise ConcurrentUpdate(f"hold row {key} already exists")
        self.rows[key] = (row, etag := self._etag())
        return etag

    async def replace(self, row: Hold | ThreadState, *, etag: str) -> str:
        """Replace the row if it still has `etag`; raise ConcurrentUpdate otherwise."""
        await asyncio.sleep(0)
        key = _hold_key(row)
        found = self.rows.get(key)
        if found is None or found[1] != etag:
            raise ConcurrentUpdate(f"hold row {key} changed")
        self.rows[key] = (row, new := self._etag())
        return new

    async def delete(self, row: Hold, *, etag: str) -> None:
        """Delete the hold row if it still has `etag`; one already gone is fine."""
        await asyncio.sleep(0)
        key = _hold_key(row)
        found = self.rows.get(key)
        if found is not None and found[1] != etag:
            raise ConcurrentUpdate(f"hold row {key} changed")
        self.rows.pop(key, None)

    async def scan(self, scope_key: str | None = None) -> AsyncIterator[Hold | ThreadState]:
        """Yield every row, or one scope's, in key order."""
        await asyncio.sleep(0)
        for key in sorted(self.rows):
            if scope_key is None or key[0] == scope_key:
                yield self.rows[key][0]

    def _etag(self) -> str:
        return f'W/"h{next(self._etags)}"'


def _hold_key(row: Hold | ThreadState) -> tuple[str, str]:
    if isinstance(row, ThreadState):
        return (row.thread_key, "")
    return (row.scope_key, row.matter_key)
