"""The viewer page in a real headless Chromium: rows appear live with each event's outcome.

The browser is Debian's `chromium` package at /usr/bin/chromium, driven by Playwright;
the local host runs in-process on a free port against the session's Azurite. A missing
Chromium fails the module with the command that installs it; nothing is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, async_playwright, expect

from archiver.bootstrap import build
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from archiver.hosts.feed import Feed
from archiver.storage.azure import AzureStorage
from tests.builders import (
    BOB,
    CAROL,
    THREAD,
    TOPIC,
    message_event,
    new_message_id,
    payload,
    thread_event,
)
from tests.conftest import PROJECT
from tests.instrumented import Instrumented

pytestmark = pytest.mark.browser

# Debian's package by default; elsewhere point this at any Chromium or Chrome binary.
CHROMIUM = Path(os.environ.get("ARCHIVER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = PROJECT / ".artifacts" / "viewer.png"
OTHER_THREAD = "19:b1e5c0de4d2f4c8e9a7b6c5d4e3f2a10@thread.v2"
MARKUP = '<img src=x onerror="window.__xss=1">'
TYPING = payload("eventgrid", "chat_typing_indicator_received_in_thread")
Start = Callable[..., Awaitable[str]]


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; missing, it fails the tests with the command that installs it."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"The viewer's browser tests need Chromium at {CHROMIUM}. Install Debian's "
            "package: `sudo apt-get install -y --no-install-recommends chromium` "
            "(.ci/run does this in CI), or set ARCHIVER_TEST_CHROMIUM to a Chromium or "
            "Chrome binary.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """One headless Chromium for the module."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def start(settings: Settings) -> AsyncIterator[Start]:
    """Start the local host with the viewer on; returns its base URL."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def started(storage: Any = None, **overrides: Any) -> str:
        feed = Feed()
        services = build(
            dataclasses.replace(settings, **overrides), storage=storage, observer=feed.observe
        )
        runner = web.AppRunner(create_app(services, feed=feed), access_log=None)
        await runner.setup()
        cleanups.extend([services.close, runner.cleanup])
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield started
    for cleanup in reversed(cleanups):
        await cleanup()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page that fails the test on any script error or console error (CSP too)."""
    context = await browser.new_context(viewport={"width": 1480, "height": 860})
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    await context.close()
    assert problems == []


async def open_viewer(page: Page, url: str) -> None:
    await page.goto(f"{url}/viewer")
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")


async def post(url: str, *events: dict[str, Any]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/api/events",
            data=json.dumps(list(events)),
            headers={"Content-Type": "application/json", "aeg-event-type": "Notification"},
        ) as response,
    ):
        return response.status


async def outcomes(page: Page) -> list[str]:
    """The outcome badges of the visible rows, newest first."""
    rows = page.locator("[data-testid=event-row]:visible .badge")
    return await rows.all_text_contents()


async def test_rows_appear_live_with_what_the_archiver_did_with_each_event(start, page):
    url = await start()
    await open_viewer(page, url)
    message = message_event(message_id=new_message_id())

    assert await post(url, message) == 200
    assert await post(url, message) == 200
    assert await post(url, message_event(message_id=new_message_id(), version="soon")) == 200
    assert await post(url, TYPING) == 200

    await expect(page.get_by_test_id("event-row")).to_have_count(4)
    assert await outcomes(page) == ["ignored", "quarantined", "duplicate", "archived"]
    newest_message = page.get_by_test_id("event-row").nth(2)
    await expect(newest_message).to_contain_text("ChatMessageReceivedInThread")
    await expect(newest_message).to_contain_text(message["data"]["messageId"])
    for outcome in ("archived", "duplicate", "quarantined", "ignored"):
        await expect(page.get_by_test_id(f"count-{outcome}")).to_contain_text("1")


async def test_markup_in_an_event_is_shown_as_text_and_never_runs(start, page):
    url = await start()
    await open_viewer(page, url)
    hostile_type = dict(TYPING, type=f"Microsoft.Communication.{MARKUP}")

    await post(url, message_event(message_id=new_message_id(), body=MARKUP), hostile_type)
    await expect(page.get_by_test_id("event-row")).to_have_count(2)
    await page.get_by_test_id("event-row").nth(1).click()

    await expect(page.get_by_test_id("detail-raw")).to_contain_text(MARKUP.replace('"', '\\"'))
    await expect(page.get_by_test_id("event-row").first).to_contain_text(MARKUP)
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_the_filters_narrow_the_rows_to_one_thread_type_outcome_or_text(start, page):
    url = await start()
    await open_viewer(page, url)
    mine = new_message_id()

    await post(
        url,
        message_event(message_id=new_message_id()),
        message_event(message_id=mine, thread_id=OTHER_THREAD),
        thread_event("ChatThreadParticipantAdded", thread_id=OTHER_THREAD, participant=CAROL),
        TYPING,
    )
    rows = page.locator("[data-testid=event-row]:visible")
    await expect(rows).to_have_count(4)

    await page.get_by_test_id("filter-thread").select_option(OTHER_THREAD)
    await expect(rows).to_have_count(2)
    await page.get_by_test_id("filter-type").select_option(
        "Microsoft.Communication.ChatMessageReceivedInThread"
    )
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(mine)

    await page.get_by_test_id("filter-thread").select_option("")
    await page.get_by_test_id("filter-type").select_option("")
    await page.get_by_test_id("filter-outcome").select_option("ignored")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("ChatTypingIndicatorReceivedInThread")

    await page.get_by_test_id("filter-outcome").select_option("")
    await page.get_by_test_id("filter-text").fill(mine)
    await expect(rows).to_have_count(1)
    await expect(page.get_by_test_id("shown")).to_have_text("1 of 4 events")


async def test_a_selected_row_shows_the_outcome_detail_and_the_raw_event(start, page):
    url = await start()
    await open_viewer(page, url)
    broken = message_event(message_id=new_message_id(), version="soon")

    await post(url, broken)
    await page.get_by_test_id("event-row").click()

    await expect(page.get_by_test_id("detail-outcome")).to_have_text("quarantined")
    await expect(page.get_by_test_id("detail-text")).to_contain_text("version")
    raw = await page.get_by_test_id("detail-raw").text_content()
    assert json.loads(raw or "") == broken


async def test_a_page_opened_late_shows_recent_events_and_looks_right(start, page, settings):
    """Also saves .artifacts/viewer.png, for a person to look at."""
    storage = Instrumented(AzureStorage.from_settings(settings), failing={"create": 1})
    url = await start(storage=storage, allowed_topics=frozenset({TOPIC.lower()}))
    stored = new_message_id()
    await post(url, message_event(message_id=new_message_id()))  # failed: 503, sent again
    await post(url, thread_event("ChatThreadCreated"))
    await post(url, thread_event("ChatThreadParticipantAdded", participant=BOB))
    await post(url, message_event(message_id=stored, body="Hello Bob!"))
    await post(url, message_event(message_id=stored, body="Hello Bob!"))
    await post(url, message_event("edited", message_id=stored, body="Hello Bob and Carol!"))
    await post(url, message_event(message_id=new_message_id(), thread_id=OTHER_THREAD))
    await post(url, message_event(message_id=new_message_id(), version="soon"))
    await post(url, message_event(message_id=new_message_id(), topic="/subscriptions/other"))
    await post(url, dict(TYPING, source=TOPIC))
    await post(url, message_event("deleted", message_id=stored))

    await open_viewer(page, url)
    await expect(page.get_by_test_id("event-row")).to_have_count(11)
    await page.get_by_test_id("event-row").nth(5).click()
    await expect(page.get_by_test_id("detail-outcome")).to_have_text("archived")

    assert await outcomes(page) == [
        "archived",
        "ignored",
        "rejected",
        "quarantined",
        "archived",
        "archived",
        "duplicate",
        "archived",
        "archived",
        "archived",
        "failed",
    ]
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT), animations="disabled")
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert SCREENSHOT.stat().st_size > 10_000
    assert THREAD in (await page.get_by_test_id("detail").text_content() or "")
