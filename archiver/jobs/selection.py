"""Which threads a run of a daily job visits, read by key from `ChatActivity`
(archiver.core.activity), and the cursor it leaves for the next run.

- sealing: the threads written since its last run;
- disposal: the threads that arrived `retention` ago, and those it must visit again
  (held, or a disposal that failed);
- archive-inactive: the threads that arrived `inactive_days` ago.

The cursor moves only when the run's work is enqueued or done (`settle`): a run that
fails before leaves it, so the next run reads the same hours again. The full sweep
(`everything`) visits every thread the archive holds: the weekly safety net, and each
job's first run (no cursor yet: an archive written before activity was recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from archiver.core.activity import AGAIN, due, next_cursor, since_cursor
from archiver.core.keys import decode_key, encode_key
from archiver.storage.catalog import thread_ids
from archiver.storage.ports import Storage

SEAL, DISPOSE, TRANSCRIBE, VERIFY, INDEX = "seal", "dispose", "transcribe", "verify", "index"


@dataclass(frozen=True)
class Visit:
    """The threads a run visits, in key order, and the cursor it leaves."""

    job: str
    thread_ids: tuple[str, ...]
    cursor: str
    swept: bool = False  # every thread, not only the changed ones


class Selection:
    """Reads the activity table for the jobs."""

    def __init__(
        self, storage: Storage, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._storage = storage
        self._clock = clock

    async def changed(self, job: str = SEAL) -> Visit:
        """The threads written since `job`'s last run (every thread on its first)."""
        now = self._clock()
        cursor = await self._storage.activity.cursor(job)
        if cursor is None:
            return await self.everything(job)
        window = since_cursor(cursor, now)
        keys = await self._keys(window.first, window.last)
        return Visit(job, _ids(keys), next_cursor(now))

    async def due(self, job: str, age: timedelta) -> Visit:
        """The threads that arrived `age` before now and since `age` before the last run,
        and those `job` was told to visit again (every thread on its first run)."""
        now = self._clock()
        cursor = await self._storage.activity.cursor(job)
        if cursor is None:
            return await self.everything(job)
        window = due(cursor, now, age)
        keys = await self._keys(window.first, window.last)
        keys |= await self._keys(AGAIN + job, AGAIN + job)
        return Visit(job, _ids(keys), next_cursor(now))

    async def everything(self, job: str = SEAL) -> Visit:
        """Every thread the archive holds (the full sweep)."""
        now = self._clock()
        found = sorted({t async for t in thread_ids(self._storage)}, key=_key)
        return Visit(job, tuple(found), next_cursor(now), swept=True)

    async def settle(self, visit: Visit) -> None:
        """Leave the run's cursor: the next run starts from it."""
        await self._storage.activity.move_cursor(visit.job, visit.cursor)

    async def again(self, job: str, thread_id: str, *, again: bool) -> None:
        """Have `job` visit the thread on every run (`again`), or no longer."""
        key = _key(thread_id)
        if again:
            await self._storage.activity.record(AGAIN + job, {key})
        else:
            await self._storage.activity.forget(AGAIN + job, key)

    async def _keys(self, first: str, last: str) -> set[str]:
        return {key async for key in self._storage.activity.thread_keys(first, last)}


def _ids(keys: set[str]) -> tuple[str, ...]:
    return tuple(decode_key(key) for key in sorted(keys))


def _key(thread_id: str) -> str:
    return encode_key(thread_id, field="threadId")
