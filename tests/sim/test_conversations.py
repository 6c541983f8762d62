"""Simulated conversations are realistic, deterministic, and publish events ACS would send."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from archiver.core.envelopes import RawEvent
from archiver.core.errors import ConfigurationError
from archiver.core.events import classify
from archiver.core.records import Action, MessageVersion, ThreadChange, ThreadEvent
from archiver.sim.conversations import Changed, Said, Shape, conversations
from archiver.sim.publication import Flavour, Publisher, Schema
from archiver.sim.schedule import event_text
from archiver.sim.truth import GroundTruth
from archiver.sim.wording import MAX_BODY_BYTES

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.Communication/communicationServices/contoso"
)


def happenings(seed: int = 1, **shape: object) -> list[Said | Changed]:
    return conversations(
        Shape(**shape),  # type: ignore[arg-type]
        rng=random.Random(seed),
        start=START,
        resource="3f6a2b1c-0000-4000-8000-000000000000",
    )


def test_the_same_seed_makes_the_same_conversations_and_another_seed_does_not():
    assert happenings(4) == happenings(4)
    assert happenings(4) != happenings(5)


def test_every_thread_starts_with_its_creation_and_sends_the_asked_number_of_messages():
    made = happenings(2, threads=4, messages=15)

    by_thread: dict[str, list[Said | Changed]] = defaultdict(list)
    for happening in made:
        by_thread[happening.thread_id].append(happening)
    assert len(by_thread) == 4
    for thread in by_thread.values():
        first = thread[0]
        assert isinstance(first, Changed)
        assert first.change is ThreadChange.CREATED
        sent = [h for h in thread if isinstance(h, Said) and h.action is Action.RECEIVED]
        assert len(sent) == 15


def test_versions_follow_acs_ids_are_compose_times_and_later_changes_are_newer():
    made = happenings(3, threads=3, messages=60)

    history: dict[tuple[str, str], list[Said]] = defaultdict(list)
    for happening in made:
        if isinstance(happening, Said):
            history[(happening.thread_id, happening.message_id)].append(happening)
    for versions in history.values():
        received, *later = versions
        assert received.action is Action.RECEIVED
        assert received.version == int(received.message_id)
        assert [v.version for v in versions] == sorted({v.version for v in versions})
        assert all(v.action is not Action.RECEIVED for v in later)
        assert Action.DELETED not in [v.action for v in versions[:-1]], "nothing after a delete"


def test_traffic_has_every_kind_of_change_and_body():
    made = happenings(6, threads=8, messages=80)

    kinds = Counter(str(h.action) if isinstance(h, Said) else str(h.change) for h in made)
    bodies = [h.body for h in made if isinstance(h, Said) and h.body]
    assert set(kinds) == {str(a) for a in Action} | {str(c) for c in ThreadChange}
    assert any(any(ord(c) > 0xFFFF for c in body) for body in bodies), "astral emoji"
    assert any(len(body.encode()) > 4096 for body in bodies), "long messages"
    assert max(len(body.encode()) for body in bodies) <= MAX_BODY_BYTES
    assert any(h.metadata for h in made if isinstance(h, Said))
    assert {h.type for h in made if isinstance(h, Said)} == {"Text", "Html"}


def test_participants_stay_within_the_asked_span_and_include_teams_users():
    made = happenings(8, threads=6, messages=40, participants=(3, 5))

    sizes = {len(h.audience) for h in made if isinstance(h, Said)}
    people = {p.raw_id for h in made for p in h.audience}
    assert min(sizes) >= 3
    assert max(sizes) <= 5
    assert any(p.startswith("8:orgid:") for p in people)
    assert any(p.startswith("8:acs:") for p in people)


@pytest.mark.parametrize("schema", list(Schema))
@pytest.mark.parametrize("flavour", list(Flavour))
def test_every_published_event_is_one_the_archiver_reads_as_the_happening(flavour, schema):
    rng = random.Random(9)
    publisher = Publisher(topic=TOPIC, flavour=flavour, schema=schema)

    for happening in happenings(9, threads=2, messages=30):
        for event in publisher.events(happening, rng):
            record = classify(RawEvent.from_value(json.loads(event_text(event))))
            if isinstance(happening, Said):
                assert isinstance(record, MessageVersion)
                assert (record.message_id, record.version, record.action) == (
                    happening.message_id,
                    happening.version,
                    happening.action,
                )
                assert record.body == happening.body
            else:
                assert isinstance(record, ThreadEvent)
                assert (record.version, record.change) == (happening.version, happening.change)


def test_per_user_events_go_to_every_recipient_but_the_sender():
    rng = random.Random(1)
    publisher = Publisher(topic=TOPIC, flavour=Flavour.PER_USER)
    said = next(h for h in happenings(1, participants=(5, 5)) if isinstance(h, Said))

    events = publisher.events(said, rng)

    recipients = [e["data"]["recipientCommunicationIdentifier"]["rawId"] for e in events]
    assert sorted(recipients) == sorted(p.raw_id for p in said.audience if p != said.sender)
    assert {e["eventType"] for e in events} == {"Microsoft.Communication.ChatMessageReceived"}


def test_both_flavours_publish_the_thread_event_and_the_per_user_copies():
    rng = random.Random(1)
    said = next(h for h in happenings(1, participants=(4, 4)) if isinstance(h, Said))

    events = Publisher(topic=TOPIC, flavour=Flavour.BOTH).events(said, rng)

    assert Counter(e["eventType"] for e in events) == {
        "Microsoft.Communication.ChatMessageReceivedInThread": 1,
        "Microsoft.Communication.ChatMessageReceived": 3,
    }


def test_the_ground_truth_latest_version_of_each_message_is_the_last_that_happened():
    made = happenings(12, threads=3, messages=50)

    truth = GroundTruth.of(made, seed=12)

    last: dict[tuple[str, str], Said] = {}
    for happening in made:
        if isinstance(happening, Said):
            last[(happening.thread_id, happening.message_id)] = happening
    assert {(v.thread_id, v.message_id): (v.version, v.action) for v in truth.latest} == {
        key: (said.version, str(said.action)) for key, said in last.items()
    }
    assert len(truth.versions) == sum(isinstance(h, Said) for h in made)
    assert len(truth.changes) == sum(isinstance(h, Changed) for h in made)


def test_the_ground_truth_file_reads_back_as_written(tmp_path):
    truth = GroundTruth.of(happenings(13), seed=13)
    path = tmp_path / "truth.json"

    truth.write(path)

    assert GroundTruth.read(path) == truth


@pytest.mark.parametrize(
    "text",
    ["", "[]", '{"format": "something-else"}', '{"format": "acs-chat-archiver/ground-truth@1"}'],
)
def test_a_file_that_is_not_a_ground_truth_is_refused_with_its_name(tmp_path, text):
    path = tmp_path / "truth.json"
    path.write_text(text)

    with pytest.raises(ConfigurationError, match=r"truth\.json"):
        GroundTruth.read(path)
