"""Blob legal-hold flags that follow the holds (ARCHIVE_BLOB_LEGAL_HOLDS): every blob of
a held thread carries the flag, seals and blobs written after the hold included, and
no blob of a thread that no matter holds any longer does.

A hold change aligns its threads' flags at once; `enforce` (after every sealing run)
flags what was written since and clears what a release left, so a blob written to a
held thread carries its flag within one sealing run at most. The thread's own hold-table
row says `flagged` before any flag is set, so flags are never set where a later run
would not find them to clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from archiver.core.errors import ConcurrentUpdate, NotFound, StorageUnavailable
from archiver.core.evidence.seals import covered_prefixes, seals_prefix
from archiver.core.governance.disposals import blank, of_thread, touched
from archiver.core.governance.holds import Scope
from archiver.core.keys import encode_key
from archiver.governance.custody import book, holders, threads_of
from archiver.storage.ports import Storage

ATTEMPTS = 8


@dataclass(frozen=True)
class Flagging:
    """What one enforcement did: threads held, flags set, flags cleared."""

    held: int = 0
    set: int = 0
    cleared: int = 0

    def __str__(self) -> str:
        return f"{self.held} held threads, {self.set} flags set, {self.cleared} cleared"


class Flags:
    """Sets and clears blob legal-hold flags to match the holds."""

    def __init__(
        self, storage: Storage, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._storage = storage
        self._clock = clock

    async def enforce(self) -> Flagging:
        """Flag every blob of every held thread; clear the flags of threads held no more."""
        found = await book(self._storage)
        held: dict[str, str] = {}
        for hold in found.in_force:
            if hold.scope is Scope.THREAD:
                held[encode_key(hold.target, field="threadId")] = hold.target
        async for thread_key, thread_id in threads_of(self._storage, found.custodians):
            held[thread_key] = thread_id
        flagged = sum([await self.hold(key, thread_id) for key, thread_id in held.items()])
        cleared = 0
        for state in found.states:
            if state.flagged and state.thread_key not in held:
                changed = await self.align(state.thread_key, state.thread_id)
                flagged, cleared = flagged + max(changed, 0), cleared + max(-changed, 0)
        return Flagging(held=len(held), set=flagged, cleared=cleared)

    async def align(self, thread_key: str, thread_id: str) -> int:
        """Flags on the thread's blobs if a matter holds it now, none otherwise; the
        number set (positive) or cleared (negative)."""
        for _ in range(ATTEMPTS):
            if await holders(self._storage, thread_key, thread_id, thorough=True):
                return await self.hold(thread_key, thread_id)
            known = await self._storage.holds.state(thread_key)
            if known is None or not known.row.flagged:
                return 0
            cleared = await self._set(thread_key, thread_id, held=False)
            try:  # a hold placed meanwhile changed the row: look again
                await self._storage.holds.replace(
                    replace(known.row, flagged=False), etag=known.etag
                )
            except ConcurrentUpdate:
                continue
            return -cleared
        raise StorageUnavailable(f"the hold row of thread {thread_id!r} kept changing")

    async def hold(self, thread_key: str, thread_id: str) -> int:
        """Flag every blob of the thread that is not flagged yet; the number set."""
        await self._mark(thread_key, thread_id)
        return await self._set(thread_key, thread_id, held=True)

    async def _mark(self, thread_key: str, thread_id: str) -> None:
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.state(thread_key)
            if known is not None and known.row.flagged:
                return
            try:
                if known is None:
                    flagged = touched(blank(thread_key, thread_id), at=self._clock(), flagged=True)
                    await self._storage.holds.insert(flagged)
                else:
                    row = touched(known.row, at=self._clock(), flagged=True)
                    await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue
            return
        raise StorageUnavailable(f"the hold row of thread {thread_id!r} kept changing")

    async def _set(self, thread_key: str, thread_id: str, *, held: bool) -> int:
        count = 0
        for prefix in (*covered_prefixes(thread_key), seals_prefix(thread_key)):
            flagged = {name async for name in self._storage.blobs.legal_holds(prefix)}
            names = [name async for name in self._storage.blobs.names(prefix)] if held else flagged
            for name in sorted(names):
                if (name in flagged) == held:
                    continue
                if not of_thread(name, thread_id=thread_id, thread_key=thread_key):
                    continue
                try:
                    await self._storage.blobs.set_legal_hold(name, held)
                except NotFound:
                    continue  # deleted since it was listed
                count += 1
        return count
