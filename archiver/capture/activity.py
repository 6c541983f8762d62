"""Recording which threads were written to this hour (`ChatActivity`), once per thread
per hour per process, so the daily jobs find what changed by key (archiver.core.activity).

Recorded beside the blobs, before the request answers: a request whose activity could
not be recorded fails (503), so Event Grid delivers it again and it is recorded then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set

from archiver.capture.ledger import Ledger
from archiver.storage.ports import Storage


class Activity:
    """Records threads' activity hours, each at most once per process."""

    def __init__(self, storage: Storage, *, ledger: Ledger, limit: asyncio.Semaphore) -> None:
        self._storage = storage
        self._ledger = ledger
        self._limit = limit
        # Threads whose activity this hour a request of this process is recording.
        self._recording: dict[tuple[str, str], asyncio.Event] = {}

    async def record(self, hour: str, thread_keys: Set[str]) -> None:
        """Record `hour` for the threads this process has not recorded it for: one
        request, or none. A thread another request is recording is waited for, then
        recorded here only if that one failed. Raise StorageUnavailable."""
        todo = self._ledger.unrecorded(hour, thread_keys)
        busy = {self._recording[(hour, key)] for key in todo if (hour, key) in self._recording}
        await asyncio.gather(*(event.wait() for event in busy))
        todo = self._ledger.unrecorded(hour, todo)
        if not todo:
            return
        event = asyncio.Event()
        mine = {(hour, key) for key in todo if (hour, key) not in self._recording}
        self._recording.update(dict.fromkeys(mine, event))
        try:
            async with self._limit:
                await self._storage.activity.record(hour, todo)
            self._ledger.note_active(hour, todo)
        finally:
            for key in mine:
                del self._recording[key]
            event.set()
