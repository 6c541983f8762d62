"""How a hold placed meets a disposal's claim on its threads.

The hold's row is written first; then each of its threads with a claim not yet
confirmed has its own row touched, so that disposal's confirmation (ETag-checked)
fails and it looks again, and finds the hold. A thread claimed later looks at the holds
after this one is written. A thread whose disposal is already confirmed is going: a
thread hold is undone and refused (OnHold); a custodian hold names the thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from archiver.core.errors import ConcurrentUpdate, OnHold, StorageUnavailable
from archiver.core.governance.disposals import blank, refuse_if_disposing, touched
from archiver.core.governance.holds import Hold, Scope
from archiver.governance.custody import book, participants
from archiver.storage.ports import KnownHold, Storage

ATTEMPTS = 8


async def settle(
    storage: Storage,
    hold: Hold,
    *,
    before: KnownHold | None,
    etag: str,
    at: Callable[[], datetime],
) -> tuple[str, ...]:
    """Make every claim on the hold's threads see it; the threads already being
    disposed of, for a custodian hold (`before` and `etag`: the hold row as it was, and
    as written, to undo a thread hold that came too late)."""
    if hold.scope is Scope.THREAD:
        if await touch(storage, hold.scope_key, hold.target, at=at):
            return ()
        with contextlib.suppress(ConcurrentUpdate):  # undo: the thread is going
            if before is None:
                await storage.holds.delete(hold, etag=etag)
            else:
                await storage.holds.replace(before.row, etag=etag)
        known = await storage.holds.state(hold.scope_key)
        refuse_if_disposing(None if known is None else known.row)
        raise OnHold(f"thread {hold.target!r} is being disposed of; it can no longer be held")
    going = []
    for state in (await book(storage)).states:
        if state.claimed_at is None:
            continue
        if hold.target not in await participants(storage, state.thread_key, thorough=True):
            continue
        if not await touch(storage, state.thread_key, state.thread_id, at=at):
            going.append(state.thread_id)
    return tuple(going)


async def touch(
    storage: Storage, thread_key: str, thread_id: str, *, at: Callable[[], datetime]
) -> bool:
    """Touch the thread's own row; False when its disposal is already confirmed."""
    for _ in range(ATTEMPTS):
        known = await storage.holds.state(thread_key)
        current = blank(thread_key, thread_id) if known is None else known.row
        if current.disposing:
            return False
        try:
            if known is None:
                await storage.holds.insert(touched(current, at=at()))
            else:
                await storage.holds.replace(touched(current, at=at()), etag=known.etag)
        except ConcurrentUpdate:
            continue
        return True
    raise StorageUnavailable(f"the hold row {thread_key} kept changing")
