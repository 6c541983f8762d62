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
- `GET|PUT|DELETE /api/threads/{threadId}/hold` and `/api/participants/{participantId}/hold`:
  legal holds per matter, for Archive.Admin (archiver.governance.holds).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from archiver.access.gate import Gate
from archiver.core.accesssettings import AccessSettings
from archiver.core.errors import InvalidQuery
from archiver.core.fields import format_timestamp
from archiver.core.governance.holds import Hold, Scope
from archiver.core.governance.principals import ADMIN_ROLE, READ_ROLE, Principal
from archiver.core.http import HttpRequest, HttpResponse, json_response
from archiver.core.queryparams import allowed, flag, moment, whole
from archiver.governance.holds import Change, Holds
from archiver.governance.recorded import aimed
from archiver.governance.trail import AuditTrail
from archiver.retrieval.audited import Audited
from archiver.retrieval.readback import latest_page, thread_of, versions_of
from archiver.retrieval.transcript import document_entry, thread_section
from archiver.storage.ports import Storage, Window

log = logging.getLogger("archiver")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class ReadApi:
    """Answers the read routes from the archive's storage, each read recorded in the
    audit trail before it answers; never raises."""

    def __init__(
        self,
        storage: Storage,
        *,
        gate: Gate | None = None,
        trail: AuditTrail | None = None,
        holds: Holds | None = None,
    ) -> None:
        self._storage = storage
        self._audited = Audited(gate if gate is not None else Gate(AccessSettings()), trail)
        self._holds = holds

    async def thread(self, request: HttpRequest) -> HttpResponse:
        """What the archive knows of one thread (route: threadId)."""
        thread_id, query = request.route["threadId"], request.query

        async def answer(_: Principal) -> HttpResponse:
            allowed(query, set())
            row = await thread_of(self._storage, thread_id)
            body = thread_section(thread_id, row)
            body["lastActivity"] = format_timestamp(row.last_activity) if row else None
            return json_response(200, body)

        return await self._read(request, "read.thread", {"threadId": thread_id}, answer)

    async def messages(self, request: HttpRequest) -> HttpResponse:
        """One page of a thread's latest messages (route: threadId)."""
        thread_id, query = request.route["threadId"], request.query

        async def answer(_: Principal) -> HttpResponse:
            allowed(query, {"since", "until", "pageSize", "continuationToken", "includeDeleted"})
            window = Window(
                since=moment(query, "since"),
                until=moment(query, "until"),
                include_deleted=flag(query, "includeDeleted"),
            )
            if window.since and window.until and window.since >= window.until:
                raise InvalidQuery("since must be earlier than until")
            size = whole(query, "pageSize", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
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

        return await self._read(request, "read.messages", {"threadId": thread_id}, answer)

    async def versions(self, request: HttpRequest) -> HttpResponse:
        """Every archived version of one message (route: threadId, messageId)."""
        thread_id, message_id = request.route["threadId"], request.route["messageId"]
        query = request.query

        async def answer(_: Principal) -> HttpResponse:
            allowed(query, {"includeEvent"})
            with_event = flag(query, "includeEvent")
            documents = await versions_of(self._storage, thread_id, message_id)
            versions = [_version(document, with_event=with_event) for document in documents]
            return json_response(
                200, {"threadId": thread_id, "messageId": message_id, "versions": versions}
            )

        target = {"threadId": thread_id, "messageId": message_id}
        return await self._read(request, "read.versions", target, answer)

    async def hold(self, request: HttpRequest) -> HttpResponse:
        """A thread's legal holds (route: threadId), for Archive.Admin: GET every hold in
        force on it, PUT places `{"matter", "reason"}`, DELETE releases one matter's
        (`{"matter", "reason"}`, or `?matter=`; no matter: the legacy hold)."""
        return await self._hold(request, Scope.THREAD, request.route["threadId"])

    async def participant_hold(self, request: HttpRequest) -> HttpResponse:
        """A custodian's legal holds (route: participantId, the raw id), for
        Archive.Admin: as `hold`, for every thread the participant is or was in."""
        return await self._hold(request, Scope.PARTICIPANT, request.route["participantId"])

    async def _hold(self, request: HttpRequest, scope: Scope, target: str) -> HttpResponse:
        method = request.method
        action = {"PUT": "hold.add", "DELETE": "hold.release"}.get(method, "hold.read")

        async def answer(principal: Principal) -> HttpResponse:
            if self._holds is None:
                raise AssertionError("the read API is built with the holds")
            holds = self._holds
            if method == "GET":
                allowed(request.query, set())
                return json_response(200, held_json(scope, target, await holds.of(scope, target)))
            try:
                allowed(request.query, {"matter"} if method == "DELETE" else set())
                matter, reason = _hold_request(request)
            except InvalidQuery as exc:  # refused before it reached the holds: record it
                await holds.refuse(action, scope, target, principal, exc)
                raise
            if method == "PUT":
                change = await holds.add(
                    scope, target, matter=matter, reason=reason, principal=principal
                )
            else:
                change = await holds.release(
                    scope, target, matter=matter, reason=reason, principal=principal
                )
            return json_response(200, change_json(scope, target, change))

        return await self._audited.serve(
            request,
            action=action,
            role=ADMIN_ROLE,
            target=aimed(scope, target),
            answer=answer,
            recorded_by_answer=method != "GET",
        )

    async def _read(
        self,
        request: HttpRequest,
        action: str,
        target: dict[str, str],
        answer: Callable[[Principal], Awaitable[HttpResponse]],
    ) -> HttpResponse:
        return await self._audited.serve(
            request, action=action, role=READ_ROLE, target=target, answer=answer
        )


def _version(document: dict[str, Any], *, with_event: bool) -> dict[str, Any]:
    version = document_entry(document)
    version["archivedAt"] = document.get("archivedAt")
    version["eventType"] = document.get("eventType")
    if with_event:
        version["event"] = document.get("event")
    return version


def _hold_request(request: HttpRequest) -> tuple[str | None, str]:
    """The matter and reason of a hold request: its JSON body `{"matter", "reason"}`
    (`case` is the matter's older name) or, to release, `?matter=`. A missing reason
    reads as empty, and the holds refuse it (and record that)."""
    try:
        value = json.loads(request.body) if request.body.strip() else {}
    except ValueError:
        raise InvalidQuery("the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidQuery('the body must be a JSON object, e.g. {"matter": ..., "reason": ...}')
    for name in ("matter", "case", "reason"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise InvalidQuery(f"{name} must be text")
    named = {m for m in (value.get("matter"), value.get("case"), request.query.get("matter")) if m}
    if len(named) > 1:
        raise InvalidQuery(f"the request names more than one matter: {', '.join(sorted(named))}")
    return (named.pop() if named else None), value.get("reason") or ""


def hold_json(hold: Hold) -> dict[str, Any]:
    """One hold as the API answers it."""
    return {
        "matter": hold.matter,
        "scope": str(hold.scope),
        "threadId" if hold.scope is Scope.THREAD else "participantId": hold.target,
        "held": hold.held,
        "reason": hold.reason,
        "case": hold.matter if hold.matter is not None else hold.case,
        "placedBy": hold.placed_by,
        "placedAt": format_timestamp(hold.placed_at),
        "releasedBy": hold.released_by,
        "releasedAt": format_timestamp(hold.released_at),
        "releaseReason": hold.release_reason,
    }


def held_json(scope: Scope, target: str, holds: tuple[Hold, ...]) -> dict[str, Any]:
    """Every hold in force on a thread (its own and its custodians') or a participant."""
    return {
        **aimed(scope, target),
        "held": bool(holds),
        "holds": [hold_json(hold) for hold in holds],
    }


def change_json(scope: Scope, target: str, change: Change) -> dict[str, Any]:
    """A hold change as the API answers it: the matter's hold as it is now, and every
    hold in force after it (`disposing`: threads a custodian hold came too late for)."""
    answer = {**hold_json(change.hold), **aimed(scope, target)}
    answer["holds"] = [hold_json(hold) for hold in change.holds]
    if change.disposing:
        answer["disposing"] = list(change.disposing)
    return answer
