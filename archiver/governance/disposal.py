"""Retention and disposal: threads whose last activity is older than the retention
period, and that are not on hold, are deleted whole, each disposal in the audit trail.

A disposal first claims the thread in its `ChatHolds` row (ETag-checked, so it and a
hold exclude each other: a held thread is never claimed, a claimed thread can no longer
be held), records what it will delete with every blob's SHA-256, then deletes the blobs
(versions, thread changes, transcripts, seals), the message rows and the thread row,
and records that it is done. A run that stops anywhere leaves the claim, and the next
run finishes what it began. `dry_run` claims and deletes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from archiver.core.errors import ConcurrentUpdate, Immutable
from archiver.core.holds import claimed
from archiver.core.principals import Principal
from archiver.core.seals import covered_prefixes, seals_prefix
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage


@dataclass(frozen=True, kw_only=True)
class Disposed:
    """What became of one thread: disposed of, skipped (and why), or would be."""

    thread_id: str
    outcome: str  # "disposed", "would dispose", "held", "kept"
    blobs: int = 0
    rows: int = 0
    why: str | None = None


@dataclass
class _Plan:
    blobs: list[dict[str, Any]] = field(default_factory=list)


class Disposal:
    """Disposes of threads past retention that are not held."""

    def __init__(
        self,
        storage: Storage,
        trail: AuditTrail,
        *,
        retention_days: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._trail = trail
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    async def run(self, principal: Principal, *, dry_run: bool = False) -> AsyncIterator[Disposed]:
        """Each thread due (or held, and so skipped), in key order; claims left by an
        interrupted run come first."""
        if self._retention <= timedelta(0):
            return
        cutoff = self._clock() - self._retention
        resumed = set()
        async for hold in self._storage.holds.scan():
            if hold.disposing_since is not None and hold.disposed_at is None and not dry_run:
                resumed.add(hold.thread_key)
                yield await self._dispose(hold.thread_key, hold.thread_id, principal)
        async for row in self._storage.threads.scan():
            if row.thread_key in resumed or row.last_activity is None:
                continue
            if row.last_activity >= cutoff:
                continue
            known = await self._storage.holds.get(row.thread_key)
            if known is not None and known.row.held:
                yield Disposed(thread_id=row.thread_id, outcome="held", why=known.row.reason)
                continue
            if dry_run:
                plan = await self._plan(row.thread_key)
                yield Disposed(
                    thread_id=row.thread_id, outcome="would dispose", blobs=len(plan.blobs)
                )
                continue
            yield await self._dispose(row.thread_key, row.thread_id, principal)

    async def _dispose(self, thread_key: str, thread_id: str, principal: Principal) -> Disposed:
        target = {"threadId": thread_id}
        if not await self._claim(thread_key, thread_id):
            known = await self._storage.holds.get(thread_key)
            why = known.row.reason if known is not None else None
            return Disposed(thread_id=thread_id, outcome="held", why=why)
        plan = await self._plan(thread_key)
        started = await self._trail.record(
            "dispose",
            principal,
            outcome="started",
            target=target,
            details={"blobs": plan.blobs, "retentionDays": self._retention.days},
        )
        try:
            for blob in plan.blobs:
                await self._storage.blobs.delete(blob["name"])
        except Immutable as exc:
            await self._trail.record(
                "dispose",
                principal,
                outcome="failed",
                target=target,
                details={"why": str(exc), "started": started.id},
            )
            return Disposed(thread_id=thread_id, outcome="kept", why=str(exc))
        rows = [row async for row in self._storage.messages.scan(thread_key)]
        for row in rows:
            await self._storage.messages.delete(thread_key, row.message_key)
        await self._storage.threads.delete(thread_key)
        await self._finish(thread_key)
        await self._trail.record(
            "dispose",
            principal,
            outcome="done",
            target=target,
            details={"blobs": len(plan.blobs), "rows": len(rows), "started": started.id},
        )
        return Disposed(
            thread_id=thread_id, outcome="disposed", blobs=len(plan.blobs), rows=len(rows)
        )

    async def _claim(self, thread_key: str, thread_id: str) -> bool:
        """Claim the thread for disposal; False when it is held."""
        for _ in range(8):
            known = await self._storage.holds.get(thread_key)
            row = claimed(
                None if known is None else known.row,
                thread_key=thread_key,
                thread_id=thread_id,
                at=self._clock(),
            )
            if row is None:
                return False
            try:
                if known is None:
                    await self._storage.holds.insert(row)
                elif row != known.row:
                    await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue  # a hold (or another disposal) got there first: decide again
            return True
        return False

    async def _plan(self, thread_key: str) -> _Plan:
        """Every blob of the thread, with its recorded SHA-256 and size; seals last."""
        plan = _Plan()
        for prefix in (*covered_prefixes(thread_key), seals_prefix(thread_key)):
            async for blob in self._storage.blobs.listing(prefix):
                plan.blobs.append({"name": blob.name, "size": blob.size, "sha256": blob.sha256})
        return plan

    async def _finish(self, thread_key: str) -> None:
        for _ in range(8):
            known = await self._storage.holds.get(thread_key)
            if known is None:
                return
            try:
                await self._storage.holds.replace(
                    replace(known.row, disposed_at=self._clock()), etag=known.etag
                )
            except ConcurrentUpdate:
                continue
            return
