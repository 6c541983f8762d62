"""One table transaction per subject for the key rows written at the same moment: the
versions of one delivery are staged concurrently, each asks for its data keys' rows, and
they go together, the subject's own key in the first transaction when it is new
(archiver.storage.keyring)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from archiver.storage.keyports import MAX_TRANSACTION, KeyTable, WrappedKey


@dataclass
class Subject:
    """A subject key in use: its id, its bytes, and its row while still to insert."""

    key_id: str
    key: bytes = field(repr=False)
    row: WrappedKey | None  # still to insert, with the first data keys
    until: float
    inserting: asyncio.Event | None = field(default=None, repr=False)  # its row on its way


@dataclass
class Pending:
    """Rows waiting for their transaction, and the future their writer awaits."""

    subject: Subject
    rows: list[WrappedKey]
    done: asyncio.Future[None]


class KeyBatches:
    """Gathers the key rows asked for in one turn of the event loop into transactions."""

    def __init__(self, keys: KeyTable) -> None:
        self._keys = keys
        self._waiting: list[Pending] = []
        self._flush: asyncio.Task[None] | None = None

    async def committed(self, subject: Subject, rows: list[WrappedKey]) -> None:
        """Commit `rows` of `subject` (its own key first when new) with every other
        version's rows asked for in this turn of the event loop."""
        pending = Pending(subject, rows, asyncio.get_running_loop().create_future())
        self._waiting.append(pending)
        if self._flush is None:
            self._flush = asyncio.ensure_future(self._flushed())
        await asyncio.shield(pending.done)

    async def _flushed(self) -> None:
        # Let the other versions staged in this turn of the event loop join in.
        for _ in range(3):
            await asyncio.sleep(0)
        batch, self._waiting, self._flush = self._waiting, [], None
        # By the subject key itself, not its id: two keys made for one new person (two
        # lookups racing) never share a transaction, so the second one's is refused whole
        # and its versions wrapped again under the first, rather than stored unopenable.
        by_subject: dict[int, list[Pending]] = {}
        for pending in batch:
            by_subject.setdefault(id(pending.subject), []).append(pending)
        await asyncio.gather(*(self._insert(group) for group in by_subject.values()))

    async def _insert(self, group: Sequence[Pending]) -> None:
        subject = group[0].subject
        if subject.inserting is not None:
            # An earlier transaction carries this new subject's own key: wait for it, so
            # that this one does not carry it again and lose to it.
            await subject.inserting.wait()
        rows = [row for pending in group for row in pending.rows]
        new = [] if subject.row is None else [subject.row]
        if new:
            subject.inserting = asyncio.Event()
        try:
            for chunk in _chunks([*new, *rows]):
                await self._keys.insert_all(chunk)
            subject.row = None  # stored: later versions need only their own rows
            for pending in group:
                pending.done.set_result(None)
        except BaseException as exc:  # every waiter gets the failure, none is left hanging
            for pending in group:
                if not pending.done.done():
                    pending.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            if new and subject.inserting is not None:
                subject.inserting.set()
                subject.inserting = None


def _chunks(rows: Sequence[WrappedKey]) -> list[list[WrappedKey]]:
    return [list(rows[i : i + MAX_TRANSACTION]) for i in range(0, len(rows), MAX_TRANSACTION)]
