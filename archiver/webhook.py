"""The Event Grid webhook as plain HTTP: handshakes, body rules and status codes.

No azure.functions here: function_app.py and the local host adapt their request
types to `HttpRequest` and send back the `HttpResponse` this module decides.
Status codes follow Event Grid's retry rules: 200 only once everything is stored,
503 when storage fails (Event Grid retries), 400/403/413 for requests that retrying
cannot fix (Event Grid dead-letters them, if configured).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from archiver.envelopes import RawEvent, split_body, validation_code
from archiver.errors import (
    BodyTooLarge,
    InvalidBody,
    InvalidQuery,
    RequestRejected,
    StorageUnavailable,
    TopicNotAllowed,
)
from archiver.intake import Intake
from archiver.storage.ports import Storage

log = logging.getLogger("archiver")
_PROBLEM = "application/problem+json"
# A header value must not be able to smuggle in another header or a second response.
_SAFE_ORIGIN = re.compile(r"^[\x21-\x7e]{1,253}$")
_STATUS: dict[type[RequestRejected], tuple[int, str]] = {
    InvalidBody: (400, "Bad Request"),
    InvalidQuery: (400, "Bad Request"),
    TopicNotAllowed: (403, "Forbidden"),
    BodyTooLarge: (413, "Payload Too Large"),
}


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request; header names are matched case-insensitively."""

    method: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The value of header `name`, whatever its case, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response, ready for any host to send."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _where(url: object) -> str:
    """A URL without its query, fragment or credentials; "none" when absent."""
    if not isinstance(url, str):
        return "none"
    try:
        parts = urlsplit(url[:2000])
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return "unparsable"
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:300]


def json_response(status: int, value: Any) -> HttpResponse:
    """A JSON response."""
    return HttpResponse(status, json.dumps(value).encode(), {"Content-Type": "application/json"})


def problem(status: int, title: str, detail: str) -> HttpResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return HttpResponse(status, json.dumps(body).encode(), {"Content-Type": _PROBLEM})


def too_large(limit: int) -> HttpResponse:
    """The 413 answer for a body over `limit` bytes; hosts send it without reading on."""
    return _rejected(
        BodyTooLarge(
            f"The body is larger than {limit} bytes (ARCHIVE_MAX_BODY_BYTES); send smaller batches."
        )
    )


def _rejected(exc: RequestRejected) -> HttpResponse:
    status, title = _STATUS[type(exc)]
    log.warning("Refused a request (%s): %s", status, exc)
    return problem(status, title, str(exc))


class Webhook:
    """Answers Event Grid: handshakes, notifications, and the errors in between."""

    def __init__(self, intake: Intake, *, max_body_bytes: int, allowed_rate: str) -> None:
        self._intake = intake
        self._max_body_bytes = max_body_bytes
        self._allowed_rate = allowed_rate

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request to /api/events; never raises."""
        try:
            if request.method == "OPTIONS":
                return self._abuse_protection(request)
            if request.method != "POST":
                return HttpResponse(405, b"", {"Allow": "POST, OPTIONS"})
            return await self._notification(request)
        except RequestRejected as exc:
            return _rejected(exc)
        except StorageUnavailable as exc:
            log.error("Storage failed; answering 503 so Event Grid redelivers: %s", exc)
            response = problem(
                503,
                "Service Unavailable",
                "Archive storage is unavailable; nothing was lost, deliver the events again later.",
            )
            response.headers["Retry-After"] = "30"
            return response
        except Exception:
            log.exception("Unexpected error while archiving; answering 500")
            return problem(
                500,
                "Internal Server Error",
                "The archiver failed unexpectedly; deliver the events again.",
            )

    async def _notification(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > self._max_body_bytes:
            return too_large(self._max_body_bytes)
        events = split_body(request.body)
        wants_validation = request.header("aeg-event-type") == "SubscriptionValidation"
        codes = [validation_code(event) for event in events]
        if wants_validation or any(codes):
            return self._validation(events, codes)
        report = await self._intake.accept(events)
        summary = report.summary()
        log.info("Archived a delivery: %s", summary)
        return json_response(200, summary)

    def _validation(self, events: list[RawEvent], codes: list[str | None]) -> HttpResponse:
        if len(events) != 1 or codes[0] is None:
            raise InvalidBody(
                "A subscription validation request must hold exactly one "
                "Microsoft.EventGrid.SubscriptionValidationEvent with a "
                "validationCode."
            )
        data = events[0].value.get("data")
        url = data.get("validationUrl") if isinstance(data, dict) else None
        # Answering with the code validates the subscription; the URL is the manual
        # alternative and is never fetched. Its query holds a validation token, a
        # capability, so only where it points is logged.
        log.info(
            "Answered an Event Grid subscription validation (validationUrl not fetched: %s)",
            _where(url),
        )
        return json_response(200, {"validationResponse": codes[0]})

    def _abuse_protection(self, request: HttpRequest) -> HttpResponse:
        origin = request.header("WebHook-Request-Origin")
        if origin is None or not _SAFE_ORIGIN.match(origin.strip()):
            raise InvalidBody(
                "The CloudEvents validation request needs a "
                "WebHook-Request-Origin header holding a host name."
            )
        log.info("Answered a CloudEvents abuse-protection request from %s", origin.strip())
        return HttpResponse(
            200,
            b"",
            {
                "WebHook-Allowed-Origin": origin.strip(),
                "WebHook-Allowed-Rate": self._allowed_rate,
                "Allow": "POST, OPTIONS",
            },
        )


async def health(storage: Storage, *, timeout_seconds: float = 5.0) -> HttpResponse:
    """200 when storage answers within the timeout, 503 otherwise."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await storage.ping()
    except (StorageUnavailable, TimeoutError) as exc:
        log.warning("Health check failed: %s", exc)
        return json_response(503, {"status": "unavailable"})
    return json_response(200, {"status": "ok"})
