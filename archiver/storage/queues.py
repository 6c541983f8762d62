"""The jobs queue over the async Queue SDK: plain-text messages (host.json sets the
queue trigger's messageEncoding to "none"), received with a visibility timeout."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from archiver.storage.jobports import Delivery
from archiver.storage.translation import translated

# A message stays in a queue for 7 days by default; a job not done in a week is the
# next full sweep's. -1 would keep it forever.
TIME_TO_LIVE_SECONDS = 7 * 24 * 3600


class AzureJobQueue:
    """One queue of the archive's account."""

    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue

    @property
    def name(self) -> str:
        """The queue's name."""
        return str(self._queue.queue_name)

    async def prepare(self) -> None:
        """Create the queue when missing."""
        with (
            translated(f"creating the queue {self.name}"),
            contextlib.suppress(ResourceExistsError),
        ):
            await self._queue.create_queue()

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        """Add a message, visible after `delay_seconds`."""
        with translated(f"sending to the queue {self.name}"):
            await self._queue.send_message(
                text, visibility_timeout=delay_seconds or None, time_to_live=TIME_TO_LIVE_SECONDS
            )

    async def receive(self, *, limit: int, visibility_seconds: int) -> list[Delivery]:
        """Up to `limit` visible messages (at most 32 a request, the service's cap)."""
        with translated(f"receiving from the queue {self.name}"):
            found = []
            async for message in self._queue.receive_messages(
                messages_per_page=min(limit, 32),
                visibility_timeout=visibility_seconds,
                max_messages=limit,
            ):
                found.append(
                    Delivery(
                        str(message.id),
                        str(message.pop_receipt),
                        str(message.content),
                        int(message.dequeue_count or 0),
                    )
                )
            return found

    async def delete(self, delivery: Delivery) -> None:
        """Delete a received message; one already gone is fine."""
        with (
            translated(f"deleting from the queue {self.name}"),
            contextlib.suppress(ResourceNotFoundError),
        ):
            await self._queue.delete_message(delivery.message_id, delivery.pop_receipt)

    async def release(self, delivery: Delivery) -> None:
        """Make a received message visible again now; one already gone is fine."""
        with (
            translated(f"releasing a message of the queue {self.name}"),
            contextlib.suppress(ResourceNotFoundError),
        ):
            await self._queue.update_message(
                delivery.message_id, delivery.pop_receipt, visibility_timeout=0
            )

    async def length(self) -> int:
        """About how many messages the queue holds."""
        with translated(f"reading the queue {self.name}"):
            properties = await self._queue.get_queue_properties()
        return int(properties.approximate_message_count or 0)
