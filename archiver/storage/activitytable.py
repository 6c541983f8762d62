"""`ChatActivity` over the async Table SDK: rows upserted a partition at a time, read by
partition-key range (archiver.core.activity says what the partitions are)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from archiver.core.activity import CURSORS
from archiver.storage.translation import translated

# A table transaction holds at most 100 entities of one partition.
_TRANSACTION = 100


class AzureActivityTable:
    """One row per thread per partition; the cursors in their own partition."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def record(self, partition: str, thread_keys: Collection[str]) -> None:
        """Upsert the rows: one request for up to 100 threads of one partition."""
        keys = sorted(set(thread_keys))
        with translated(f"recording activity in {partition}"):
            for start in range(0, len(keys), _TRANSACTION):
                chunk = keys[start : start + _TRANSACTION]
                if len(chunk) == 1:
                    await self._table.upsert_entity(
                        _row(partition, chunk[0]), mode=UpdateMode.MERGE
                    )
                    continue
                await self._table.submit_transaction(
                    [("upsert", _row(partition, key), {"mode": UpdateMode.MERGE}) for key in chunk]
                )

    async def thread_keys(self, first: str, last: str) -> AsyncIterator[str]:
        """The thread keys of the partitions from `first` to `last`, by one range query."""
        query = "PartitionKey ge @first and PartitionKey le @last"
        with translated(f"reading activity from {first} to {last}"):
            async for entity in self._table.query_entities(
                query, parameters={"first": first, "last": last}, select=["RowKey"]
            ):
                yield str(entity["RowKey"])

    async def forget(self, partition: str, thread_key: str) -> None:
        """Delete the row; a missing one is fine."""
        with (
            translated(f"forgetting {partition}/{thread_key}"),
            contextlib.suppress(ResourceNotFoundError),
        ):
            await self._table.delete_entity(partition, thread_key)

    async def claim(self, partition: str, key: str, *, now: datetime, hold: timedelta) -> bool:
        """Insert the lease row, or replace an ended one by its ETag; False if another
        holder's lease runs or another claimant won."""
        entity = {"PartitionKey": partition, "RowKey": key, "until": (now + hold).isoformat()}
        with translated(f"claiming {partition}/{key}"):
            with contextlib.suppress(ResourceExistsError):
                await self._table.create_entity(entity)
                return True
            try:
                found = await self._table.get_entity(partition, key)
            except ResourceNotFoundError:
                return False  # released meanwhile: the next claim takes it
            until = found.get("until")
            if isinstance(until, str) and datetime.fromisoformat(until) > now:
                return False
            try:
                await self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=found.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                return False
            return True

    async def cursor(self, job: str) -> str | None:
        """The first hour `job`'s next run reads."""
        with translated(f"reading the {job} cursor"), contextlib.suppress(ResourceNotFoundError):
            entity = await self._table.get_entity(CURSORS, job)
            hour = entity.get("hour")
            return hour if isinstance(hour, str) else None
        return None

    async def move_cursor(self, job: str, hour: str) -> None:
        """Set `job`'s cursor."""
        entity = {"PartitionKey": CURSORS, "RowKey": job, "hour": hour}
        with translated(f"moving the {job} cursor"):
            await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)


def _row(partition: str, thread_key: str) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": thread_key}
