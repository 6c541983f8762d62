"""Retention and disposal: threads whose last activity is older than the retention
period, and that no matter holds, are deleted, each disposal in the audit trail.

A disposal claims the thread in its own hold-table row (ETag-checked), then looks again
at the thread row (activity since the cutoff: the claim is cleared, the thread kept) and
at every hold on it, direct, through a custodian or legacy (held: cleared, kept). Only
then does it confirm the claim with the claim's ETag: a hold placed meanwhile touched
the row, so the confirmation fails and it looks again. Confirmed, it records its plan
(every blob that is the thread's own, with its SHA-256 and size) and deletes exactly
those blobs, then the rows that still point at them, and the thread row if nothing
arrived since (archiver.governance.deletion). Then it clears its claim, so a thread
that comes back is an ordinary thread that can be held, and records that it is done.
A run that stops anywhere leaves its claim, and the next run carries out the plan it
recorded. `dry_run` claims and deletes nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from archiver.core.errors import ConcurrentUpdate, Immutable, NotFound, StorageUnavailable
from archiver.core.evidence.seals import Link
from archiver.core.governance.disposals import (
    active_again,
    blank,
    claimed,
    cleared,
    confirmed,
    held_by,
    moved_since,
    newest_seal,
    planned,
)
from archiver.core.governance.principals import Principal
from archiver.core.keys import encode_key
from archiver.core.threads import ThreadRow
from archiver.governance.custody import book, holders
from archiver.governance.deletion import Deletion, listed
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import KnownState, Storage

ATTEMPTS = 8


@dataclass(frozen=True, kw_only=True)
class Disposed:
    """What became of one thread: disposed of, skipped (and why), or would be."""

    thread_id: str
    outcome: str  # "disposed", "would dispose", "held", "active", "kept"
    blobs: int = 0
    rows: int = 0
    why: str | None = None


@dataclass(frozen=True)
class _Plan:
    blobs: tuple[dict[str, Any], ...]
    started: str  # the id of the audit record that lists them
    thread_etag: str | None  # the thread row's ETag when they were listed


class Disposal:
    """Disposes of threads past retention that no matter holds."""

    def __init__(
        self,
        storage: Storage,
        trail: AuditTrail,
        *,
        retention_days: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        receipts: Receipts | None = None,
    ) -> None:
        """`receipts` signs a receipt of each disposal before anything is deleted (with a
        seal key: a checkpoint lets a thread's seals go only with one)."""
        self._storage = storage
        self._trail = trail
        self._receipts = receipts
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._deletion = Deletion(storage)

    async def run(
        self,
        principal: Principal,
        *,
        dry_run: bool = False,
        threads: Collection[str] | None = None,
    ) -> AsyncIterator[Disposed]:
        """Each thread due (or held, and so skipped), in key order; claims left by an
        interrupted run come first. `threads`: only these (a batch of the jobs queue),
        each looked up by key; otherwise every thread."""
        if self._retention <= timedelta(0):
            return
        cutoff = self._clock() - self._retention
        found = await book(self._storage)
        keys = None if threads is None else {encode_key(t, field="threadId") for t in threads}
        resumed = set()
        for state in found.states:
            if (
                state.claimed_at is not None
                and not dry_run
                and (keys is None or state.thread_key in keys)
            ):
                resumed.add(state.thread_key)
                yield await self._dispose(state.thread_key, state.thread_id, principal, cutoff)
        async for row in self._rows(keys):
            if row.thread_key in resumed or row.last_activity is None:
                continue
            if row.last_activity >= cutoff:
                continue
            if held := found.of(row):
                yield Disposed(thread_id=row.thread_id, outcome="held", why=held_by(held))
                continue
            if dry_run:
                blobs = await listed(self._storage, row.thread_key, row.thread_id)
                yield Disposed(thread_id=row.thread_id, outcome="would dispose", blobs=len(blobs))
                continue
            yield await self._dispose(row.thread_key, row.thread_id, principal, cutoff)

    async def _rows(self, keys: Collection[str] | None) -> AsyncIterator[ThreadRow]:
        if keys is None:
            async for row in self._storage.threads.scan():
                yield row
            return
        for key in sorted(keys):
            if (known := await self._storage.threads.get(key)) is not None:
                yield known.row

    async def _dispose(
        self, thread_key: str, thread_id: str, principal: Principal, cutoff: datetime
    ) -> Disposed:
        known = await self._claim(thread_key, thread_id)
        if known is None:
            return Disposed(thread_id=thread_id, outcome="held", why="the legacy hold")
        if not known.row.disposing:
            looked = await self._look_again(known, cutoff)
            if isinstance(looked, Disposed):
                return looked
            known = looked
        plan = await self._plan(known, principal, cutoff)
        if isinstance(plan, Disposed):
            return plan
        target = {"threadId": thread_id}
        names = frozenset(blob["name"] for blob in plan.blobs)
        if self._receipts is not None:
            await self._receipts.receipt(
                thread_id=thread_id,
                thread_key=thread_key,
                head=newest_seal(plan.blobs, thread_key),
                blobs=len(plan.blobs),
            )
        try:
            for blob in plan.blobs:
                await self._storage.blobs.delete(blob["name"])
        except Immutable as exc:  # kept whole by storage: an ordinary thread, held or not
            await self._clear(thread_key, disposed=False)
            failed = {"why": str(exc), "started": plan.started}
            await self._trail.record(
                "dispose", principal, outcome="failed", target=target, details=failed
            )
            return Disposed(thread_id=thread_id, outcome="kept", why=str(exc))
        rows = await self._deletion.rows(thread_key, names)
        row_kept = await self._deletion.thread_row(
            thread_key, thread_id, planned=plan.thread_etag, names=names
        )
        await self._clear(thread_key, disposed=True)
        details: dict[str, Any] = {
            "blobs": len(plan.blobs),
            "rows": rows.deleted,
            "rowsKept": rows.kept,
            "threadRowKept": row_kept,
            "started": plan.started,
        }
        await self._trail.record(
            "dispose", principal, outcome="done", target=target, details=details
        )
        return Disposed(
            thread_id=thread_id, outcome="disposed", blobs=len(plan.blobs), rows=rows.deleted
        )

    async def _claim(self, thread_key: str, thread_id: str) -> KnownState | None:
        """The thread's row with this disposal's claim (or an interrupted one's); None
        when the legacy hold holds it."""
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.state(thread_key)
            current = blank(thread_key, thread_id) if known is None else known.row
            row = claimed(current, at=self._clock())
            if row is None:
                return None
            try:
                if known is None:
                    etag = await self._storage.holds.insert(row)
                elif row != known.row:
                    etag = await self._storage.holds.replace(row, etag=known.etag)
                else:
                    etag = known.etag
            except ConcurrentUpdate:
                continue  # a hold (or another disposal) got there first: decide again
            return KnownState(row, etag)
        raise StorageUnavailable(f"the hold row of thread {thread_id!r} kept changing")

    async def _look_again(self, known: KnownState, cutoff: datetime) -> KnownState | Disposed:
        """Confirm the claim if the thread is still due and held by no one; otherwise
        clear it and say why the thread is kept."""
        for _ in range(ATTEMPTS):
            state = known.row
            thread = await self._storage.threads.get(state.thread_key)
            row = None if thread is None else thread.row
            if row is not None and moved_since(row, cutoff):
                return await self._back_off(state.thread_key, state.thread_id, active_again(row))
            held = await holders(
                self._storage, state.thread_key, state.thread_id, row=row, thorough=True
            )
            if held:
                return await self._back_off(
                    state.thread_key, state.thread_id, held_by(held), "held"
                )
            row_confirmed = confirmed(state, at=self._clock())
            try:
                etag = await self._storage.holds.replace(row_confirmed, etag=known.etag)
            except ConcurrentUpdate:  # touched by a hold: look again
                fresh = await self._storage.holds.state(state.thread_key)
                if fresh is None or fresh.row.claimed_at is None:
                    return Disposed(thread_id=state.thread_id, outcome="kept", why="unclaimed")
                if fresh.row.disposing:
                    return fresh  # another run confirmed it
                known = fresh
                continue
            return KnownState(row_confirmed, etag)
        raise StorageUnavailable(f"the hold row of thread {known.row.thread_id!r} kept changing")

    async def _plan(
        self, known: KnownState, principal: Principal, cutoff: datetime
    ) -> _Plan | Disposed:
        """The plan this disposal recorded, or a new one, recorded before any delete."""
        state = known.row
        if state.plan is not None:
            try:
                document = json.loads(await self._storage.blobs.read(state.plan))
                blobs = tuple(document["details"]["blobs"])
                return _Plan(blobs, document["id"], state.planned_etag)
            except NotFound:
                pass  # the record of a plan never carried out: plan again
        thread = await self._storage.threads.get(state.thread_key)
        if thread is not None and moved_since(thread.row, cutoff):
            return await self._back_off(state.thread_key, state.thread_id, active_again(thread.row))
        blobs = tuple(await listed(self._storage, state.thread_key, state.thread_id))
        details = {"blobs": list(blobs), "retentionDays": self._retention.days}
        target = {"threadId": state.thread_id}
        started = await self._trail.record(
            "dispose", principal, outcome="started", target=target, details=details
        )
        etag = None if thread is None else thread.etag
        for _ in range(ATTEMPTS):
            try:
                row = planned(known.row, record=started.name, etag=etag)
                await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                fresh = await self._storage.holds.state(state.thread_key)
                if fresh is None:
                    break
                known = fresh
                continue
            break
        return _Plan(blobs, started.id, etag)

    async def _back_off(
        self, thread_key: str, thread_id: str, why: str, outcome: str = "active"
    ) -> Disposed:
        await self._clear(thread_key, disposed=False)
        return Disposed(thread_id=thread_id, outcome=outcome, why=why)

    async def _clear(self, thread_key: str, *, disposed: bool) -> None:
        """Clear the claim: after a finished disposal, or one that backed off."""
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.state(thread_key)
            if known is None or known.row.claimed_at is None:
                return
            row = cleared(known.row, disposed_at=self._clock() if disposed else None)
            try:
                await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue
            return
        raise StorageUnavailable(f"the hold row {thread_key} kept changing")


class Receipts(Protocol):
    """Who signs a receipt of a disposal (the checkpointer, with the seal key)."""

    async def receipt(
        self, *, thread_id: str, thread_key: str, head: Link | None, blobs: int
    ) -> object:
        """Sign and store the receipt of a disposal about to be carried out."""
