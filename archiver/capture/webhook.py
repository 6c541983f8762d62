"""The Event Grid webhook as plain HTTP: handshakes, body rules and status codes.

No azure.functions here: function_app.py and the local host adapt their request
types to `HttpRequest` and send back the `HttpResponse` this module decides.
Status codes follow Event Grid's retry rules: 200 only once everything is stored,
503 when storage fails (Event Grid retries), 400/401/403/413 for requests that retrying
cannot fix (Event Grid dead-letters them, if configured); archiver.core.http maps
each error to its status.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from archiver.access.gate import Gate
from archiver.capture.intake import Intake
from archiver.core.accesssettings import AccessSettings
from archiver.core.envelopes import RawEvent, split_body, validation_code
from archiver.core.errors import ArchiverError, BodyTooLarge, IdentityUnavailable, InvalidBody
from archiver.core.http import (
    HttpRequest,
    HttpResponse,
    empty_response,
    error_response,
    json_response,
    problem,
)

log = logging.getLogger("archiver")
# A header value must not be able to smuggle in another header or a second response.
_SAFE_ORIGIN = re.compile(r"^[\x21-\x7e]{1,253}$")
_UNAVAILABLE = "Archive storage is unavailable; nothing was lost, deliver the events again later."
_FAILED = "The archiver failed unexpectedly; deliver the events again."
_NO_KEYS = "The identity provider's keys are unavailable, so the token cannot be checked; retry."


def _where(url: object) -> str:
    """A URL without its query, fragment or credentials; "none" when absent."""
    if not isinstance(url, str):
        return "none"
    try:
        parts = urlsplit(url[:2000])
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return "unparsable"
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:300]


def too_large(limit: int) -> HttpResponse:
    """The 413 answer for a body over `limit` bytes; hosts send it without reading on."""
    return error_response(
        BodyTooLarge(
            f"The body is larger than {limit} bytes (ARCHIVE_MAX_BODY_BYTES); send smaller batches."
        ),
        unavailable=_UNAVAILABLE,
        failed=_FAILED,
    )


class Webhook:
    """Answers Event Grid: handshakes, notifications, and the errors in between."""

    def __init__(
        self,
        intake: Intake,
        *,
        max_body_bytes: int,
        allowed_rate: str,
        answered: Callable[[int, float], None] | None = None,
        gate: Gate | None = None,
    ) -> None:
        self._intake = intake
        # Who may deliver: with Entra ID, Event Grid's token is checked before the body is.
        self._gate = gate if gate is not None else Gate(AccessSettings())
        self._max_body_bytes = max_body_bytes
        self._allowed_rate = allowed_rate
        self._answered = answered  # told each answer's status and seconds (the metrics)

    def too_large(self) -> HttpResponse:
        """The 413 for a body a host would not read to its end (and counted as refused)."""
        response = too_large(self._max_body_bytes)
        if self._answered is not None:
            self._answered(response.status, 0.0)
        return response

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request to /api/events; never raises."""
        began = time.perf_counter()
        response = await self._handle(request)
        if self._answered is not None:
            self._answered(response.status, time.perf_counter() - began)
        return response

    async def _handle(self, request: HttpRequest) -> HttpResponse:
        try:
            await self._gate.admit_event_grid(request)
            if request.method == "OPTIONS":
                return self._abuse_protection(request)
            if request.method != "POST":
                return empty_response(405, {"Allow": "POST, OPTIONS"})
            return await self._notification(request)
        except IdentityUnavailable as exc:
            return error_response(
                exc, unavailable=_NO_KEYS, failed=_FAILED, request_id=request.request_id
            )
        except ArchiverError as exc:
            return error_response(
                exc, unavailable=_UNAVAILABLE, failed=_FAILED, request_id=request.request_id
            )
        except Exception:
            log.exception(
                "Unexpected error while archiving (request %s); answering 500", request.request_id
            )
            return problem(500, "Internal Server Error", _FAILED)

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
        # The one line a delivery leaves: counts and the invocation, never content.
        log.info(
            "Archived a delivery: %s (request %s)",
            " ".join(f"{name}={count}" for name, count in summary.items()),
            request.request_id,
        )
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
        return empty_response(
            200,
            {
                "WebHook-Allowed-Origin": origin.strip(),
                "WebHook-Allowed-Rate": self._allowed_rate,
                "Allow": "POST, OPTIONS",
            },
        )
