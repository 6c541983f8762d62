"""A search as the CLI and `GET /api/search` run it: recorded in the audit trail before
the index is asked (no record, no search: eDiscovery tools record every search with who
asked and what), then the index's hits, each cited from the archive."""

from __future__ import annotations

from typing import Any

from archiver.core.fields import format_timestamp
from archiver.core.governance.principals import Principal
from archiver.core.search.citations import Hit
from archiver.core.search.queries import Query
from archiver.governance.trail import AuditTrail
from archiver.search.citing import cited
from archiver.search.ports import SearchIndex
from archiver.storage.ports import Storage


class Searching:
    """Searches `index` for a principal, citing every hit from `storage`."""

    def __init__(self, storage: Storage, index: SearchIndex, trail: AuditTrail) -> None:
        self._storage = storage
        self._index = index
        self._trail = trail

    async def search(
        self,
        query: Query,
        principal: Principal,
        *,
        request_id: str | None = None,
        client_ip: str | None = None,
    ) -> list[Hit]:
        """The hits of `query`, best first, cited; the search recorded first."""
        target = {} if query.thread_id is None else {"threadId": query.thread_id}
        await self._trail.record(
            "search",
            principal,
            outcome="allowed",
            target=target,
            request_id=request_id,
            client_ip=client_ip,
            details=described(query),
        )
        return await cited(self._storage, await self._index.search(query))


def described(query: Query) -> dict[str, Any]:
    """What a search asked, as its audit record and its answer say it."""
    return {
        "query": query.text,
        "threadId": query.thread_id,
        "participant": query.participant,
        "since": format_timestamp(query.since),
        "until": format_timestamp(query.until),
        "versions": str(query.versions),
        "includeDeleted": query.include_deleted,
        "limit": query.limit,
    }
