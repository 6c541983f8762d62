"""The local host's live event viewer: a page, and a server-sent event stream for it.

Local only: the local host installs these routes when its feed exists (`--viewer` or
ARCHIVE_VIEWER=true); function_app.py never serves them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncGenerator, Sequence
from importlib import resources

from aiohttp import web

from archiver.hosts.feed import Feed, Sighting

HEARTBEAT_SECONDS = 15.0
# EventSource waits this long before reconnecting after the stream drops.
RETRY_MILLISECONDS = 2000
HEARTBEAT = b": heartbeat\n\n"
_FEED = web.AppKey("feed", Feed)
_HEARTBEAT = web.AppKey("heartbeat", float)
_PAGE = web.AppKey("page", str)
_POLICY = web.AppKey("policy", str)
_Entry = tuple[int, Sighting]


def install(
    app: web.Application, feed: Feed, *, heartbeat_seconds: float = HEARTBEAT_SECONDS
) -> None:
    """Serve GET /viewer and GET /viewer/events from `feed`, and close it on shutdown."""
    app[_FEED] = feed
    app[_HEARTBEAT] = heartbeat_seconds
    app[_PAGE] = resources.files("archiver.hosts").joinpath("viewer.html").read_text("utf-8")
    app[_POLICY] = page_policy(app[_PAGE])
    app.router.add_get("/viewer", _page)
    app.router.add_get("/viewer/events", _stream)
    app.on_shutdown.append(_close)


def page_policy(page: str) -> str:
    """A Content-Security-Policy that lets `page` run only its own inline script and style."""
    scripts = " ".join(_hashes(page, "script"))
    styles = " ".join(_hashes(page, "style"))
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def replay(history: Sequence[_Entry], last_event_id: int) -> tuple[list[_Entry], int]:
    """The history a (re)connecting page still lacks, and the last sequence it already has.

    A Last-Event-ID beyond the history means the host restarted and numbers began again,
    so the page gets everything.
    """
    newest = history[-1][0] if history else 0
    seen = last_event_id if last_event_id <= newest else 0
    return [entry for entry in history if entry[0] > seen], seen


def frame(sequence: int, sighting: Sighting) -> bytes:
    """One server-sent event carrying `sighting`."""
    data = json.dumps(sighting.to_json(sequence), separators=(",", ":"))
    return f"id: {sequence}\nevent: sighting\ndata: {data}\n\n".encode()


async def _page(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[_PAGE],
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": request.app[_POLICY],
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


async def _stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
    with contextlib.suppress(ConnectionResetError):  # the page went away
        async with contextlib.aclosing(_frames(request)) as frames:
            async for chunk in frames:
                await response.write(chunk)
    return response


async def _frames(request: web.Request) -> AsyncGenerator[bytes, None]:
    """History after Last-Event-ID, then live sightings, with a heartbeat in quiet times."""
    feed = request.app[_FEED]
    live = feed.subscribe()
    upcoming = asyncio.ensure_future(anext(live))
    try:
        # Subscribe before reading the history, so nothing published in between is lost;
        # what arrives both ways is sent once, by its sequence number.
        await asyncio.sleep(0)
        history, sent = replay(feed.recent(), _last_event_id(request))
        for sequence, sighting in history:
            yield frame(sequence, sighting)
            sent = sequence
        while True:
            done, _ = await asyncio.wait({upcoming}, timeout=request.app[_HEARTBEAT])
            if not done:
                yield HEARTBEAT
                continue
            try:
                sequence, sighting = upcoming.result()
            except StopAsyncIteration:  # the feed closed: the host is stopping
                return
            upcoming = asyncio.ensure_future(anext(live))
            if sequence > sent:
                sent = sequence
                yield frame(sequence, sighting)
    finally:
        upcoming.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await upcoming
        # Closing the generator ends the subscription now, not when it is collected.
        await live.aclose()


def _last_event_id(request: web.Request) -> int:
    text = request.headers.get("Last-Event-ID", "").strip()
    return int(text) if text.isdecimal() and len(text) <= 19 else 0


def _hashes(page: str, tag: str) -> list[str]:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in blocks
    ]


async def _close(app: web.Application) -> None:
    """End every open stream, so a page left open never holds up shutdown."""
    app[_FEED].close()
