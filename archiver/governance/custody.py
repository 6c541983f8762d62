"""Who holds a thread, read through the ports: the matters holding it directly, through
a participant (a custodian), or by the legacy hold in the thread's own row.

A thread's participants are everyone its thread row lists, current or former; a
thorough look (a disposal's before it deletes anything, a hold change's, the flags')
adds everyone its participant-change blobs name and every sender of its messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import Hold, Scope, holding, participants_of
from archiver.core.inventory import ThreadBlob, entry
from archiver.core.layout import THREADS_PREFIX
from archiver.core.threads import ThreadRow
from archiver.storage.ports import Storage


@dataclass(frozen=True)
class Book:
    """Every row of the hold table, as one scan read it."""

    holds: tuple[Hold, ...]  # per matter; released ones too
    states: tuple[ThreadState, ...]  # the threads' own rows

    @property
    def in_force(self) -> tuple[Hold, ...]:
        """Every hold in force: per matter, and the legacy ones."""
        legacy = tuple(s.legacy for s in self.states if s.legacy is not None)
        return tuple(hold for hold in (*self.holds, *legacy) if hold.held)

    @property
    def custodians(self) -> frozenset[str]:
        """The participants some matter holds."""
        return frozenset(h.target for h in self.in_force if h.scope is Scope.PARTICIPANT)

    def of(self, row: ThreadRow) -> tuple[Hold, ...]:
        """The holds in force on the thread, as far as its row tells its participants."""
        return holding(self.in_force, thread_id=row.thread_id, participants=participants_of(row))


async def book(storage: Storage) -> Book:
    """The hold table as it is now, read in one scan."""
    holds: list[Hold] = []
    states: list[ThreadState] = []
    async for row in storage.holds.scan():
        if isinstance(row, ThreadState):
            states.append(row)
        else:
            holds.append(row)
    return Book(tuple(holds), tuple(states))


async def holders(
    storage: Storage,
    thread_key: str,
    thread_id: str,
    *,
    row: ThreadRow | None = None,
    thorough: bool = False,
) -> tuple[Hold, ...]:
    """The holds in force on the thread now, read afresh; `row` is its thread row, read
    here when not given."""
    own = [r async for r in storage.holds.scan(thread_key)]
    direct = [r for r in own if isinstance(r, Hold)]
    direct += [r.legacy for r in own if isinstance(r, ThreadState) and r.legacy is not None]
    custodians = [
        r
        async for r in storage.holds.scan()
        if isinstance(r, Hold) and r.scope is Scope.PARTICIPANT and r.held
    ]
    people: frozenset[str] = frozenset()
    if custodians:
        people = await participants(storage, thread_key, row=row, thorough=thorough)
    return holding([*direct, *custodians], thread_id=thread_id, participants=people)


async def threads_of(
    storage: Storage, participants: Iterable[str]
) -> AsyncIterator[tuple[str, str]]:
    """The key and id of every thread one of `participants` is or was in, or sent a
    message to: from the thread rows, the participant-change blobs and the message rows."""
    wanted = frozenset(participants)
    if not wanted:
        return
    seen: set[str] = set()
    async for row in storage.threads.scan():
        if wanted & participants_of(row) and row.thread_key not in seen:
            seen.add(row.thread_key)
            yield row.thread_key, row.thread_id
    async for name in storage.blobs.names(THREADS_PREFIX):
        found = entry(name)
        if isinstance(found, ThreadBlob) and found.participant_id in wanted:
            thread_key = name[len(THREADS_PREFIX) :].split("/", 1)[0]
            if thread_key not in seen:
                seen.add(thread_key)
                yield thread_key, found.thread_id
    async for message in storage.messages.scan():
        if message.sender_id in wanted and message.thread_key not in seen:
            seen.add(message.thread_key)
            yield message.thread_key, message.thread_id


async def participants(
    storage: Storage, thread_key: str, *, row: ThreadRow | None = None, thorough: bool = False
) -> frozenset[str]:
    """Everyone the archive knows was in the thread (see the module's rules); `row` is
    its thread row, read here when not given."""
    if row is None:
        known = await storage.threads.get(thread_key)
        row = None if known is None else known.row
    if not thorough:
        return participants_of(row)
    names = [n async for n in storage.blobs.names(f"{THREADS_PREFIX}{thread_key}/")]
    senders = [r.sender_id async for r in storage.messages.scan(thread_key)]
    return participants_of(row, names=names, senders=senders)
