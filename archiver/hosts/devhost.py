"""A small local host that serves the function app's routes through the same code.

For machines without Azure Functions Core Tools. Like the Functions host, it reads the
app's functions from `function_app.app.get_functions()`: every HTTP function is served
on `/api/{route}` for its methods, through the same `function_app.ENDPOINTS` entry the
function calls, with the function key required unless the function is anonymous or the
app checks its caller's Entra ID token (`function_app.TOKEN_CHECKED`); every
Event Grid trigger gets `/runtime/webhooks/eventgrid?functionName={name}`, the URL
Core Tools gives it, invoked once per event; every queue trigger polls its queue
(archiver.hosts.queuetriggers), so two local hosts share the jobs as two instances do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from archiver.bootstrap import Services
from archiver.core.envelopes import split_body, validation_code
from archiver.core.errors import InvalidBody, StorageUnavailable, TopicNotAllowed
from archiver.core.http import HttpRequest, HttpResponse, json_response, problem
from archiver.core.settings import read_flag
from archiver.hosts import viewer
from archiver.hosts.feed import Feed
from archiver.hosts.queuetriggers import poll, queue_functions

log = logging.getLogger("archiver")
ROUTE_PREFIX = "/api/"  # host.json's extensions.http.routePrefix, as Core Tools defaults it
TRIGGER_PATH = "/runtime/webhooks/eventgrid"
_SERVICES = web.AppKey("services", Services)
_KEY = web.AppKey("function_key", str)
_TRIGGERS = web.AppKey("triggers", frozenset)
_NATIVE = web.AppKey("native", dict)
Endpoint = Callable[[Services, HttpRequest], Awaitable[HttpResponse]]


@dataclass(frozen=True, kw_only=True)
class LocalOptions:
    """What only the local host is told: a function key to require, and the viewer."""

    function_key: str | None = None  # ARCHIVE_LOCAL_FUNCTION_KEY
    viewer: bool = False  # ARCHIVE_VIEWER

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> LocalOptions:
        """Read the local host's own settings; raise ConfigurationError naming a bad one."""
        return cls(
            function_key=values.get("ARCHIVE_LOCAL_FUNCTION_KEY") or None,
            viewer=read_flag(values, "ARCHIVE_VIEWER"),
        )


@dataclass(frozen=True, kw_only=True)
class Route:
    """One HTTP function of the app, as the Functions host would serve it."""

    name: str
    path: str
    methods: tuple[str, ...]
    anonymous: bool
    endpoint: Endpoint


def functions() -> tuple[tuple[Route, ...], frozenset[str]]:
    """The app's HTTP routes and its Event Grid trigger names, from its function metadata."""
    import function_app

    indexed = triggers(function_app.app)
    routes = tuple(
        Route(
            name=name,
            path=ROUTE_PREFIX + trigger["route"],
            methods=tuple(m.upper() for m in trigger["methods"]),
            anonymous=trigger["authLevel"] == "ANONYMOUS",
            endpoint=function_app.ENDPOINTS[name],
        )
        for name, trigger in indexed
        if trigger["type"] == "httpTrigger"
    )
    grid = frozenset(name for name, trigger in indexed if trigger["type"] == "eventGridTrigger")
    return routes, grid


@functools.cache
def triggers(app: Any) -> tuple[tuple[str, dict[str, Any]], ...]:
    """Each function's name and trigger binding, read once per app object: like the
    worker's indexing, `get_functions` may be called only once on an app."""
    found = []
    for function in app.get_functions():
        bindings = json.loads(function.get_function_json())["bindings"]
        trigger = next(b for b in bindings if b["direction"] == "IN")
        found.append((str(function.get_function_name()), trigger))
    return tuple(found)


def create_app(
    services: Services, *, function_key: str | None = None, feed: Feed | None = None
) -> web.Application:
    """The aiohttp application for `services`; with `feed`, the live viewer too."""
    app = web.Application()
    app[_SERVICES] = services
    app[_KEY] = function_key or ""
    routes, triggers = functions()
    app[_TRIGGERS] = triggers
    import function_app

    app[_NATIVE] = function_app.TRIGGERS
    for route in routes:
        # As the Functions host would with the app imported under `services`' settings:
        # a route whose caller the app checks by token needs no function key.
        checked = function_app.TOKEN_CHECKED.get(route.name)
        keyless = route.anonymous or (checked is not None and checked(services.settings.access))
        for method in route.methods:
            app.router.add_route(method, route.path, _handler(route, keyless=keyless))
    app.router.add_post(TRIGGER_PATH, _native_trigger)
    if feed is not None:
        viewer.install(app, feed)
    return app


def _handler(
    route: Route, *, keyless: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[_SERVICES]
        if not keyless and not _authorized(request, request.app[_KEY]):
            return _unauthorized()
        limit = services.settings.max_body_bytes
        body = await _read(request, limit) if request.can_read_body else b""
        if body is None:
            return _send(services.webhook.too_large())
        answer = await route.endpoint(
            services,
            HttpRequest(
                request.method,
                body,
                dict(request.headers),
                route=dict(request.match_info),
                query=request.query,
                request_id=uuid.uuid4().hex,  # as an invocation id would, per request
                client_ip=request.remote,
            ),
        )
        return _send(answer)

    return handle


def _unauthorized() -> web.Response:
    return _send(
        problem(
            401,
            "Unauthorized",
            "A valid function key is required "
            "(the `code` query parameter or `x-functions-key` header).",
        )
    )


async def _native_trigger(request: web.Request) -> web.StreamResponse:
    """What the Functions Event Grid extension does: one invocation per event."""
    services = request.app[_SERVICES]
    if request.query.get("functionName") not in request.app[_TRIGGERS]:
        return _send(
            problem(
                404,
                "Not Found",
                f"No Event Grid trigger function named {request.query.get('functionName')!r}.",
            )
        )
    body = await _read(request, services.settings.max_body_bytes)
    if body is None:
        return _send(services.webhook.too_large())
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
    invoke = request.app[_NATIVE][request.query["functionName"]]
    results = await asyncio.gather(*(invoke(services, e) for e in events), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, StorageUnavailable | TopicNotAllowed):
            log.error("The %s invocation failed", request.query["functionName"], exc_info=failure)
        else:
            log.error("The %s invocation failed: %s", request.query["functionName"], failure)
    # Like the extension: 500 if any invocation failed, so Event Grid resends the batch.
    return web.Response(status=500 if failures else 202)


def _authorized(request: web.Request, key: str) -> bool:
    if not key:
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


async def serve(
    services: Services, *, host: str, port: int, options: LocalOptions, feed: Feed | None = None
) -> None:
    """Serve until SIGINT or SIGTERM, then close the storage clients."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    app = create_app(services, function_key=options.function_key, feed=feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    import function_app

    queued = queue_functions(
        triggers(function_app.app),
        function_app.QUEUE_TRIGGERS,
        {
            "ARCHIVE_JOBS_QUEUE": services.settings.jobs.queue,
            "ARCHIVE_SEARCH_QUEUE": services.settings.search.queue,
        },
    )
    pollers = [asyncio.ensure_future(poll(services, function, stop)) for function in queued]
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("Serving the archiver on http://%s:%s (POST /api/events)", host, port)
        if feed is not None:
            log.info("Live event viewer on http://%s:%s/viewer", host, port)
        await stop.wait()
        log.info("Stopping")
    finally:
        for poller in pollers:  # as a host shutting down would: a job cut off is redelivered
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        await runner.cleanup()
        await services.close()
