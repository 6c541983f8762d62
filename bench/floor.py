"""The floors: only the storage work no archiver can avoid, with nothing around it.

`floor` (the row floor): for each unique version, one create-only blob put and one row
write (an insert for a message's first version, an unconditional replace for later
ones), with the archiver's storage concurrency and versions of one message in order.

`transaction_floor`: what a delivery cannot do with less once rows of one thread share
a table transaction: for each delivery (the archiver's batches), one create-only blob
put per version it brings that no earlier delivery brought, and per thread one
transaction that upserts the row of each of its messages (a plain upsert for one row).

Both add, for each thread, one insert of its `ChatThreads` row, already in its final
state. Names, documents and rows are prepared before the clock starts: no HTTP, no
parsing, no decisions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.data.tables import UpdateMode
from azure.storage.blob import ContentSettings

from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.layout import latest_row, message_blob_name, message_document
from archiver.core.records import MessageVersion
from archiver.core.settings import (
    DEFAULT_CONTAINER,
    DEFAULT_MESSAGES_TABLE,
    DEFAULT_THREADS_TABLE,
    StorageSettings,
)
from archiver.core.threads import ThreadRow, advance, patches
from archiver.storage.clients import clients
from archiver.storage.entities import to_entity, to_thread_entity
from bench.counting import StorageRequests, since

_JSON = ContentSettings(content_type="application/json; charset=utf-8")


@dataclass(frozen=True)
class _Version:
    name: str
    document: bytes
    entity: dict[str, Any]
    first: bool


@dataclass(frozen=True)
class FloorRun:
    """How long the floor took, and the requests it made."""

    seconds: float
    requests: dict[str, int]


@dataclass(frozen=True)
class _Stores:
    """The containers and tables a floor writes to, and the shared concurrency limit."""

    container: Any
    table: Any
    limit: asyncio.Semaphore

    async def blob(self, version: _Version) -> None:
        async with self.limit:
            await self.container.upload_blob(
                version.name, version.document, overwrite=False, content_settings=_JSON
            )


async def _timed(
    connection: str,
    concurrency: int,
    threads: list[dict[str, Any]],
    work: Callable[[_Stores], list[Awaitable[None]]],
) -> FloorRun:
    """Run `work` and each thread row's insert at once; count and time only that."""
    counter = StorageRequests()
    # The archiver's own client configuration, so only the work around the calls differs.
    blobs, tables, _ = clients(StorageSettings(connection_string=connection), counter)
    async with blobs, tables:
        container = blobs.get_container_client(DEFAULT_CONTAINER)
        await container.create_container()
        table = await tables.create_table(DEFAULT_MESSAGES_TABLE)
        thread_table = await tables.create_table(DEFAULT_THREADS_TABLE)
        stores = _Stores(container, table, asyncio.Semaphore(concurrency))
        before = counter.snapshot()

        async def thread(entity: dict[str, Any]) -> None:
            async with stores.limit:
                await thread_table.create_entity(entity)

        began = time.perf_counter()
        await asyncio.gather(*work(stores), *(thread(row) for row in threads))
        seconds = time.perf_counter() - began
        after = counter.snapshot()
    return FloorRun(seconds=seconds, requests=since(after, before))


async def floor(events: tuple[str, ...], *, connection: str, concurrency: int) -> FloorRun:
    """Store the version carried by each of `events` (one thread-level event each)."""
    messages, threads = _prepared(events)

    async def one(stores: _Stores, versions: list[_Version]) -> None:
        for version in versions:
            await stores.blob(version)
            async with stores.limit:
                if version.first:
                    await stores.table.create_entity(version.entity)
                else:
                    await stores.table.update_entity(version.entity, mode=UpdateMode.REPLACE)

    return await _timed(
        connection, concurrency, threads, lambda stores: [one(stores, v) for v in messages]
    )


async def transaction_floor(
    batches: tuple[tuple[str, ...], ...], *, connection: str, concurrency: int
) -> FloorRun:
    """Store the new versions each delivery of `batches` brings: blobs, then one
    transaction per thread of the delivery."""
    deliveries, threads = _prepared_deliveries(batches)

    async def thread_group(
        stores: _Stores, versions: list[_Version], rows: list[dict[str, Any]]
    ) -> None:
        await asyncio.gather(*(stores.blob(v) for v in versions))
        async with stores.limit:
            if len(rows) == 1:  # one row: a plain write is the same request, lighter
                await stores.table.upsert_entity(rows[0], mode=UpdateMode.REPLACE)
            else:
                await stores.table.submit_transaction(
                    [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows]
                )

    return await _timed(
        connection,
        concurrency,
        threads,
        lambda stores: [thread_group(stores, *g) for delivery in deliveries for g in delivery],
    )


def _prepared_deliveries(
    batches: tuple[tuple[str, ...], ...],
) -> tuple[list[list[tuple[list[_Version], list[dict[str, Any]]]]], list[dict[str, Any]]]:
    """Per delivery, per thread: the versions no earlier delivery brought, and the row of
    each of their messages at the newest of them."""
    now = datetime.now(UTC)
    seen: set[str] = set()
    deliveries = []
    every: list[str] = []
    for events in batches:
        by_thread: dict[str, list[MessageVersion]] = defaultdict(list)
        for text in events:
            every.append(text)
            record = classify(RawEvent.from_value(_loads(text)))
            assert isinstance(record, MessageVersion), record
            name = message_blob_name(record)
            if name not in seen:
                seen.add(name)
                by_thread[record.thread_key].append(record)
        groups = []
        for versions in by_thread.values():
            newest: dict[str, MessageVersion] = {}
            for version in versions:
                known = newest.get(version.message_key)
                if known is None or version.version > known.version:
                    newest[version.message_key] = version
            groups.append(
                (
                    [
                        _Version(
                            message_blob_name(v), message_document(v, archived_at=now), {}, False
                        )
                        for v in versions
                    ],
                    [to_entity(latest_row(v)) for v in newest.values()],
                )
            )
        deliveries.append(groups)
    return deliveries, _prepared(tuple(every))[1]


def _prepared(events: tuple[str, ...]) -> tuple[list[list[_Version]], list[dict[str, Any]]]:
    now = datetime.now(UTC)
    by_message: dict[tuple[str, str], list[_Version]] = defaultdict(list)
    records = [classify(RawEvent.from_value(_loads(text))) for text in events]
    threads: dict[str, ThreadRow] = {}
    for patch in patches(records):
        row = advance(threads.get(patch.row.thread_key), patch)
        threads[patch.row.thread_key] = row or threads[patch.row.thread_key]
    for record in records:
        assert isinstance(record, MessageVersion), record
        versions = by_message[(record.thread_key, record.message_key)]
        versions.append(
            _Version(
                name=message_blob_name(record),
                document=message_document(record, archived_at=now),
                entity=to_entity(latest_row(record)),
                first=not versions,
            )
        )
    return list(by_message.values()), [to_thread_entity(row) for row in threads.values()]


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value
