"""A realistic, shuffled stream posted to `python -m archiver serve` lands exactly as documented.

The expected archive is computed here from the stream itself (which versions exist,
which is newest), not with the archiver's own code.
"""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from archiver.sim.delivery import Answer
from archiver.storage.azure import AzureStorage
from tests.builders import ALICE, BOB, CAROL, PHONE, TEAMS_USER, message_event, thread_event
from tests.conftest import PROJECT, archiver_command, delivered

pytestmark = pytest.mark.process

PEOPLE = [ALICE, BOB, CAROL, TEAMS_USER, PHONE]
ACTIONS = {"Received": "received", "Edited": "edited", "Deleted": "deleted"}


def conversation(rng: random.Random, thread_id: str, schema: str) -> list[dict]:
    """One thread's life: created, people join, messages are sent, edited, deleted."""
    events = [thread_event("ChatThreadCreated", thread_id=thread_id, version=1, schema=schema)]
    events += [
        thread_event(
            "ChatThreadParticipantAdded",
            thread_id=thread_id,
            version=2,
            participant=person,
            schema=schema,
        )
        for person in PEOPLE[1:]
    ]
    for n in range(12):
        message_id = str(1700000000000 + rng.randrange(10**9))
        version = int(message_id)
        sender = rng.choice(PEOPLE)
        text = rng.choice(["hello", "Grüße 👋", "<p>html <b>body</b></p>", "x" * 3000, ""])
        history: list[tuple[str, int, str | None]] = [("received", version, text)]
        if rng.random() < 0.4:
            history.append(("edited", version + 1000, text + " (edited)"))
        if rng.random() < 0.25:
            history.append(("deleted", version + 2000, None))
        for action, at, body in history:
            if n % 3 == 0:  # per-user copies, one for each recipient
                events += [
                    message_event(
                        action,
                        message_id=message_id,
                        version=at,
                        body=body,
                        sender=sender,
                        thread_id=thread_id,
                        recipient=person,
                        schema=schema,
                    )
                    for person in PEOPLE
                    if person != sender
                ]
            else:
                events.append(
                    message_event(
                        action,
                        message_id=message_id,
                        version=str(at),
                        body=body,
                        sender=sender,
                        thread_id=thread_id,
                        metadata={"n": str(n)},
                        schema=schema,
                    )
                )
    return events


def stream(seed: int = 20261121) -> list[dict]:
    rng = random.Random(seed)
    events = (
        conversation(rng, "19:0f1e2d3c4b5a69788796a5b4c3d2e1f0@thread.v2", "eventgrid")
        + conversation(rng, "19:meeting_ZmFrZS1tZWV0aW5n@thread.v2", "cloudevents")
        + conversation(rng, "19:acsV1_q9GZXYq8@thread.v2", "eventgrid")
    )
    events += rng.sample(events, len(events) // 3)  # redeliveries
    rng.shuffle(events)
    return events


def expected(events: list[dict]) -> tuple[set[str], dict[tuple[str, str], tuple[int, str]]]:
    """Blob names and (version, action) of each latest row, straight from the events."""
    names: set[str] = set()
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    rank = {"received": 0, "edited": 1, "deleted": 2}
    for event in events:
        kind = (event.get("eventType") or event["type"]).removeprefix("Microsoft.Communication.")
        data = event["data"]
        thread, version = data["threadId"], int(data["version"])
        if kind.startswith("ChatMessage"):
            action = ACTIONS[kind.removeprefix("ChatMessage").removesuffix("InThread")]
            names.add(f"messages/{thread}/{data['messageId']}/{version:020d}-{action}.json")
            key = (thread, data["messageId"])
            if key not in newest or (version, rank[action]) > (
                newest[key][0],
                rank[newest[key][1]],
            ):
                newest[key] = (version, action)
        elif kind == "ChatThreadCreated":
            names.add(f"threads/{thread}/{version:020d}-created.json")
        else:
            who = data["participantAdded"]["participantCommunicationIdentifier"]["rawId"]
            names.add(
                f"threads/{thread}/{version:020d}-participantAdded-{who.replace('+', '~2B')}.json"
            )
    return names, newest


async def post(url: str, events: list[dict]) -> Answer:
    answer = await delivered(f"{url}/api/events", json.dumps(events).encode())
    assert answer.delivered, f"answered {answer.status or answer.outcome}: {answer.body!r}"
    return answer


async def test_a_realistic_stream_lands_in_azurite_exactly_as_documented(served):
    url, settings = served
    events = stream()
    totals = {"received": 0, "archived": 0, "duplicates": 0, "quarantined": 0, "ignored": 0}
    redelivered = 0

    for start in range(0, len(events), 40):
        answer = await post(url, events[start : start + 40])
        redelivered += answer.attempts - 1
        for key, count in json.loads(answer.body).items():
            totals[key] += count

    names, newest = expected(events)
    # A batch delivered again (after a 503 on a busy machine) counts what its first try
    # wrote as duplicates; what storage holds, below, is exact either way.
    archived = len(names) if not redelivered else totals["archived"]
    assert totals == {
        "received": len(events),
        "archived": archived,
        "duplicates": len(events) - archived,
        "quarantined": 0,
        "ignored": 0,
    }
    assert archived <= len(names)
    storage = AzureStorage.from_settings(settings)
    try:
        assert {name async for name in storage.blobs.names()} == names
        for (thread, message), (version, action) in newest.items():
            row = await storage.messages.get(thread, message)
            assert row is not None
            assert (row.version, str(row.action)) == (version, action)
            document = json.loads(await storage.blobs.read(row.blob_name))
            assert (document["version"], document["action"], document["body"]) == (
                version,
                action,
                row.body,
            )
            assert document["event"]["data"]["messageId"] == message
    finally:
        await storage.close()


def test_a_bad_setting_stops_serve_with_one_line_naming_it(tmp_path):
    result = subprocess.run(
        archiver_command("serve", "--settings", str(tmp_path / "x.json")),
        cwd=PROJECT,
        env=os.environ | {"ARCHIVE_MAX_BODY_BYTES": "huge"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "archiver: ARCHIVE_MAX_BODY_BYTES must be a number >= 1024, got 'huge'"
    ]
