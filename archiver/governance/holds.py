"""Legal holds: placed and released by an admin, each change in the audit trail.

A hold is a `ChatHolds` row written with ETag checks (archiver.core.holds decides).
With ARCHIVE_BLOB_LEGAL_HOLDS (version-level immutability on the account), placing a
hold also sets the legal-hold flag on every blob of the thread, so that even the
storage account's owner cannot delete them until it is released; releasing clears it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from archiver.core.errors import ArchiverError, ConcurrentUpdate, StorageUnavailable, UnknownThread
from archiver.core.holds import HoldRow, placed, released
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX
from archiver.core.principals import Principal
from archiver.core.seals import covered_prefixes
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage

ATTEMPTS = 8


def who(principal: Principal) -> str:
    """How a hold row names the principal that changed it."""
    name = principal.name or principal.object_id or principal.app_id
    return f"{name} ({principal.kind})" if name else principal.kind


class Holds:
    """Places, releases and lists legal holds."""

    def __init__(
        self,
        storage: Storage,
        trail: AuditTrail,
        *,
        blob_flags: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._trail = trail
        self._blob_flags = blob_flags
        self._clock = clock

    async def add(
        self, thread_id: str, *, reason: str, case: str | None, principal: Principal
    ) -> HoldRow:
        """Hold the thread; raise UnknownThread for a thread the archive does not hold,
        OnHold when a disposal has claimed it. Audited either way."""
        target = {"threadId": thread_id}
        try:
            thread_key = await self._known(thread_id)
            row = await self._write(
                thread_key,
                lambda current: placed(
                    current,
                    thread_key=thread_key,
                    thread_id=thread_id,
                    reason=reason,
                    case=case,
                    by=who(principal),
                    at=self._clock(),
                ),
            )
            flagged = await self._flags(thread_key, held=True)
        except ArchiverError as exc:
            await self._trail.record(
                "hold.add", principal, outcome="refused", target=target, details={"why": str(exc)}
            )
            raise
        details = {"reason": reason, "case": case, "blobsFlagged": flagged}
        await self._trail.record(
            "hold.add", principal, outcome="done", target=target, details=details
        )
        return row

    async def release(self, thread_id: str, *, reason: str, principal: Principal) -> HoldRow:
        """Release the thread's hold; raise InvalidQuery when it is not held."""
        target = {"threadId": thread_id}
        thread_key = encode_key(thread_id, field="threadId")
        try:
            row = await self._write(
                thread_key,
                lambda current: released(
                    current, reason=reason, by=who(principal), at=self._clock()
                ),
            )
            flagged = await self._flags(thread_key, held=False)
        except ArchiverError as exc:
            await self._trail.record(
                "hold.release",
                principal,
                outcome="refused",
                target=target,
                details={"why": str(exc)},
            )
            raise
        details = {"reason": reason, "blobsCleared": flagged}
        await self._trail.record(
            "hold.release", principal, outcome="done", target=target, details=details
        )
        return row

    async def held(self, thread_id: str) -> HoldRow | None:
        """The thread's hold row, if it has one."""
        known = await self._storage.holds.get(encode_key(thread_id, field="threadId"))
        return None if known is None else known.row

    async def listed(self, *, everything: bool = False) -> list[HoldRow]:
        """The threads on hold (with `everything`, every row: released and disposed too)."""
        return [row async for row in self._storage.holds.scan() if everything or row.held]

    async def _known(self, thread_id: str) -> str:
        thread_key = encode_key(thread_id, field="threadId")
        if await self._storage.threads.get(thread_key) is not None:
            return thread_key
        async for _ in self._storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
            return thread_key
        raise UnknownThread(f"the archive holds nothing of thread {thread_id!r}")

    async def _write(self, thread_key: str, decide: Callable[[HoldRow | None], HoldRow]) -> HoldRow:
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.get(thread_key)
            row = decide(None if known is None else known.row)
            try:
                if known is None:
                    await self._storage.holds.insert(row)
                else:
                    await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue
            return row
        raise StorageUnavailable(f"hold row {thread_key} kept changing")

    async def _flags(self, thread_key: str, *, held: bool) -> int:
        """Set (or clear) the legal-hold flag of every blob of the thread, when asked to."""
        if not self._blob_flags:
            return 0
        count = 0
        for prefix in covered_prefixes(thread_key):
            async for name in self._storage.blobs.names(prefix):
                await self._storage.blobs.set_legal_hold(name, held)
                count += 1
        return count
