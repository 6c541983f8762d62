"""A small local host that serves the function app's routes through the same code.

For machines without Azure Functions Core Tools. It mirrors what the Functions host
does for this app: `/api/events` (webhook, function key optional), the read API under
`/api/threads/` (function key optional), `/api/health` (anonymous), and
`/runtime/webhooks/eventgrid?functionName=archive_event`, the URL Core Tools gives the
native Event Grid trigger, invoking it once per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal

from aiohttp import web

from archiver import viewer
from archiver.bootstrap import Services
from archiver.envelopes import split_body, validation_code
from archiver.errors import InvalidBody, StorageUnavailable, TopicNotAllowed
from archiver.webhook import (
    HttpRequest,
    HttpResponse,
    health,
    json_response,
    problem,
    too_large,
)

log = logging.getLogger("archiver")
TRIGGER_FUNCTION = "archive_event"
_SERVICES = web.AppKey("services", Services)


def create_app(services: Services) -> web.Application:
    """The aiohttp application for `services`."""
    app = web.Application()
    app[_SERVICES] = services
    app.router.add_route("POST", "/api/events", _events)
    app.router.add_route("OPTIONS", "/api/events", _events)
    app.router.add_route("GET", "/api/health", _health)
    app.router.add_get("/api/threads/{thread_id}", _thread)
    app.router.add_get("/api/threads/{thread_id}/messages", _messages)
    app.router.add_get("/api/threads/{thread_id}/messages/{message_id}/versions", _versions)
    app.router.add_post("/runtime/webhooks/eventgrid", _native_trigger)
    if services.feed is not None:
        viewer.install(app, services.feed)
    return app


def _unauthorized() -> web.Response:
    return _send(
        problem(
            401,
            "Unauthorized",
            "A valid function key is required "
            "(the `code` query parameter or `x-functions-key` header).",
        )
    )


async def _thread(request: web.Request) -> web.StreamResponse:
    services = request.app[_SERVICES]
    if not _authorized(request, services.settings.local_function_key):
        return _unauthorized()
    return _send(await services.reader.thread(request.match_info["thread_id"], request.query))


async def _messages(request: web.Request) -> web.StreamResponse:
    services = request.app[_SERVICES]
    if not _authorized(request, services.settings.local_function_key):
        return _unauthorized()
    return _send(await services.reader.messages(request.match_info["thread_id"], request.query))


async def _versions(request: web.Request) -> web.StreamResponse:
    services = request.app[_SERVICES]
    if not _authorized(request, services.settings.local_function_key):
        return _unauthorized()
    ids = request.match_info
    return _send(await services.reader.versions(ids["thread_id"], ids["message_id"], request.query))


async def _events(request: web.Request) -> web.StreamResponse:
    services = request.app[_SERVICES]
    if not _authorized(request, services.settings.local_function_key):
        return _unauthorized()
    limit = services.settings.max_body_bytes
    body = await _read(request, limit) if request.method == "POST" else b""
    if body is None:
        return _send(too_large(limit))
    response = await services.webhook.handle(
        HttpRequest(request.method, body, dict(request.headers))
    )
    return _send(response)


async def _health(request: web.Request) -> web.StreamResponse:
    return _send(await health(request.app[_SERVICES].storage))


async def _native_trigger(request: web.Request) -> web.StreamResponse:
    """What the Functions Event Grid extension does: one invocation per event."""
    services = request.app[_SERVICES]
    if request.query.get("functionName") != TRIGGER_FUNCTION:
        return _send(
            problem(
                404,
                "Not Found",
                f"No Event Grid trigger function named {request.query.get('functionName')!r}.",
            )
        )
    body = await _read(request, services.settings.max_body_bytes)
    if body is None:
        return _send(too_large(services.settings.max_body_bytes))
    try:
        events = split_body(body)
    except InvalidBody as exc:
        return _send(problem(400, "Bad Request", str(exc)))
    kind = request.headers.get("aeg-event-type")
    if kind == "SubscriptionValidation" and events and validation_code(events[0]):
        return _send(json_response(200, {"validationResponse": validation_code(events[0])}))
    if kind != "Notification":
        return _send(
            problem(
                400,
                "Bad Request",
                "The aeg-event-type header must be Notification or SubscriptionValidation.",
            )
        )
    results = await asyncio.gather(
        *(services.intake.accept([e]) for e in events), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, StorageUnavailable | TopicNotAllowed):
            log.error("The archive_event invocation failed", exc_info=failure)
        else:
            log.error("The archive_event invocation failed: %s", failure)
    # Like the extension: 500 if any invocation failed, so Event Grid resends the batch.
    return web.Response(status=500 if failures else 202)


def _authorized(request: web.Request, key: str | None) -> bool:
    if key is None:
        return True
    given = request.query.get("code") or request.headers.get("x-functions-key") or ""
    return hmac.compare_digest(given.encode(), key.encode())


async def _read(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _send(response: HttpResponse) -> web.Response:
    return web.Response(status=response.status, body=response.body, headers=response.headers)


async def serve(services: Services, *, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then close the storage clients."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(create_app(services), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("Serving the archiver on http://%s:%s (POST /api/events)", host, port)
        if services.feed is not None:
            log.info("Live event viewer on http://%s:%s/viewer", host, port)
        await stop.wait()
        log.info("Stopping")
    finally:
        await runner.cleanup()
        await services.close()
