"""A change recorded in the audit trail before it is made, and its outcome after.

The record of the intent (outcome `started`) is stored first; if it cannot be stored,
nothing changes (the StorageError is raised). Then the change, then its outcome:
`done`, or `failed` with why, naming the `started` record. A request refused before
anything changes (bad input, an unknown thread, a hold that is not there, a thread
being disposed of) leaves one `refused` record instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from archiver.core.errors import (
    ArchiverError,
    OnHold,
    RequestRejected,
    StorageError,
    UnknownThread,
)
from archiver.core.governance.holds import Scope
from archiver.core.governance.principals import Principal
from archiver.governance.trail import AuditTrail

log = logging.getLogger("archiver")
REFUSALS = (RequestRejected, UnknownThread, OnHold)  # a request refused, not a failure
_T = TypeVar("_T")


def aimed(scope: Scope, target: str) -> dict[str, str]:
    """The target an audit record of a hold change names."""
    return {"threadId" if scope is Scope.THREAD else "participantId": target}


async def recorded(
    trail: AuditTrail,
    action: str,
    principal: Principal,
    *,
    target: Mapping[str, Any],
    details: Mapping[str, Any],
    check: Callable[[], Awaitable[None]],
    change: Callable[[], Awaitable[_T]],
    outcome: Callable[[_T], Mapping[str, Any]],
) -> _T:
    """`check`, then the intent recorded, then `change`, then its outcome recorded
    (`outcome` adds to the details of a change done); refusals and failures re-raised."""
    try:
        await check()
    except REFUSALS as exc:
        refused = {**details, "why": str(exc)}
        await trail.record(action, principal, outcome="refused", target=target, details=refused)
        raise
    started = await trail.record(
        action, principal, outcome="started", target=target, details=details
    )
    try:
        done = await change()
    except ArchiverError as exc:
        failed = {**details, "started": started.id, "why": str(exc)}
        try:
            await trail.record(action, principal, outcome="failed", target=target, details=failed)
        except StorageError as unrecorded:  # the started record stays; the error says why
            log.error("The failure of %s could not be recorded: %s", action, unrecorded)
        raise
    finished = {**details, "started": started.id, **outcome(done)}
    await trail.record(action, principal, outcome="done", target=target, details=finished)
    return done
