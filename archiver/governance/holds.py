"""Legal holds per matter: placed on a thread or on a participant (a custodian), and
released per matter, each change audited before it is made.

Every change writes its audit record first (outcome `started`); if that record cannot
be stored, nothing changes (StorageError). Then the change, then its outcome (`done`, or
`failed` with why). A request refused before any change (bad input, an unknown thread,
a hold that is not there, a thread being disposed of) leaves one `refused` record.

A hold is placed by writing its row, then looking at the disposal claims of its
threads: a claim not yet confirmed is touched, so that disposal must look again and
finds the hold (archiver.core.disposals); a thread whose disposal is already confirmed
cannot be held (a thread hold is undone and refused; a custodian hold names it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from archiver.core.audit import AuditRecord
from archiver.core.disposals import ThreadState, blank, refuse_if_disposing, touched
from archiver.core.errors import (
    ArchiverError,
    ConcurrentUpdate,
    InvalidQuery,
    OnHold,
    RequestRejected,
    StorageError,
    StorageUnavailable,
    UnknownThread,
)
from archiver.core.holds import Hold, Scope, checked, placed, released, scope_key
from archiver.core.layout import MESSAGES_PREFIX
from archiver.core.principals import Principal
from archiver.governance.custody import book, holders, participants, threads_of
from archiver.governance.flags import Flagging, Flags
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import KnownHold, Storage

log = logging.getLogger("archiver")
ATTEMPTS = 8
REFUSALS = (RequestRejected, UnknownThread, OnHold)  # a request refused, not a failure


def who(principal: Principal) -> str:
    """How a hold row names the principal that changed it."""
    name = principal.name or principal.object_id or principal.app_id
    return f"{name} ({principal.kind})" if name else principal.kind


def aimed(scope: Scope, target: str) -> dict[str, str]:
    """The target an audit record of a hold change names."""
    return {"threadId" if scope is Scope.THREAD else "participantId": target}


@dataclass(frozen=True, kw_only=True)
class Change:
    """A hold as a change left it, every hold in force on its thread or participant
    after it, and the threads a custodian hold came too late for (being disposed of)."""

    hold: Hold
    holds: tuple[Hold, ...]
    disposing: tuple[str, ...] = ()


class Holds:
    """Places, releases and lists legal holds; keeps blob flags with them if asked."""

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
        self._flags = Flags(storage, clock=clock)

    async def add(
        self, scope: Scope, target: str, *, matter: str | None, reason: str, principal: Principal
    ) -> Change:
        """Hold `target` for `matter`; raise InvalidQuery for bad input, UnknownThread for
        a thread the archive does not hold, OnHold for one being disposed of."""
        details = {"scope": str(scope), "matter": matter, "reason": reason}

        async def check() -> None:
            if matter is None:
                raise InvalidQuery("a hold needs a matter (the case id it is for)")
            checked(scope=scope, target=target, matter=matter, reason=reason)
            if scope is Scope.THREAD:
                await self._known(target)
                known = await self._storage.holds.state(scope_key(scope, target))
                refuse_if_disposing(None if known is None else known.row)

        async def change() -> Change:
            assert matter is not None  # checked
            before, hold, etag = await self._write(
                scope,
                target,
                matter,
                lambda current: placed(
                    current,
                    scope=scope,
                    target=target,
                    matter=matter,
                    reason=reason,
                    by=who(principal),
                    at=self._clock(),
                ),
            )
            disposing = await self._settle(hold, before=before, etag=etag)
            await self._align(hold)
            return Change(hold=hold, holds=await self.of(scope, target), disposing=disposing)

        return await self._audited("hold.add", scope, target, principal, details, check, change)

    async def release(
        self, scope: Scope, target: str, *, matter: str | None, reason: str, principal: Principal
    ) -> Change:
        """Release `matter`'s hold on `target` (None: the legacy hold of an older
        archiver); raise InvalidQuery when that matter does not hold it."""
        details = {"scope": str(scope), "matter": matter, "reason": reason}

        async def check() -> None:
            checked(scope=scope, target=target, matter=matter, reason=reason)
            in_force = await self.of(scope, target, through_custodians=False)
            if not any(h.matter == matter for h in in_force):
                raise InvalidQuery(_not_held(scope, target, matter, in_force))

        async def change() -> Change:
            decide = lambda current: released(  # noqa: E731
                current, reason=reason, by=who(principal), at=self._clock()
            )
            if matter is None:
                hold = await self._release_legacy(target, decide)
            else:
                _, hold, _ = await self._write(scope, target, matter, decide)
            await self._align(hold)
            return Change(hold=hold, holds=await self.of(scope, target))

        return await self._audited("hold.release", scope, target, principal, details, check, change)

    async def refuse(
        self, action: str, scope: Scope, target: str, principal: Principal, error: ArchiverError
    ) -> None:
        """Record a hold request refused before it reached the holds (its HTTP form)."""
        record = {"why": str(error)}
        await self._trail.record(
            action, principal, outcome="refused", target=aimed(scope, target), details=record
        )

    async def of(
        self, scope: Scope, target: str, *, through_custodians: bool = True
    ) -> tuple[Hold, ...]:
        """The holds in force on the thread (its own and, unless told otherwise, its
        custodians') or on the participant."""
        key = scope_key(scope, target)
        if scope is Scope.THREAD and through_custodians:
            return await holders(self._storage, key, target)
        found = [r async for r in self._storage.holds.scan(key)]
        own = [r for r in found if isinstance(r, Hold)]
        own += [r.legacy for r in found if isinstance(r, ThreadState) and r.legacy is not None]
        return tuple(h for h in own if h.held)

    async def listed(self, *, everything: bool = False) -> list[Hold]:
        """The holds in force, every matter's (with `everything`, released ones too)."""
        found = await book(self._storage)
        legacy = [s.legacy for s in found.states if s.legacy is not None]
        return [h for h in (*found.holds, *legacy) if everything or h.held]

    async def enforce_flags(self) -> Flagging:
        """With blob flags on: flag every blob of every held thread, clear the flags of
        threads no matter holds; otherwise nothing."""
        if not self._blob_flags:
            return Flagging()
        return await self._flags.enforce()

    async def _audited(
        self,
        action: str,
        scope: Scope,
        target: str,
        principal: Principal,
        details: Mapping[str, Any],
        check: Callable[[], Awaitable[None]],
        change: Callable[[], Awaitable[Change]],
    ) -> Change:
        aim = aimed(scope, target)
        try:
            await check()
        except REFUSALS as exc:
            record = {**details, "why": str(exc)}
            await self._trail.record(
                action, principal, outcome="refused", target=aim, details=record
            )
            raise
        started = await self._trail.record(
            action, principal, outcome="started", target=aim, details=details
        )
        try:
            done = await change()
        except ArchiverError as exc:
            await self._failed(action, principal, aim, details, started, exc)
            raise
        outcome = {**details, "started": started.id, "held": done.hold.held}
        if done.disposing:
            outcome["disposing"] = list(done.disposing)
        await self._trail.record(action, principal, outcome="done", target=aim, details=outcome)
        return done

    async def _failed(
        self,
        action: str,
        principal: Principal,
        aim: dict[str, str],
        details: Mapping[str, Any],
        started: AuditRecord,
        error: ArchiverError,
    ) -> None:
        record = {**details, "started": started.id, "why": str(error)}
        try:
            await self._trail.record(
                action, principal, outcome="failed", target=aim, details=record
            )
        except StorageError as exc:  # the started record stays; the error raised says why
            log.error("The failure of %s could not be recorded: %s", action, exc)

    async def _known(self, thread_id: str) -> None:
        thread_key = scope_key(Scope.THREAD, thread_id)
        if await self._storage.threads.get(thread_key) is not None:
            return
        async for _ in self._storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
            return
        raise UnknownThread(f"the archive holds nothing of thread {thread_id!r}")

    async def _write(
        self, scope: Scope, target: str, matter: str, decide: Callable[[Hold | None], Hold]
    ) -> tuple[KnownHold | None, Hold, str]:
        """The hold row decided afresh until its ETag-checked write wins: the row before,
        the row written and its ETag."""
        key = scope_key(scope, target)
        for _ in range(ATTEMPTS):
            probe = Hold(scope=scope, target=target, matter=matter)
            known = await self._storage.holds.get(key, probe.matter_key)
            row = decide(None if known is None else known.row)
            try:
                if known is None:
                    etag = await self._storage.holds.insert(row)
                else:
                    etag = await self._storage.holds.replace(row, etag=known.etag)
            except ConcurrentUpdate:
                continue
            return known, row, etag
        raise StorageUnavailable(f"the hold row {key} kept changing")

    async def _release_legacy(self, thread_id: str, decide: Callable[[Hold | None], Hold]) -> Hold:
        key = scope_key(Scope.THREAD, thread_id)
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.state(key)
            hold = decide(None if known is None else known.row.legacy)  # refuses no hold
            if known is None:
                raise InvalidQuery(f"thread {thread_id!r} is not on hold")
            try:
                await self._storage.holds.replace(replace(known.row, legacy=hold), etag=known.etag)
            except ConcurrentUpdate:
                continue
            return hold
        raise StorageUnavailable(f"the hold row {key} kept changing")

    async def _settle(self, hold: Hold, *, before: KnownHold | None, etag: str) -> tuple[str, ...]:
        """Make every disposal claim on the hold's threads see it (see the module's
        rules); the threads already being disposed of, for a custodian hold."""
        if hold.scope is Scope.THREAD:
            if await self._touch(hold.scope_key, hold.target):
                return ()
            with contextlib.suppress(ConcurrentUpdate):  # undo: the thread is going
                if before is None:
                    await self._storage.holds.delete(hold, etag=etag)
                else:
                    await self._storage.holds.replace(before.row, etag=etag)
            known = await self._storage.holds.state(hold.scope_key)
            refuse_if_disposing(None if known is None else known.row)
            raise OnHold(f"thread {hold.target!r} is being disposed of; it can no longer be held")
        going = []
        for state in (await book(self._storage)).states:
            if state.claimed_at is None:
                continue  # a later claim looks at the holds after this one is written
            people = await participants(self._storage, state.thread_key, thorough=True)
            if hold.target not in people:
                continue
            if not await self._touch(state.thread_key, state.thread_id):
                going.append(state.thread_id)
        return tuple(going)

    async def _touch(self, thread_key: str, thread_id: str) -> bool:
        """Touch the thread's own row; False when its disposal is already confirmed."""
        for _ in range(ATTEMPTS):
            known = await self._storage.holds.state(thread_key)
            current = blank(thread_key, thread_id) if known is None else known.row
            if current.disposing:
                return False
            try:
                if known is None:
                    await self._storage.holds.insert(touched(current, at=self._clock()))
                else:
                    await self._storage.holds.replace(
                        touched(current, at=self._clock()), etag=known.etag
                    )
            except ConcurrentUpdate:
                continue
            return True
        raise StorageUnavailable(f"the hold row {thread_key} kept changing")

    async def _align(self, hold: Hold) -> None:
        """With blob flags on, the flags of the hold's threads follow it."""
        if not self._blob_flags:
            return
        if hold.scope is Scope.THREAD:
            await self._flags.align(hold.scope_key, hold.target)
            return
        async for row in threads_of(self._storage, [hold.target]):
            await self._flags.align(row.thread_key, row.thread_id)


def _not_held(scope: Scope, target: str, matter: str | None, in_force: tuple[Hold, ...]) -> str:
    what = f"{scope} {target!r}"
    matters = sorted(h.matter for h in in_force if h.matter is not None)
    if matter is None and matters:
        return f"name the matter to release: {what} is on hold for {', '.join(matters)}"
    if matter is None or not in_force:
        return f"{what} is not on hold"
    return f"{what} is not on hold for matter {matter!r} (it is for {', '.join(matters)})"
