"""The read API as plain HTTP: a thread, its messages page by page, a message's versions.

How an app shows a chat window from the archive after ACS has deleted the thread. Like
the webhook, it knows nothing of azure.functions: the function app and the local host
hand it the request, and send back the HttpResponse it decides. Each answer first asks
the gate: with Microsoft Entra ID, a token with the app role Archive.Read.

- `GET /api/threads/{threadId}`: what the thread row says.
- `GET /api/threads/{threadId}/messages`: latest versions in message-id (compose)
  order; `since`, `until` (compose time, ISO 8601), `pageSize` (1-1000, default 100),
  `continuationToken` (from the previous page, with the same other parameters),
  `includeDeleted` (`true` to include tombstones of deleted messages).
- `GET /api/threads/{threadId}/messages/{messageId}/versions`: every archived version,
  oldest first; `includeEvent=true` adds the original event of each.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from archiver.access.gate import Gate
from archiver.core.accesssettings import AccessSettings
from archiver.core.errors import ArchiverError, DamagedArchive, IdentityUnavailable, InvalidQuery
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.http import HttpRequest, HttpResponse, error_response, json_response, problem
from archiver.core.principals import READ_ROLE
from archiver.retrieval.readback import latest_page, thread_of, versions_of
from archiver.retrieval.transcript import document_entry, thread_section
from archiver.storage.ports import Storage, Window

log = logging.getLogger("archiver")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_UNAVAILABLE = "Archive storage is unavailable; retry."
_FAILED = "The read failed unexpectedly."
_NO_KEYS = "The identity provider's keys are unavailable, so the token cannot be checked; retry."
_ALWAYS_ALLOWED = frozenset({"code"})  # the function key, when sent as a query parameter


class ReadApi:
    """Answers the read routes from the archive's storage; never raises."""

    def __init__(self, storage: Storage, *, gate: Gate | None = None) -> None:
        self._storage = storage
        self._gate = gate if gate is not None else Gate(AccessSettings())

    async def thread(self, request: HttpRequest) -> HttpResponse:
        """What the archive knows of one thread (route: threadId)."""
        thread_id, query = request.route["threadId"], request.query

        async def answer() -> HttpResponse:
            await self._gate.admit(request, role=READ_ROLE)
            _allowed(query, set())
            row = await thread_of(self._storage, thread_id)
            body = thread_section(thread_id, row)
            body["lastActivity"] = format_timestamp(row.last_activity) if row else None
            return json_response(200, body)

        return await _answered(answer)

    async def messages(self, request: HttpRequest) -> HttpResponse:
        """One page of a thread's latest messages (route: threadId)."""
        thread_id, query = request.route["threadId"], request.query

        async def answer() -> HttpResponse:
            await self._gate.admit(request, role=READ_ROLE)
            _allowed(query, {"since", "until", "pageSize", "continuationToken", "includeDeleted"})
            window = Window(
                since=_moment(query, "since"),
                until=_moment(query, "until"),
                include_deleted=_flag(query, "includeDeleted"),
            )
            if window.since and window.until and window.since >= window.until:
                raise InvalidQuery("since must be earlier than until")
            size = _size(query)
            token = query.get("continuationToken") or None
            if token is None:
                await thread_of(self._storage, thread_id)  # 404 for a thread never seen
            entries, following = await latest_page(
                self._storage, thread_id, window, size=size, token=token
            )
            return json_response(
                200,
                {"threadId": thread_id, "messages": entries, "continuationToken": following},
            )

        return await _answered(answer)

    async def versions(self, request: HttpRequest) -> HttpResponse:
        """Every archived version of one message (route: threadId, messageId)."""
        thread_id, message_id = request.route["threadId"], request.route["messageId"]
        query = request.query

        async def answer() -> HttpResponse:
            await self._gate.admit(request, role=READ_ROLE)
            _allowed(query, {"includeEvent"})
            with_event = _flag(query, "includeEvent")
            documents = await versions_of(self._storage, thread_id, message_id)
            versions = [_version(document, with_event=with_event) for document in documents]
            return json_response(
                200, {"threadId": thread_id, "messageId": message_id, "versions": versions}
            )

        return await _answered(answer)


async def _answered(answer: Callable[[], Awaitable[HttpResponse]]) -> HttpResponse:
    try:
        return await answer()
    except IdentityUnavailable as exc:
        return error_response(exc, unavailable=_NO_KEYS, failed=_FAILED)
    except DamagedArchive as exc:
        return error_response(exc, unavailable=_UNAVAILABLE, failed=f"{exc}; run archiver verify")
    except ArchiverError as exc:
        return error_response(exc, unavailable=_UNAVAILABLE, failed=_FAILED)
    except Exception:
        log.exception("Unexpected error while reading; answering 500")
        return problem(500, "Internal Server Error", _FAILED)


def _version(document: dict[str, Any], *, with_event: bool) -> dict[str, Any]:
    version = document_entry(document)
    version["archivedAt"] = document.get("archivedAt")
    version["eventType"] = document.get("eventType")
    if with_event:
        version["event"] = document.get("event")
    return version


def _allowed(query: Mapping[str, str], names: set[str]) -> None:
    unknown = sorted(set(query) - names - _ALWAYS_ALLOWED)
    if unknown:
        expected = ", ".join(sorted(names)) or "none"
        raise InvalidQuery(f"unknown query parameter {unknown[0]!r} (expected: {expected})")


def _moment(query: Mapping[str, str], name: str) -> Any:
    text = query.get(name)
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise InvalidQuery(f"{name} {exc}, e.g. 2026-11-01T09:00:00Z") from exc


def _flag(query: Mapping[str, str], name: str) -> bool:
    text = query.get(name, "false").lower()
    if text not in ("true", "false"):
        raise InvalidQuery(f"{name} must be true or false, got {query[name]!r}")
    return text == "true"


def _size(query: Mapping[str, str]) -> int:
    text = query.get("pageSize")
    if text is None:
        return DEFAULT_PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise InvalidQuery(
            f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, got {text!r}"
        )
    return int(text)
