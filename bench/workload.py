"""The benchmark's workloads: chat traffic with a known set of unique message versions.

Unlike the simulator's conversations (which aim at variety and hostility), these are
plain and regular, so that every contender archives exactly the same versions: each
thread has `fan_out + 1` participants, each message is sent once and, in edit-heavy
traffic, edited and finally deleted; bodies are ordinary chat lines of ~100-250 bytes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from archiver.core.records import Action
from archiver.sim.conversations import Person, Said
from archiver.sim.publication import Flavour, Publisher
from archiver.sim.schedule import Batch, Batching, event_text, schedule

_START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SENTENCES = (
    "the appointment is confirmed for tomorrow morning please bring your insurance card "
    "and a list of current medication our agent will call you back within the hour thanks "
    "for waiting the invoice was sent again to the address on file can you check the spam "
    "folder we have escalated the ticket to the second line"
)
_WORDS = _SENTENCES.split()
TOPIC = (
    "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/bench"
    "/providers/Microsoft.Communication/communicationServices/bench-chat"
)


@dataclass(frozen=True, kw_only=True)
class Workload:
    """One kind of traffic: how many copies of each version, and how they are batched."""

    name: str
    fan_out: int  # events per version: 1 = thread-level events, N = N per-user copies
    batch: int  # maxEventsPerBatch of the subscription
    edits: int = 0  # later versions per message: edits, the last one a deletion
    senders: int = 8  # concurrent deliveries, as Event Grid opens them
    threads: int | None = None  # threads the messages spread over; else 1 per 10, up to 20
    naive: bool = True  # also run the naive handler (the workloads its targets name)

    @property
    def flavour(self) -> Flavour:
        """Thread-level events for fan-out 1, per-user events otherwise."""
        return Flavour.THREAD if self.fan_out == 1 else Flavour.PER_USER

    @property
    def versions_per_message(self) -> int:
        """The sent version plus its edits and deletion."""
        return 1 + self.edits


@dataclass(frozen=True)
class Traffic:
    """What one run delivers: every unique version, and the batches carrying them."""

    versions: tuple[Said, ...]
    events: tuple[str, ...]  # thread-level copies, for the floor
    batches: tuple[Batch, ...]

    @property
    def deliveries(self) -> int:
        """Events posted, duplicates included."""
        return sum(len(b.events) for b in self.batches)

    @property
    def threads(self) -> int:
        """Threads the versions belong to."""
        return len({v.thread_id for v in self.versions})


def traffic(
    workload: Workload,
    *,
    versions: int,
    seed: int,
    batch: int | None = None,
    shuffle_window: int = 20,
) -> Traffic:
    """About `versions` unique versions of `workload`, batched by `batch` events
    (the workload's own batch size unless given) in a lightly shuffled order."""
    rng = random.Random(seed)
    resource = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    messages = max(1, versions // workload.versions_per_message)
    threads = workload.threads or max(1, min(20, messages // 10))
    people = {
        f"19:{rng.getrandbits(128):032x}@thread.v2": [
            _person(rng, resource) for _ in range(workload.fan_out + 1)
        ]
        for _ in range(threads)
    }
    said = sorted(
        (
            version
            for index in range(messages)
            for version in _message(workload, index, people, rng)
        ),
        key=lambda s: (s.time, s.thread_id, s.message_id),
    )
    publisher = Publisher(topic=TOPIC, flavour=workload.flavour)
    thread_level = Publisher(topic=TOPIC, flavour=Flavour.THREAD)
    published = [event_text(e) for s in said for e in publisher.events(s, rng)]
    batching = Batching(
        max_events=batch or workload.batch,
        preferred_kb=1024,
        shuffle_window=shuffle_window,
    )
    return Traffic(
        versions=tuple(said),
        events=tuple(event_text(thread_level.events(s, rng)[0]) for s in said),
        batches=tuple(schedule(published, batching, rng)),
    )


def _message(
    workload: Workload, index: int, people: dict[str, list[Person]], rng: random.Random
) -> list[Said]:
    thread_id = list(people)[index % len(people)]
    audience = tuple(people[thread_id])
    sent = _START + timedelta(milliseconds=250 * index)
    words = rng.randint(20, 45)
    first = Said(
        thread_id=thread_id,
        message_id=str(_ms(sent)),
        version=_ms(sent),
        action=Action.RECEIVED,
        time=sent,
        compose_time=sent,
        sender=audience[index % len(audience)],
        type="Text",
        body=" ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + ".",
        metadata=None,
        audience=audience,
    )
    later = []
    for step in range(1, workload.edits + 1):
        moment = sent + timedelta(seconds=7 * step, milliseconds=rng.randint(0, 999))
        deletion = step == workload.edits and workload.edits > 1
        later.append(
            replace(
                first,
                version=_ms(moment),
                time=moment,
                action=Action.DELETED if deletion else Action.EDITED,
                body=None if deletion else f"{first.body} (edit {step})",
            )
        )
    return [first, *later]


def _person(rng: random.Random, resource: str) -> Person:
    token = uuid.UUID(int=rng.getrandbits(128)).hex
    raw = f"8:acs:{resource}_{token[:8]}-{token[8:12]}-{token[12:24]}"
    return Person(raw, f"Agent {token[:4]}")


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)
