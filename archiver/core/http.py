"""HTTP as plain values: requests, responses, RFC 9457 problems, and each error's status.

No web framework here: function_app.py and the local host adapt their own request
types to `HttpRequest` and send back the `HttpResponse` the archiver decides. Which
status an error answers with is decided in one table, by error class and its
ancestors, so a new subclass of a mapped error answers as its parent does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.core.errors import (
    AcsError,
    AcsUnavailable,
    ArchiverError,
    BodyTooLarge,
    Erased,
    Forbidden,
    IdentityUnavailable,
    NotSealed,
    OnHold,
    RequestRejected,
    SearchUnavailable,
    StorageError,
    TopicNotAllowed,
    Unauthenticated,
    UnknownContainer,
    UnknownThread,
)

log = logging.getLogger("archiver")
PROBLEM = "application/problem+json"
JSON = "application/json"
# Most specific first: the first class an error is an instance of decides its status.
STATUSES: tuple[tuple[type[ArchiverError], int, str], ...] = (
    (BodyTooLarge, 413, "Payload Too Large"),
    (TopicNotAllowed, 403, "Forbidden"),
    (RequestRejected, 400, "Bad Request"),
    (Unauthenticated, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (OnHold, 409, "Conflict"),
    (NotSealed, 409, "Conflict"),
    (UnknownThread, 404, "Not Found"),
    (UnknownContainer, 404, "Not Found"),
    (Erased, 410, "Gone"),
    (StorageError, 503, "Service Unavailable"),
    (AcsUnavailable, 503, "Service Unavailable"),
    (IdentityUnavailable, 503, "Service Unavailable"),
    (SearchUnavailable, 503, "Service Unavailable"),
    (AcsError, 502, "Bad Gateway"),
    (ArchiverError, 500, "Internal Server Error"),
)
RETRY_AFTER_SECONDS = "30"


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request; header names are matched case-insensitively."""

    method: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    route: Mapping[str, str] = field(default_factory=dict)  # the route's {parameters}
    query: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None  # the Functions invocation id, or the local host's own
    client_ip: str | None = None  # where the request came from, when the host says

    def header(self, name: str) -> str | None:
        """The value of header `name`, whatever its case, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response, ready for any host to send; it always names its content type."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, value: Any) -> HttpResponse:
    """A JSON response."""
    return HttpResponse(status, json.dumps(value).encode(), {"Content-Type": JSON})


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """A response without a body (still with a content type, as hosts otherwise add one)."""
    return HttpResponse(
        status, b"", {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
    )


def problem(status: int, title: str, detail: str) -> HttpResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return HttpResponse(status, json.dumps(body).encode(), {"Content-Type": PROBLEM})


def client_ip(forwarded: str | None) -> str | None:
    """The caller, for the audit trail: the first address of X-Forwarded-For, which the
    platform's front ends set (it may carry a port)."""
    return (forwarded or "").split(",")[0].strip() or None


def status_of(error: ArchiverError) -> tuple[int, str]:
    """The status code and reason phrase `error` answers with."""
    return next((code, title) for kind, code, title in STATUSES if isinstance(error, kind))


def error_response(
    error: ArchiverError, *, unavailable: str, failed: str, request_id: str | None = None
) -> HttpResponse:
    """The problem answer for `error`: its own message for a 4xx or a 502; for a 503 (with
    Retry-After) `unavailable`, and for a 500 `failed`, since their messages may name
    storage internals."""
    status, title = status_of(error)
    if status < 500:
        log.warning("Refused a request (%s, request %s): %s", status, request_id, error)
        response = problem(status, title, str(error))
        if status == 401:  # RFC 6750: say how to authenticate
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    log.error("Answering %s (request %s): %s: %s", status, request_id, type(error).__name__, error)
    detail = {502: str(error), 503: unavailable}.get(status, failed)
    response = problem(status, title, detail)
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response
