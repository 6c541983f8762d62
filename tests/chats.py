"""Simulated conversations, archived through the real archive, and what a transcript of
them must say, worked out from the conversations themselves (not from the exporter)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.fields import format_timestamp
from archiver.core.identifiers import kind_of_raw_id
from archiver.core.records import Action
from archiver.sim.conversations import Happening, Said, Shape, conversations
from archiver.sim.publication import Flavour, Publisher
from archiver.sim.truth import GroundTruth
from archiver.storage.ports import Storage
from tests.builders import TOPIC


@dataclass(frozen=True)
class Chat:
    """A run of conversations: what happened, the events ACS published, the truth."""

    seed: int
    happenings: tuple[Happening, ...]
    events: tuple[dict[str, Any], ...]
    truth: GroundTruth

    @property
    def threads(self) -> tuple[str, ...]:
        """The thread ids, in order of creation."""
        return self.truth.threads


def chat(seed: int, shape: Shape, *, flavour: Flavour = Flavour.THREAD) -> Chat:
    """Conversations for `seed` and the events published for them."""
    rng = random.Random(seed)
    resource = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    happenings = tuple(conversations(shape, rng=rng, start=start, resource=resource))
    publisher = Publisher(topic=TOPIC, flavour=flavour)
    events = tuple(e for h in happenings for e in publisher.events(h, rng))
    return Chat(seed, happenings, events, GroundTruth.of(happenings, seed=seed))


async def archive(storage: Storage, events: tuple[dict[str, Any], ...], *, seed: int = 0) -> None:
    """Archive `events` shuffled, in batches of 10, with a third delivered twice."""
    rng = random.Random(seed)
    copies = list(events) + rng.sample(list(events), len(events) // 3)
    rng.shuffle(copies)
    store = Archive(storage, concurrency=16, timeout_seconds=60)
    for start in range(0, len(copies), 10):
        batch = copies[start : start + 10]
        await store.store([classify(RawEvent.from_value(e)) for e in batch])


def latest_entries(chat: Chat, thread_id: str) -> list[dict[str, Any]]:
    """Each message's last version in `thread_id`, as a transcript must show it."""
    newest: dict[str, Said] = {}
    for happening in chat.happenings:
        if isinstance(happening, Said) and happening.thread_id == thread_id:
            newest[happening.message_id] = happening
    return [expected_entry(newest[key]) for key in sorted(newest)]


def version_entries(chat: Chat, thread_id: str) -> list[dict[str, Any]]:
    """Every version in `thread_id`, by message id then version."""
    said = [h for h in chat.happenings if isinstance(h, Said) and h.thread_id == thread_id]
    return [expected_entry(s) for s in sorted(said, key=lambda s: (s.message_id, s.version))]


def expected_entry(said: Said) -> dict[str, Any]:
    """What a transcript says of one version; a deletion is a tombstone."""
    deleted = said.action is Action.DELETED
    return {
        "threadId": said.thread_id,
        "messageId": said.message_id,
        "version": said.version,
        "action": str(said.action),
        "type": said.type.lower(),
        "senderId": said.sender.raw_id,
        "senderKind": kind_of_raw_id(said.sender.raw_id),
        "senderDisplayName": said.sender.name,
        "body": None if deleted else said.body,
        "metadata": None if deleted else said.metadata,
        "composeTime": format_timestamp(said.compose_time),
        "editTime": format_timestamp(said.time) if said.action is Action.EDITED else None,
        "deleteTime": format_timestamp(said.time) if deleted else None,
    }
