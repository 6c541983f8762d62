"""`GET /api/search`: the search as plain HTTP, for Archive.Read, every search recorded
in the audit trail with its query and who asked (as eDiscovery tools record searches),
refused ones too; the answer goes out only once its record is stored.

Parameters: `q` (the words, as `archiver search` takes them), `threadId`,
`participant` (a sender's id or display name), `since`, `until` (ISO 8601),
`versions` (`latest` or `all`), `includeDeleted` (`true`), `limit` (1-1000, 20).
The answer: `{"search": what was asked, "hits": [...]}`, each hit with its citation.
With ARCHIVE_SEARCH=off the route answers 404 saying so.
"""

from __future__ import annotations

from collections.abc import Callable

from archiver.access.gate import Gate
from archiver.core.governance.principals import READ_ROLE, Principal
from archiver.core.http import HttpRequest, HttpResponse, json_response, problem
from archiver.core.queryparams import allowed, flag, moment, whole
from archiver.core.search.queries import DEFAULT_LIMIT, MAX_LIMIT, Query, query_of
from archiver.governance.trail import AuditTrail
from archiver.retrieval.audited import Audited
from archiver.search.citing import cited
from archiver.search.indexes import Indexes
from archiver.search.searching import described
from archiver.storage.ports import Storage

PARAMETERS = {"q", "threadId", "participant", "since", "until", "versions", "includeDeleted",
              "limit"}  # fmt: skip
OFF = "Search is off on this archive (ARCHIVE_SEARCH=off): set ARCHIVE_SEARCH to local or aisearch."


class SearchApi:
    """Answers `GET /api/search` from `index()` (None when search is off); never raises."""

    def __init__(
        self,
        storage: Storage,
        index: Callable[[], Indexes | None],
        *,
        gate: Gate,
        trail: AuditTrail,
    ) -> None:
        self._storage = storage
        self._index = index
        self._audited = Audited(gate, trail)

    async def search(self, request: HttpRequest) -> HttpResponse:
        """The hits of the request's query, cited."""
        asked = {name: request.query.get(name) for name in sorted(PARAMETERS)}

        async def answer(_: Principal) -> HttpResponse:
            indexes = self._index()
            if indexes is None:
                return problem(404, "Not Found", OFF)
            query = _query(request)
            index = await indexes.ready()
            hits = await cited(self._storage, await index.search(query))
            return json_response(
                200, {"search": described(query), "hits": [hit.as_json() for hit in hits]}
            )

        target = {} if asked["threadId"] is None else {"threadId": asked["threadId"]}
        return await self._audited.serve(
            request, action="search", role=READ_ROLE, target=target, answer=answer, details=asked
        )


def _query(request: HttpRequest) -> Query:
    query = request.query
    allowed(query, PARAMETERS)
    return query_of(
        query.get("q", ""),
        thread_id=query.get("threadId"),
        participant=query.get("participant"),
        since=moment(query, "since"),
        until=moment(query, "until"),
        versions=query.get("versions", "latest"),
        include_deleted=flag(query, "includeDeleted"),
        limit=whole(query, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT),
    )
