"""Legal holds per matter: placed on a thread or on a participant (a custodian), and
released per matter, each change audited before it is made.

Every change is recorded before it is made, and its outcome after; a refused request
leaves one `refused` record (archiver.governance.recorded).

A hold is placed by writing its row, then settling it with the disposal claims of its
threads (archiver.governance.claims).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from archiver.core.errors import (
    ArchiverError,
    ConcurrentUpdate,
    InvalidQuery,
    StorageError,
    StorageUnavailable,
    UnknownThread,
)
from archiver.core.governance.disposals import ThreadState, refuse_if_disposing
from archiver.core.governance.holds import (
    Hold,
    Scope,
    checked,
    not_held,
    placed,
    released,
    scope_key,
)
from archiver.core.governance.principals import Principal
from archiver.core.layout import MESSAGES_PREFIX
from archiver.governance.claims import settle
from archiver.governance.custody import book, holders, threads_of
from archiver.governance.flags import Flagging, Flags
from archiver.governance.recorded import aimed, recorded
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import KnownHold, Storage

log = logging.getLogger("archiver")
ATTEMPTS = 8


def who(principal: Principal) -> str:
    """How a hold row names the principal that changed it."""
    name = principal.name or principal.object_id or principal.app_id
    return f"{name} ({principal.kind})" if name else principal.kind


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
            disposing = await settle(self._storage, hold, before=before, etag=etag, at=self._clock)
            await self._align(hold)
            return Change(hold=hold, holds=await self.of(scope, target), disposing=disposing)

        return await self._recorded("hold.add", scope, target, principal, details, check, change)

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
                raise InvalidQuery(not_held(scope, target, matter, in_force))

        async def change() -> Change:
            def decide(current: Hold | None) -> Hold:
                return released(current, reason=reason, by=who(principal), at=self._clock())

            if matter is None:
                hold = await self._release_legacy(target, decide)
            else:
                _, hold, _ = await self._write(scope, target, matter, decide)
            await self._align(hold)
            return Change(hold=hold, holds=await self.of(scope, target))

        return await self._recorded(
            "hold.release", scope, target, principal, details, check, change
        )

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
            return await holders(self._storage, key, target, thorough=True)
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

    async def _recorded(
        self,
        action: str,
        scope: Scope,
        target: str,
        principal: Principal,
        details: Mapping[str, Any],
        check: Callable[[], Awaitable[None]],
        change: Callable[[], Awaitable[Change]],
    ) -> Change:
        return await recorded(
            self._trail,
            action,
            principal,
            target=aimed(scope, target),
            details=details,
            check=check,
            change=change,
            outcome=lambda done: (
                {"held": done.hold.held}
                | ({"disposing": list(done.disposing)} if done.disposing else {})
            ),
        )

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

    async def _align(self, hold: Hold) -> None:
        """With blob flags on, the flags of the hold's threads follow it; if storage
        fails meanwhile, the hold stands and the next sealing run sets the flags."""
        if not self._blob_flags:
            return
        try:
            if hold.scope is Scope.THREAD:
                await self._flags.align(hold.scope_key, hold.target)
                return
            async for thread_key, thread_id in threads_of(self._storage, [hold.target]):
                await self._flags.align(thread_key, thread_id)
        except StorageError as exc:
            log.error("Legal-hold flags of %s left to the next sealing run: %s", hold.label, exc)
