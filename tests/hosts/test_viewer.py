"""The live viewer of the local host: a page and a stream, only when asked for, never in Azure."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from archiver.bootstrap import Services, build
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.hosts import viewer
from archiver.hosts.devhost import create_app, triggers
from archiver.hosts.feed import Feed, Sighting
from tests.builders import THREAD, body, message_event, new_message_id, payload
from tests.conftest import PROJECT, archiver_command, fresh_settings, wait_until_healthy

TYPING = payload("eventgrid", "chat_typing_indicator_received_in_thread")


@pytest.fixture
async def viewing(settings: Settings) -> AsyncIterator[tuple[TestClient, Services]]:
    """The local host with the viewer on, against Azurite."""
    feed = Feed()
    services = build(settings, observer=feed.observe)
    async with TestClient(TestServer(create_app(services, feed=feed))) as client:
        yield client, services
    await services.close()


async def next_frame(response: aiohttp.ClientResponse) -> dict[str, str]:
    """One server-sent event's fields; a comment line comes back as `comment`."""
    fields: dict[str, str] = {}
    while True:
        line = (await response.content.readline()).decode()
        if line in ("\n", ""):
            if fields or line == "":
                return fields
            continue
        name, _, value = line.rstrip("\n").partition(":")
        fields[name or "comment"] = value.removeprefix(" ")


async def sightings(response: aiohttp.ClientResponse, count: int) -> list[dict[str, Any]]:
    """The next `count` sightings on an open stream, with their SSE ids."""
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(found) < count:
            frame = await next_frame(response)
            if frame.get("event") == "sighting":
                assert json.loads(frame["data"])["id"] == int(frame["id"])
                found.append(json.loads(frame["data"]))
    return found


async def test_the_viewer_is_not_served_unless_it_is_enabled(settings):
    services = build(settings)
    async with TestClient(TestServer(create_app(services))) as client:
        assert (await client.get("/viewer")).status == 404
        assert (await client.get("/viewer/events")).status == 404
    await services.close()


async def test_the_page_runs_only_its_own_script_and_style(viewing):
    client, _ = viewing

    response = await client.get("/viewer")
    page = await response.text()

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    [script] = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in policy


async def test_the_page_loads_nothing_from_elsewhere(viewing):
    client, _ = viewing

    page = await (await client.get("/viewer")).text()

    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?!data:)[^"'\s>]+""", page) == []
    assert "@import" not in page
    assert "url(" not in page


async def test_the_stream_replays_history_then_streams_live_events_with_outcomes(viewing):
    client, _ = viewing
    message = message_event(message_id=new_message_id())
    await client.post("/api/events", data=body(message))

    async with client.get("/viewer/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        [first] = await sightings(stream, 1)
        await client.post("/api/events", data=body(message))
        await client.post(
            "/api/events", data=body(message_event(message_id=new_message_id(), version="soon"))
        )
        await client.post("/api/events", data=body(TYPING))
        later = await sightings(stream, 3)

    assert first | {"time": None} == {
        "id": 1,
        "time": None,
        "eventType": "Microsoft.Communication.ChatMessageReceivedInThread",
        "threadId": THREAD,
        "messageId": message["data"]["messageId"],
        "version": message["data"]["version"],
        "change": "received",
        "outcome": "archived",
        "detail": None,
        "event": json.dumps(message),
    }
    assert [(s["id"], s["outcome"]) for s in later] == [
        (2, "duplicate"),
        (3, "quarantined"),
        (4, "ignored"),
    ]
    assert "version" in later[1]["detail"]


async def test_a_reconnect_with_last_event_id_gets_only_what_it_missed(viewing):
    client, _ = viewing
    for _ in range(3):
        await client.post("/api/events", data=body(message_event(message_id=new_message_id())))

    async with client.get("/viewer/events", headers={"Last-Event-ID": "2"}) as stream:
        [missed] = await sightings(stream, 1)

    assert missed["id"] == 3


@pytest.mark.parametrize("junk", ["soon", "-1", "²", "9" * 5000])
async def test_a_last_event_id_that_is_no_sequence_number_gets_everything(viewing, junk):
    client, _ = viewing
    await client.post("/api/events", data=body(message_event(message_id=new_message_id())))

    async with client.get("/viewer/events", headers={"Last-Event-ID": junk}) as stream:
        [replayed] = await sightings(stream, 1)

    assert replayed["id"] == 1


@pytest.mark.parametrize(
    ("last_event_id", "replayed"), [(0, [1, 2, 3]), (2, [3]), (3, []), (9, [1, 2, 3])]
)
def test_a_last_event_id_beyond_the_history_means_the_host_restarted(last_event_id, replayed):
    seen = Sighting(time=datetime.now(UTC), event_type=None, outcome="ignored", raw="{}")
    history = [(n, seen) for n in (1, 2, 3)]

    entries, _ = viewer.replay(history, last_event_id)

    assert [n for n, _ in entries] == replayed


async def test_a_quiet_stream_sends_heartbeats():
    app = web.Application()
    viewer.install(app, Feed(), heartbeat_seconds=0.02)
    async with TestClient(TestServer(app)) as client, client.get("/viewer/events") as stream:
        assert await next_frame(stream) == {"retry": str(viewer.RETRY_MILLISECONDS)}
        async with asyncio.timeout(5):
            assert await next_frame(stream) == {"comment": "heartbeat"}


async def test_open_streams_end_when_the_host_shuts_down(viewing):
    client, _ = viewing
    async with client.get("/viewer/events") as stream:
        await next_frame(stream)

        await client.app.shutdown()

        async with asyncio.timeout(5):
            assert await stream.content.read() == b""


@pytest.fixture
def served(azurite: emulator.Endpoints, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """`python -m archiver serve --viewer` in its own process; its log is serve.log."""
    settings = fresh_settings(azurite.connection_string)
    [port] = emulator.free_ports(1)
    command = archiver_command("serve", "--viewer", "--port", str(port))
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--settings", str(tmp_path / "absent.json")],
            cwd=PROJECT,
            env=os.environ
            | {
                "ARCHIVE_STORAGE": azurite.connection_string,
                "ARCHIVE_CONTAINER": settings.container,
                "ARCHIVE_MESSAGES_TABLE": settings.messages_table,
                "ARCHIVE_THREADS_TABLE": settings.threads_table,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield port, process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.process
async def test_the_local_host_stops_at_once_on_sigterm_with_a_viewer_open(served, tmp_path):
    port, process = served
    async with aiohttp.ClientSession() as session:
        stream = await connected(session, f"http://127.0.0.1:{port}/viewer/events", process)
        await next_frame(stream)
        started = time.monotonic()

        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, 10)

        assert time.monotonic() - started < 3
        stream.close()
    assert exit_code == 0
    log = (tmp_path / "serve.log").read_text()
    assert f"Live event viewer on http://127.0.0.1:{port}/viewer" in log


async def connected(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]
) -> aiohttp.ClientResponse:
    """The viewer's stream, opened once the local host is healthy (asked until its deadline)."""
    await asyncio.to_thread(wait_until_healthy, url.split("/viewer")[0], process)
    response = await session.get(url)
    assert response.status == 200
    return response


def test_the_function_app_never_serves_the_viewer_or_keeps_a_feed_even_with_the_setting_on(
    monkeypatch,
):
    import function_app

    with monkeypatch.context() as patch:
        patch.setenv("ARCHIVE_VIEWER", "true")
        module = importlib.reload(function_app)
        routes = [str(trigger.get("route", "")) for _, trigger in triggers(module.app)]
        observed = module.runtime.services().intake._observers
    importlib.reload(function_app)  # as the environment has it again

    assert "events" in routes
    assert [route for route in routes if "viewer" in route] == []
    assert observed == (), "no feed holds events in Azure"
