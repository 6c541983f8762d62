"""The local host's queue triggers: what the Functions queue extension does, for the
app's queue-triggered functions, read from its function metadata.

Each queue-trigger function (`queueName` with its `%SETTING%` expressions resolved from
the settings) is polled on the archive's account (Azurite's queue port, 10001, locally).
As host.json configures the extension: a message is invoked once per delivery, deleted
when the function returns, made visible again when it raises, and on its
MAX_DEQUEUE_COUNT-th failure moved to `{queue}-poison`. Idle queues are polled with a
back-off, as the extension does, up to MAX_POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from archiver.bootstrap import Services
from archiver.core.errors import ArchiverError, ConfigurationError, StorageError
from archiver.storage.jobports import Delivery, JobQueue

log = logging.getLogger("archiver")
MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount
BATCH_SIZE = 4  # host.json extensions.queues.batchSize
VISIBILITY_SECONDS = 300  # a message is hidden while it runs (the function timeout)
MAX_POLL_SECONDS = 2.0
QueueTrigger = Callable[[Services, str], Awaitable[None]]
_EXPRESSION = re.compile(r"%([A-Za-z0-9_]+)%")


@dataclass(frozen=True)
class QueueFunction:
    """One queue-triggered function and the queue it reads."""

    name: str
    queue: str
    invoke: QueueTrigger


def queue_functions(
    indexed: tuple[tuple[str, dict[str, object]], ...],
    handlers: Mapping[str, QueueTrigger],
    values: Mapping[str, str],
) -> tuple[QueueFunction, ...]:
    """The app's queue triggers, their queue names resolved from `values`;
    ConfigurationError for an expression no setting answers."""
    found = []
    for name, trigger in indexed:
        if trigger["type"] != "queueTrigger":
            continue
        found.append(
            QueueFunction(name, _resolved(str(trigger["queueName"]), values, name), handlers[name])
        )
    return tuple(found)


def _resolved(expression: str, values: Mapping[str, str], function: str) -> str:
    """`expression` with each %SETTING% replaced by its value."""
    for setting in _EXPRESSION.findall(expression):
        if setting not in values:
            raise ConfigurationError(
                f"the queue trigger {function} reads %{setting}%, which is unset"
            )
    return _EXPRESSION.sub(lambda match: values[match.group(1)], expression)


async def poll(services: Services, function: QueueFunction, stop: asyncio.Event) -> None:
    """Run `function` for every message of its queue until `stop` is set, or the task is
    cancelled (a message it was doing becomes visible again: every job is idempotent)."""
    queue = services.storage.queue(function.queue)
    poison = services.storage.queue(f"{function.queue}-poison")
    wait, prepared = 0.1, False
    while not stop.is_set():
        try:
            if not prepared:  # once, and again after a failure
                await queue.prepare()
                await poison.prepare()
                prepared = True
            deliveries = await queue.receive(
                limit=BATCH_SIZE, visibility_seconds=VISIBILITY_SECONDS
            )
        except StorageError as exc:
            log.warning(
                "The %s queue trigger could not read %s: %s", function.name, queue.name, exc
            )
            deliveries, prepared = [], False
        if deliveries:
            wait = 0.1
            await asyncio.gather(
                *(_invoke(services, function, queue, poison, d) for d in deliveries)
            )
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        wait = min(wait * 2, MAX_POLL_SECONDS)


async def _invoke(
    services: Services,
    function: QueueFunction,
    queue: JobQueue,
    poison: JobQueue,
    delivery: Delivery,
) -> None:
    try:
        await function.invoke(services, delivery.text)
    except Exception as exc:
        if isinstance(exc, ArchiverError):
            log.error("The %s invocation failed: %s", function.name, exc)
        else:
            log.error("The %s invocation failed", function.name, exc_info=exc)
        try:
            if delivery.dequeue_count >= MAX_DEQUEUE_COUNT:
                await poison.send(delivery.text)
                await queue.delete(delivery)
                log.warning("Moved a message of %s to %s", queue.name, poison.name)
            else:
                await queue.release(delivery)
        except StorageError as failed:  # it becomes visible again by itself
            log.warning("Could not put back a message of %s: %s", queue.name, failed)
        return
    try:
        await queue.delete(delivery)
    except StorageError as exc:  # delivered again: every job is idempotent
        log.warning("Could not delete a done message of %s: %s", queue.name, exc)
