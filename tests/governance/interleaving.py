"""Storage that lets something else happen at a chosen moment: a real adapter does all
the work, and a hook runs once, just before or just after the first call that matches.

So a spec can archive a message, or place a hold, exactly between two steps of a
disposal, deterministically: "before the first blob delete", "after the claim".
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from archiver.core.governance.disposals import ThreadState
from archiver.storage.jobports import ActivityTable, JobQueue
from archiver.storage.ports import BlobArchive, DeadLetterBox, HoldTable, MessageTable, ThreadTable
from archiver.storage.ports import Storage as Port

Action = Callable[[], Awaitable[None]]
Match = Callable[..., bool]


@dataclass
class _Hook:
    operation: str  # e.g. "blobs.delete", or "holds.insert|holds.replace" for either
    after: bool
    when: Match
    action: Action
    fired: bool = False


class Interleaved:
    """`inner`, with hooks; the hooks' own storage calls go to `inner` directly."""

    def __init__(self, inner: Port) -> None:
        self.inner = inner
        self._hooks: list[_Hook] = []
        self.blobs = cast(BlobArchive, _Part(self, "blobs", inner.blobs))
        self.messages = cast(MessageTable, _Part(self, "messages", inner.messages))
        self.threads = cast(ThreadTable, _Part(self, "threads", inner.threads))
        self.holds = cast(HoldTable, _Part(self, "holds", inner.holds))
        self.activity = cast(ActivityTable, _Part(self, "activity", inner.activity))
        self.keys = inner.keys
        self.versions = inner.versions.over(self.blobs)

    def before(self, operation: str, action: Action, *, when: Match = lambda *_: True) -> _Hook:
        """Run `action` once, just before the first `operation` whose arguments match."""
        hook = _Hook(operation, after=False, when=when, action=action)
        self._hooks.append(hook)
        return hook

    def after(self, operation: str, action: Action, *, when: Match = lambda *_: True) -> _Hook:
        """Run `action` once, just after the first `operation` whose arguments match."""
        hook = _Hook(operation, after=True, when=when, action=action)
        self._hooks.append(hook)
        return hook

    async def fire(self, operation: str, arguments: tuple[Any, ...], *, after: bool) -> None:
        for hook in self._hooks:
            if hook.fired or operation not in hook.operation.split("|") or hook.after != after:
                continue
            if hook.when(*arguments):
                hook.fired = True
                await hook.action()

    def dead_letters(self, container: str) -> DeadLetterBox:
        return self.inner.dead_letters(container)

    def container(self, name: str) -> BlobArchive:
        return self.inner.container(name)

    def queue(self, name: str) -> JobQueue:
        return self.inner.queue(name)

    async def prepare_container(self, name: str) -> None:
        await self.inner.prepare_container(name)

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class _Part:
    def __init__(self, owner: Interleaved, name: str, inner: Any) -> None:
        self._owner = owner
        self._name = name
        self._inner = inner

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._inner, attribute)
        if not inspect.iscoroutinefunction(found):
            return found  # listings and scans pass through
        operation = f"{self._name}.{attribute}"

        async def called(*arguments: Any, **options: Any) -> Any:
            await self._owner.fire(operation, arguments, after=False)
            result = await found(*arguments, **options)
            await self._owner.fire(operation, arguments, after=True)
            return result

        return called


def claiming(thread_key: str) -> Match:
    """A write of the thread's own row with a disposal's claim not yet confirmed."""
    return lambda row, *_: (
        isinstance(row, ThreadState) and row.thread_key == thread_key and row.claiming
    )


def confirming(thread_key: str) -> Match:
    """A write of the thread's own row that confirms a disposal's claim."""
    return lambda row, *_: (
        isinstance(row, ThreadState)
        and row.thread_key == thread_key
        and row.disposing
        and row.plan is None
    )
