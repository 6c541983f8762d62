"""The requests the gate refuses (401, 403, and 503 when the tenant's keys cannot be
read), counted in memory and stored as one create-only audit record per caller and
minute, in the background: a refused request costs no storage write, and a flood costs
at most `most_callers + 1` records a minute per instance.

Why in memory: a counter row in a table would cost a write per refusal (or per few), the
very cost a flood must not buy, and would need a second writer to summarise it. Counted
here, a minute's records are stored once it closes (a timer, a second after), by the
first refusal after it if that comes sooner, and at shutdown (`close`, which the local
host and the commands call). A failed store is kept and tried again, at most
`most_pending` records (an hour of a full flood), the oldest dropped and logged beyond.

What an instance that dies loses: the counts of its minute in progress, and of a closed
minute whose records were not yet stored (a second, or longer while storage fails). The
Functions worker offers no shutdown hook, so in Azure a recycled instance loses its open
minute. Each refusal still logs a warning line (Application Insights keeps them), and no
allowed read is ever affected: those are recorded one by one before they answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from archiver.access.tally import MOST_ADDRESSES, MOST_CALLERS, Tally
from archiver.core.errors import StorageError
from archiver.core.governance.audit import AuditRecord, AuditSink, refusals_record
from archiver.core.governance.principals import Principal
from archiver.core.http import HttpRequest

log = logging.getLogger("archiver")
# After a minute closes, so refusals answered at its last instant are counted in it.
GRACE_SECONDS = 1.0
# After a store failed, when nothing else wakes the timer sooner.
RETRY_SECONDS = 30.0
# Records kept for another try while storage fails: an hour of a full flood.
MOST_PENDING = 60 * (MOST_CALLERS + 1)


def _now() -> datetime:
    return datetime.now(UTC)


class Refusals:
    """Counts the gate's refusals; stores each closed minute's in the background."""

    def __init__(
        self,
        sink: AuditSink,
        *,
        most_callers: int = MOST_CALLERS,
        most_addresses: int = MOST_ADDRESSES,
        most_pending: int = MOST_PENDING,
        grace_seconds: float = GRACE_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sink = sink
        self._tally = Tally(most_callers=most_callers, most_addresses=most_addresses)
        self._most_pending = most_pending
        self._grace_seconds = grace_seconds
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._pending: deque[AuditRecord] = deque()
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self.stored = 0  # records stored so far
        self.lost = 0  # refusals whose record was dropped (past `most_pending`)

    def note(
        self, request: HttpRequest, *, route: str, status: int, principal: Principal | None
    ) -> None:
        """Count one refused request (by `principal` when its token was verified, else by
        its address); never waits and never writes."""
        now = self._clock()
        if self._close(now):  # a minute closed since the last refusal: store it beside
            self._start(self.flush(), self._flushes)
        self._tally.count(
            at=now, principal=principal, client_ip=request.client_ip, route=route, status=status
        )
        if self._timer is None or self._timer.done():
            self._timer = self._start(self._flush_when_due())

    async def flush(self, *, everything: bool = False) -> None:
        """Store the closed minutes' records (every minute's, with `everything`); one
        that could not be stored is kept for the next flush."""
        async with self._lock:
            self._close(self._clock(), everything=everything)
            while self._pending:
                try:
                    await self._sink.store(self._pending[0])
                except StorageError as exc:
                    log.warning(
                        "Kept %d records of refused requests to store later: %s",
                        len(self._pending),
                        exc,
                    )
                    return
                self._pending.popleft()
                self.stored += 1

    async def close(self) -> None:
        """Stop the timer and store everything counted, the minute in progress too."""
        running = [t for t in (self._timer, *self._flushes) if t is not None and not t.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self.flush(everything=True)

    def _close(self, now: datetime, *, everything: bool = False) -> bool:
        """Turn the closed minutes into records, named now and kept until stored."""
        due = self._tally.due()
        if due is None or (now < due and not everything):
            return False  # the usual case, on every refusal: nothing closed yet
        closed = self._tally.closed(now, everything=everything)
        self._pending.extend(refusals_record(refused, at=now) for refused in closed)
        dropped = 0
        while len(self._pending) > self._most_pending:
            dropped += int(self._pending.popleft().details["count"])
        if dropped:
            self.lost += dropped
            log.error("Dropped the records of %d refused requests: storage kept failing", dropped)
        return bool(closed)

    async def _flush_when_due(self) -> None:
        while (due := self._tally.due()) is not None or self._pending:
            wait = self._retry_seconds
            if due is not None:
                wait = max(0.0, (due - self._clock()).total_seconds()) + self._grace_seconds
            await asyncio.sleep(wait)
            await self.flush()

    def _start(
        self,
        work: Coroutine[Any, Any, None],
        group: set[asyncio.Task[None]] | None = None,
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        if group is not None:
            group.add(task)
            task.add_done_callback(group.discard)
        task.add_done_callback(_report)
        return task


def _report(task: asyncio.Task[None]) -> None:
    """Log a bug in a background store, which nothing else would see."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("Storing the records of refused requests failed unexpectedly", exc_info=exc)
