"""Answering a read or admin request with its audit record: the gate decides who may,
the answer is worked out, and it goes out only once its record is stored.

No record, no data: when the audit trail cannot be written, the answer is 503 and holds
nothing of the archive. An admitted request answered 4xx is recorded too. A request the
gate refuses (401, 403, or 503 when the tenant's keys cannot be read) is counted by the
gate instead, one record per caller and minute (archiver.access.refusals): a flood of
refusals must not cost a write each.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from archiver.access.gate import Gate
from archiver.core.errors import (
    ArchiverError,
    DamagedArchive,
    IdentityUnavailable,
    StorageError,
)
from archiver.core.governance.principals import Principal
from archiver.core.http import (
    RETRY_AFTER_SECONDS,
    HttpRequest,
    HttpResponse,
    error_response,
    problem,
)
from archiver.governance.trail import AuditTrail

log = logging.getLogger("archiver")
_UNAVAILABLE = "Archive storage is unavailable; retry."
_FAILED = "The request failed unexpectedly."
_NO_KEYS = "The identity provider's keys are unavailable, so the token cannot be checked; retry."
_UNRECORDED = "The request could not be recorded in the audit trail, so nothing is answered; retry."

Answer = Callable[[Principal], Awaitable[HttpResponse]]


class Audited:
    """Serves requests through the gate, each with one audit record."""

    def __init__(self, gate: Gate, trail: AuditTrail | None) -> None:
        self._gate = gate
        self._trail = trail

    async def serve(
        self,
        request: HttpRequest,
        *,
        action: str,
        role: str,
        target: Mapping[str, Any],
        answer: Answer,
        recorded_by_answer: bool = False,
        details: Mapping[str, Any] | None = None,
    ) -> HttpResponse:
        """The answer to `request`, after its audit record is stored; a request the gate
        refuses is answered at once, counted by the gate. With `recorded_by_answer` (a
        use case that records its own outcome, as holds do), nothing is recorded here."""
        try:
            principal = await self._gate.admit(request, role=role, route=action)
        except Exception as exc:  # counted by the gate among its refusals (a bug: a 500)
            return _error(exc, request)
        try:
            response = await answer(principal)
        except Exception as exc:  # every failure becomes an answer here, a bug a logged 500
            response = _error(exc, request)
        if self._trail is None or recorded_by_answer:
            return response
        try:
            await self._trail.record(
                action,
                principal,
                outcome="allowed" if response.status < 400 else "refused",
                target=target,
                status=response.status,
                request_id=request.request_id,
                client_ip=request.client_ip,
                details=details,
            )
        except StorageError as exc:
            log.error("Answering 503: the audit record of %s was not stored: %s", action, exc)
            unrecorded = problem(503, "Service Unavailable", _UNRECORDED)
            unrecorded.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return unrecorded
        return response


def _error(exc: BaseException, request: HttpRequest) -> HttpResponse:
    """The problem answer for whatever the work raised; never a traceback."""
    request_id = request.request_id
    if isinstance(exc, IdentityUnavailable):
        return error_response(exc, unavailable=_NO_KEYS, failed=_FAILED, request_id=request_id)
    if isinstance(exc, DamagedArchive):
        failed = f"{exc}; run archiver verify"
        return error_response(exc, unavailable=_UNAVAILABLE, failed=failed, request_id=request_id)
    if isinstance(exc, ArchiverError):
        return error_response(exc, unavailable=_UNAVAILABLE, failed=_FAILED, request_id=request_id)
    log.error("Unexpected error answering a request; answering 500", exc_info=exc)
    return problem(500, "Internal Server Error", _FAILED)
