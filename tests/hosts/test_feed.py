"""The viewer's feed: bounded history, live fan-out that never blocks, and what intake reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from archiver.bootstrap import build
from archiver.core.envelopes import RawEvent
from archiver.core.errors import StorageUnavailable, TopicNotAllowed
from archiver.core.settings import Settings
from archiver.hosts.feed import Feed, Sighting
from archiver.storage.memory import MemoryStorage
from tests.builders import THREAD, TOPIC, message_event, new_message_id, payload, thread_event
from tests.instrumented import Instrumented

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def seen(n: int) -> Sighting:
    return Sighting(time=AT, event_type=f"Type{n}", outcome="archived", raw="{}")


async def listening(feed: Feed) -> tuple[AsyncIterator[tuple[int, Sighting]], asyncio.Task[Any]]:
    """A subscription that is already registered, and the task waiting for its first entry."""
    subscription = feed.subscribe()
    first = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0)
    return subscription, first


async def numbers(first: asyncio.Task[Any], rest: AsyncIterator[Any], count: int) -> list[int]:
    """The sequence numbers of the next `count` entries of a subscription."""
    async with asyncio.timeout(5):
        entries = [await first] + [await anext(rest) for _ in range(count - 1)]
    return [n for n, _ in entries]


async def drain(subscription: AsyncIterator[tuple[int, Sighting]]) -> list[int]:
    async with asyncio.timeout(5):
        return [n async for n, _ in subscription]


def test_a_late_page_gets_only_the_newest_history_oldest_first():
    feed = Feed(history=3)

    feed.publish([seen(n) for n in range(5)])

    assert [(n, s.event_type) for n, s in feed.recent()] == [
        (3, "Type2"),
        (4, "Type3"),
        (5, "Type4"),
    ]


async def test_subscribers_get_what_is_published_after_they_subscribe():
    feed = Feed()
    feed.publish([seen(0)])
    one, first_of_one = await listening(feed)
    two, first_of_two = await listening(feed)

    feed.publish([seen(1), seen(2)])

    assert await numbers(first_of_one, one, 2) == [2, 3]
    assert await numbers(first_of_two, two, 2) == [2, 3]


async def test_a_slow_subscriber_loses_its_oldest_entries_and_never_blocks_publishing():
    feed = Feed(backlog=2)
    slow, first = await listening(feed)

    feed.publish([seen(n) for n in range(5)])  # returns at once, with nobody reading

    assert await numbers(first, slow, 2) == [4, 5]
    assert len(feed.recent()) == 5


async def test_closing_the_feed_ends_a_subscription_whose_backlog_is_full():
    feed = Feed(backlog=1)
    full, first = await listening(feed)
    feed.publish([seen(1)])
    assert await numbers(first, full, 1) == [1]
    feed.publish([seen(2), seen(3)])

    feed.close()

    assert await drain(full) == []


async def test_closing_the_feed_ends_every_subscription_even_one_that_starts_later():
    feed = Feed()
    _, first = await listening(feed)

    feed.close()

    with pytest.raises(StopAsyncIteration):
        await first
    assert await drain(feed.subscribe()) == []


def test_a_sighting_is_sent_to_the_page_as_plain_json():
    sighting = Sighting(
        time=AT,
        event_type="Microsoft.Communication.ChatMessageReceivedInThread",
        thread_id=THREAD,
        message_id="1",
        version=7,
        change="received",
        outcome="archived",
        raw='{"id": "e"}',
    )

    assert sighting.to_json(12) == {
        "id": 12,
        "time": "2026-03-01T09:30:00.000Z",
        "eventType": "Microsoft.Communication.ChatMessageReceivedInThread",
        "threadId": THREAD,
        "messageId": "1",
        "version": 7,
        "change": "received",
        "outcome": "archived",
        "detail": None,
        "event": '{"id": "e"}',
    }


async def accepted(storage: Any, *events: dict[str, Any], **settings: Any) -> list[Sighting]:
    """What the feed shows after intake took `events`, one call each, errors and all."""
    feed = Feed()
    services = build(Settings(**settings), storage=storage, observer=feed.observe)
    for event in events:
        with contextlib.suppress(StorageUnavailable, TopicNotAllowed):
            await services.intake.accept([RawEvent.from_value(event)])
    return [sighting for _, sighting in feed.recent()]


async def test_intake_reports_archived_then_duplicate_for_a_redelivery():
    message = message_event(message_id=new_message_id())

    shown = await accepted(MemoryStorage(), message, message)

    assert [s.outcome for s in shown] == ["archived", "duplicate"]
    assert shown[0].thread_id == THREAD
    assert shown[0].message_id == message["data"]["messageId"]
    assert shown[0].version == message["data"]["version"]
    assert shown[0].change == "received"


async def test_intake_reports_a_thread_event_with_its_change():
    [shown] = await accepted(MemoryStorage(), thread_event("ChatThreadParticipantAdded"))

    assert (shown.outcome, shown.thread_id, shown.change) == (
        "archived",
        THREAD,
        "participantAdded",
    )


async def test_intake_reports_a_bad_event_as_quarantined_with_the_reason():
    [shown] = await accepted(
        MemoryStorage(), message_event(message_id=new_message_id(), version="soon")
    )

    assert shown.outcome == "quarantined"
    assert shown.detail is not None
    assert "version" in shown.detail


async def test_intake_reports_an_event_it_does_not_keep_as_ignored():
    typing = payload("eventgrid", "chat_typing_indicator_received_in_thread")

    [shown] = await accepted(MemoryStorage(), typing)

    assert (shown.outcome, shown.event_type) == (
        "ignored",
        "Microsoft.Communication.ChatTypingIndicatorReceivedInThread",
    )
    assert shown.raw == RawEvent.from_value(typing).text


@pytest.mark.parametrize("topic", ["/subscriptions/other", None])
async def test_intake_reports_an_event_from_a_topic_not_allowed_as_rejected(topic):
    foreign = message_event(message_id=new_message_id(), topic=topic or "")
    if topic is None:
        del foreign["topic"]

    [shown] = await accepted(MemoryStorage(), foreign, allowed_topics=frozenset({TOPIC.lower()}))

    assert shown.outcome == "rejected"
    assert shown.detail is not None
    assert "ARCHIVE_ALLOWED_TOPICS" in shown.detail
    assert shown.message_id == foreign["data"]["messageId"]


async def test_intake_reports_a_storage_failure_as_failed_and_the_redelivery_as_archived():
    storage = Instrumented(MemoryStorage(), failing={"create": 1})
    message = message_event(message_id=new_message_id())

    shown = await accepted(storage, message, message)

    assert [s.outcome for s in shown] == ["failed", "archived"]
    assert shown[0].detail is not None
    assert "injected failure" in shown[0].detail


async def test_without_an_observer_intake_tells_no_one():
    services = build(Settings(), storage=MemoryStorage())

    await services.intake.accept([RawEvent.from_value(message_event())])

    assert services.intake._observers == ()
