"""Realistic chat conversations, generated deterministically from a seed.

A conversation is what happened in one thread, in time order: the thread was
created, people wrote, edited and deleted messages, changed the topic, joined and
left, and maybe the thread was deleted. Versions follow ACS: a message id and its
first version are the compose time in epoch milliseconds, and every later change
carries the epoch milliseconds of when it happened, so versions grow with time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from archiver.core.records import Action, ThreadChange
from archiver.sim.wording import body_for, display_name, topic_for

MAX_PARTICIPANTS = 250  # the ACS limit per thread
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    """A chat participant: an ACS user or a Teams user, by raw id."""

    raw_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Said:
    """One version of one message: sent, edited or deleted."""

    thread_id: str
    message_id: str
    version: int
    action: Action
    time: datetime
    compose_time: datetime
    sender: Person
    type: str
    body: str | None
    metadata: dict[str, str] | None
    audience: tuple[Person, ...] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Changed:
    """One change to a thread or its participants."""

    thread_id: str
    version: int
    change: ThreadChange
    time: datetime
    create_time: datetime
    actor: Person
    participant: Person | None = None
    topic: str | None = None
    audience: tuple[Person, ...] = field(repr=False)


Happening = Said | Changed


@dataclass(frozen=True, kw_only=True)
class Shape:
    """How much traffic to make."""

    threads: int = 3
    messages: int = 20  # new messages per thread; edits and deletions come on top
    participants: tuple[int, int] = (2, 6)
    teams_share: float = 0.2  # share of participants who are Teams users
    delete_threads: float = 0.2  # share of threads deleted at the end


def conversations(
    shape: Shape, *, rng: random.Random, start: datetime, resource: str
) -> list[Happening]:
    """Every happening of `shape.threads` threads, interleaved in time order."""
    happenings = [
        happening
        for index in range(shape.threads)
        for happening in _thread(
            shape, rng=rng, start=start + timedelta(seconds=7 * index), resource=resource
        )
    ]
    return sorted(happenings, key=lambda h: (h.time, h.thread_id))


def _thread(
    shape: Shape, *, rng: random.Random, start: datetime, resource: str
) -> Iterator[Happening]:
    thread_id = f"19:{rng.getrandbits(128):032x}@thread.v2"
    low, high = shape.participants
    people = [_person(rng, shape, resource) for _ in range(rng.randint(low, high))]
    clock = _Clock(start)
    created = clock.now
    yield Changed(
        thread_id=thread_id,
        version=_ms(created),
        change=ThreadChange.CREATED,
        time=created,
        create_time=created,
        actor=people[0],
        topic=topic_for(rng),
        audience=tuple(people),
    )
    live: dict[str, Said] = {}  # the newest version of each message not deleted
    sent = 0
    while sent < shape.messages:
        now = clock.tick(rng)
        roll = rng.random()
        if roll < 0.10 and live:
            yield (said := _edit(rng, live, now, people))
            live[said.message_id] = said
        elif roll < 0.15 and live:
            yield (said := _delete(rng, live, now, people))
            del live[said.message_id]
        elif roll < 0.17:
            yield _changed(thread_id, ThreadChange.PROPERTIES_UPDATED, now, created, people)
        elif roll < 0.21 and len(people) < min(high, MAX_PARTICIPANTS):
            people.append(newcomer := _person(rng, shape, resource))
            yield _changed(
                thread_id, ThreadChange.PARTICIPANT_ADDED, now, created, people, newcomer
            )
        elif roll < 0.25 and len(people) > max(low, 2):
            leaver = people.pop(rng.randrange(1, len(people)))
            yield _changed(
                thread_id, ThreadChange.PARTICIPANT_REMOVED, now, created, [*people, leaver], leaver
            )
        else:
            sender = rng.choice(people)
            kind, body, metadata = body_for(rng)
            said = Said(
                thread_id=thread_id,
                message_id=str(_ms(now)),
                version=_ms(now),
                action=Action.RECEIVED,
                time=now,
                compose_time=now,
                sender=sender,
                type=kind,
                body=body,
                metadata=metadata,
                audience=tuple(people),
            )
            live[said.message_id] = said
            sent += 1
            yield said
    if rng.random() < shape.delete_threads:
        yield _changed(thread_id, ThreadChange.DELETED, clock.tick(rng), created, people)


def _edit(rng: random.Random, live: dict[str, Said], now: datetime, people: list[Person]) -> Said:
    before = live[rng.choice(sorted(live))]
    _, body, metadata = body_for(rng, kind=before.type)
    return replace(
        before,
        version=_ms(now),
        action=Action.EDITED,
        time=now,
        body=f"{body} (edited)",
        metadata=metadata if metadata is not None else before.metadata,
        audience=tuple(people),
    )


def _delete(rng: random.Random, live: dict[str, Said], now: datetime, people: list[Person]) -> Said:
    before = live[rng.choice(sorted(live))]
    return replace(
        before,
        version=_ms(now),
        action=Action.DELETED,
        time=now,
        body=None,
        audience=tuple(people),
    )


def _changed(
    thread_id: str,
    change: ThreadChange,
    now: datetime,
    created: datetime,
    people: list[Person],
    participant: Person | None = None,
) -> Changed:
    return Changed(
        thread_id=thread_id,
        version=_ms(now),
        change=change,
        time=now,
        create_time=created,
        actor=people[0],
        participant=participant,
        topic=f"Topic changed at {now:%H:%M:%S}"
        if change is ThreadChange.PROPERTIES_UPDATED
        else None,
        audience=tuple(people),
    )


def _person(rng: random.Random, shape: Shape, resource: str) -> Person:
    name = display_name(rng)
    token = uuid.UUID(int=rng.getrandbits(128))
    if rng.random() < shape.teams_share:
        return Person(f"8:orgid:{token}", name)
    return Person(f"8:acs:{resource}_{token.hex[:8]}-{token.hex[8:12]}-{token.hex[12:24]}", name)


class _Clock:
    """Time in one thread: strictly increasing, in whole milliseconds."""

    def __init__(self, start: datetime) -> None:
        self.now = start.replace(microsecond=start.microsecond // 1000 * 1000)

    def tick(self, rng: random.Random) -> datetime:
        self.now += timedelta(milliseconds=rng.randint(200, 45_000))
        return self.now


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)
