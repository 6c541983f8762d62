"""The audit trail: records written create-only before the audited answer goes out (and
the gate's counted refusals, a record per caller and minute), listed back by day,
principal or thread."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from archiver.core.errors import AlreadyStored
from archiver.core.fields import parse_timestamp
from archiver.core.governance.audit import AUDIT_PREFIX, AuditRecord, day_prefix
from archiver.core.governance.principals import Principal
from archiver.storage.ports import Storage


class AuditTrail:
    """Writes and lists the audit records of one archive."""

    def __init__(
        self, storage: Storage, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._prepared = False

    async def record(
        self,
        action: str,
        principal: Principal,
        *,
        outcome: str,
        target: Mapping[str, Any] | None = None,
        status: int | None = None,
        request_id: str | None = None,
        client_ip: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        """Store one record and return it; raise StorageError when it could not be
        stored (an audited read must then not answer with data)."""
        record = AuditRecord(
            time=self._clock(),
            principal=principal,
            action=action,
            outcome=outcome,
            target=target or {},
            status=status,
            request_id=request_id,
            client_ip=client_ip,
            details=details or {},
        )
        await self._storage.blobs.create(*await self._named(record))
        return record

    async def store(self, record: AuditRecord) -> None:
        """Store a record made elsewhere (the gate's refusals); one already stored under
        its name, by an earlier try whose answer was lost, is done."""
        with contextlib.suppress(AlreadyStored):
            await self._storage.blobs.create(*await self._named(record))

    async def _named(self, record: AuditRecord) -> tuple[str, bytes]:
        if not self._prepared:  # once per process: the container may not exist yet
            await self._storage.prepare()
            self._prepared = True
        return record.name, record.document()

    async def records(
        self,
        *,
        since: datetime | None = None,
        principal: str | None = None,
        thread: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The records from `since` (all when None), oldest first, naming `principal`
        (object id, app id, name, kind or client address) or `thread` when given."""
        async for name in self._names(since):
            document = json.loads(await self._storage.blobs.read(name))
            if since is not None and _before(document, since):
                continue
            if principal is not None and principal not in _names_of(document):
                continue
            if thread is not None and (document.get("target") or {}).get("threadId") != thread:
                continue
            yield document

    async def _names(self, since: datetime | None) -> AsyncIterator[str]:
        if since is None:
            async for name in self._storage.blobs.names(AUDIT_PREFIX):
                yield name
            return
        day, today = since.astimezone(UTC), self._clock().astimezone(UTC)
        while day.date() <= today.date():
            async for name in self._storage.blobs.names(day_prefix(day)):
                yield name
            day += timedelta(days=1)


def _names_of(document: dict[str, Any]) -> set[str]:
    who = document.get("principal") or {}
    names = {str(who.get(k)) for k in ("objectId", "appId", "name", "kind") if who.get(k)}
    return names | ({str(document["clientIp"])} if document.get("clientIp") else set())


def _before(document: dict[str, Any], since: datetime) -> bool:
    """True when the record is older than `since`; a time that does not parse is listed."""
    try:
        return parse_timestamp(document.get("time")) < since
    except ValueError:
        return False
