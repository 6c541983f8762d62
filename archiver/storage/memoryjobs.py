"""The in-memory activity table and job queues, held to the same contract as Azure's."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from archiver.storage.jobports import Delivery


class MemoryActivityTable:
    """Rows by (partition, thread key), and the cursors."""

    def __init__(self) -> None:
        self.rows: set[tuple[str, str]] = set()
        self.cursors: dict[str, str] = {}
        self.leases: dict[tuple[str, str], datetime] = {}

    async def record(self, partition: str, thread_keys: Collection[str]) -> None:
        """Upsert a row for each thread key in `partition`."""
        self.rows.update((partition, key) for key in thread_keys)

    async def thread_keys(self, first: str, last: str) -> AsyncIterator[str]:
        """The thread keys of every partition from `first` to `last`, in key order."""
        for partition, key in sorted(self.rows):
            if first <= partition <= last:
                yield key

    async def forget(self, partition: str, thread_key: str) -> None:
        """Delete the row, if there is one."""
        self.rows.discard((partition, thread_key))

    async def claim(self, partition: str, key: str, *, now: datetime, hold: timedelta) -> bool:
        """Take the lease if it is free or ended."""
        until = self.leases.get((partition, key))
        if until is not None and until > now and (partition, key) in self.rows:
            return False
        self.leases[(partition, key)] = now + hold
        self.rows.add((partition, key))
        return True

    async def cursor(self, job: str) -> str | None:
        """The first hour `job`'s next run reads."""
        return self.cursors.get(job)

    async def move_cursor(self, job: str, hour: str) -> None:
        """Set `job`'s cursor."""
        self.cursors[job] = hour


@dataclass
class _Message:
    message_id: str
    text: str
    visible_at: float
    dequeue_count: int = 0
    pop_receipt: str = ""


class MemoryJobQueue:
    """Messages with visibility timeouts, on the monotonic clock."""

    _ids = itertools.count(1)

    def __init__(self, name: str) -> None:
        self._name = name
        self.messages: dict[str, _Message] = {}

    @property
    def name(self) -> str:
        """The queue's name."""
        return self._name

    async def prepare(self) -> None:
        """Nothing to create in memory."""

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        """Add a message, visible after `delay_seconds`."""
        message_id = f"m{next(self._ids)}"
        self.messages[message_id] = _Message(message_id, text, time.monotonic() + delay_seconds)

    async def receive(self, *, limit: int, visibility_seconds: int) -> list[Delivery]:
        """Up to `limit` visible messages, hidden for `visibility_seconds`."""
        now = time.monotonic()
        found: list[Delivery] = []
        for message in list(self.messages.values()):
            if len(found) == limit:
                break
            if message.visible_at <= now:
                message.visible_at = now + visibility_seconds
                message.dequeue_count += 1
                message.pop_receipt = f"r{next(self._ids)}"
                found.append(
                    Delivery(
                        message.message_id,
                        message.pop_receipt,
                        message.text,
                        message.dequeue_count,
                    )
                )
        return found

    async def delete(self, delivery: Delivery) -> None:
        """Delete the message if `delivery` is still its latest receipt."""
        message = self.messages.get(delivery.message_id)
        if message is not None and message.pop_receipt == delivery.pop_receipt:
            del self.messages[delivery.message_id]

    async def release(self, delivery: Delivery) -> None:
        """Make the message visible now if `delivery` is still its latest receipt."""
        message = self.messages.get(delivery.message_id)
        if message is not None and message.pop_receipt == delivery.pop_receipt:
            message.visible_at = time.monotonic()

    async def length(self) -> int:
        """How many messages the queue holds."""
        return len(self.messages)
