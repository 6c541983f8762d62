"""Transcripts carry the seal that covered them, and a handed-over transcript is proved
against the sealed archive, or shown exactly where it is not."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.acs.client import create_identity
from archiver.bootstrap import build
from archiver.core.acssettings import AcsSettings
from archiver.core.errors import InvalidQuery
from archiver.core.evidence.signatures import PublicKey
from archiver.core.keys import encode_key
from archiver.retrieval.evidence import check_transcript
from archiver.retrieval.export import Export, transcript
from archiver.retrieval.rsmf.export import RsmfFile, rsmf_files
from archiver.retrieval.rsmf.file import pack
from archiver.retrieval.rsmf.manifest import participant_id
from archiver.retrieval.rsmf.proof import check_rsmf
from archiver.retrieval.rsmf.provenance import seal_pairs
from archiver.sealing.holdings import newest_seal
from archiver.sim.conversations import Shape
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage, Window
from tests.acs_standin import AcsStandin, threads_from
from tests.builders import ALICE, BOB, CAROL, THREAD, message_event, new_message_id, thread_event
from tests.chats import archive, chat
from tests.conftest import fresh_settings
from tests.sealing.test_seals import KEY, _tamperer, archived, sealed, sealer_on

TRUSTED = {PublicKey(KEY.public_key()).key_id: PublicKey(KEY.public_key())}


async def exported(storage: Storage, export: Export) -> bytes:
    chunks = await transcript(storage, export, clock=lambda: datetime(2026, 12, 3, tzinfo=UTC))
    return b"".join([chunk async for chunk in chunks])


@pytest.mark.parametrize("all_versions", [True, False])
async def test_an_exported_transcript_carries_its_seal_and_is_proved(
    storage: Storage, all_versions: bool
):
    simulated = await sealed(storage)
    content = await exported(storage, Export(all_versions=all_versions))

    proof = await check_transcript(storage, content, TRUSTED)

    document = json.loads(content)
    for thread in document["threads"]:
        seal = await newest_seal(storage, encode_key(thread["threadId"], field="threadId"))
        assert seal is not None
        assert thread["seal"] == seal.evidence()
    assert proof.problems == []
    assert proof.checked["threads"] == len(simulated.threads)
    assert proof.checked["entries"] == sum(len(t["messages"]) for t in document["threads"])


async def test_a_transcript_of_a_window_is_proved_without_the_messages_outside_it(
    storage: Storage,
):
    simulated = await sealed(storage)
    times = sorted(h.time for h in simulated.happenings)
    window = Window(since=times[len(times) // 3], until=times[2 * len(times) // 3])
    content = await exported(storage, Export(all_versions=True, window=window))

    proof = await check_transcript(storage, content, TRUSTED)

    assert proof.problems == []
    assert proof.checked["entries"] > 0


async def test_an_edited_entry_is_named_as_saying_otherwise_than_the_sealed_blob(
    storage: Storage,
):
    await sealed(storage)
    document = json.loads(await exported(storage, Export(all_versions=True)))
    entry = next(e for e in document["threads"][0]["messages"] if e["body"])
    entry["body"] = "something else"

    proof = await check_transcript(storage, json.dumps(document).encode(), TRUSTED)

    assert proof.problems == [
        f"message {entry['messageId']} v{entry['version']} of {entry['threadId']}: "
        "the transcript says otherwise than the sealed blob"
    ]


async def test_an_entry_left_out_is_named(storage: Storage):
    await sealed(storage)
    document = json.loads(await exported(storage, Export(all_versions=True)))
    dropped = document["threads"][1]["messages"].pop(3)

    proof = await check_transcript(storage, json.dumps(document).encode(), TRUSTED)

    assert len(proof.problems) == 1
    assert proof.problems[0].endswith("sealed, in the transcript's window, and left out")
    assert f"/{encode_key(dropped['messageId'], field='messageId')}/" in proof.problems[0]


async def test_a_blob_changed_in_the_archive_after_the_export_is_named(
    storage: Storage, request: pytest.FixtureRequest
):
    await sealed(storage)
    document = json.loads(await exported(storage, Export(all_versions=True)))
    entry = document["threads"][0]["messages"][0]
    name = (
        f"messages/{encode_key(entry['threadId'], field='threadId')}/"
        f"{encode_key(entry['messageId'], field='messageId')}/"
        f"{entry['version']:020d}-{entry['action']}.json"
    )
    await _tamperer(storage, request).overwrite(name, (await storage.blobs.read(name)) + b" ")

    proof = await check_transcript(storage, json.dumps(document).encode(), TRUSTED)

    assert [p for p in proof.problems if "no longer hashes as sealed" in p] == [
        f"message {entry['messageId']} v{entry['version']} of {entry['threadId']}: its blob "
        f"{name} no longer hashes as sealed"
    ]


async def test_a_transcript_of_an_unsealed_archive_proves_nothing(storage: Storage):
    simulated = await archived(storage)

    content = await exported(storage, Export())
    proof = await check_transcript(storage, content, TRUSTED)

    threads = [t["threadId"] for t in json.loads(content)["threads"]]
    assert proof.problems == [f"thread {t}: the transcript carries no seal" for t in threads]
    assert len(proof.problems) == len(simulated.threads)


async def test_a_transcript_checked_with_another_key_is_not_proved(storage: Storage):
    await sealed(storage)
    other = PublicKey(Ed25519PrivateKey.generate().public_key())
    content = await exported(storage, Export())

    proof = await check_transcript(storage, content, {other.key_id: other})

    assert len(proof.problems) == 2
    assert all("is not signed by a trusted key" in p for p in proof.problems)


async def test_messages_archived_after_the_export_and_sealed_later_still_prove_it(
    storage: Storage,
):
    simulated = await sealed(storage)
    content = await exported(storage, Export(all_versions=True))
    await archive(
        storage, (message_event(thread_id=simulated.threads[0], message_id=new_message_id()),)
    )
    await sealer_on(storage).seal(simulated.threads[0])

    proof = await check_transcript(storage, content, TRUSTED)

    assert proof.problems == []


async def test_an_rsmf_file_carries_its_seal_and_is_proved(storage: Storage):
    simulated = await sealed(storage)
    thread_id = simulated.threads[0]
    [file] = await rsmf_files(storage, thread_id)

    proof = await check_rsmf(storage, file.content(), TRUSTED)

    seal = await newest_seal(storage, encode_key(thread_id, field="threadId"))
    assert seal is not None
    [talk] = file.manifest["conversations"]
    assert {c["name"]: c["value"] for c in talk["custom"]} == {
        f"seal.{name}": str(value) for name, value in seal.evidence().items()
    }
    assert proof.problems == []
    assert proof.checked["entries"] == len(file.manifest["events"]) > 5


async def test_an_rsmf_file_with_an_edit_changed_or_a_message_left_out_is_not_proved(
    storage: Storage,
):
    simulated = await sealed(storage)
    [file] = await rsmf_files(storage, simulated.threads[0])
    manifest = json.loads(json.dumps(file.manifest))
    messages = [e for e in manifest["events"] if e["type"] == "message"]
    edited = next(e for e in messages if e.get("edits"))
    edited["edits"][0]["new"] = "I never wrote this"
    dropped = next(
        e
        for e in messages
        if e is not edited
        and e["timestamp"] > messages[0]["timestamp"]
        and e["timestamp"] < messages[-1]["timestamp"]
    )
    manifest["events"].remove(dropped)

    proof = await check_rsmf(storage, pack(manifest, subject=file.subject), TRUSTED)

    thread_id = simulated.threads[0]
    assert proof.problems == [
        f"message {edited['id']} of {thread_id}: the file says otherwise than its sealed versions",
        f"message {dropped['id']} of {thread_id}: sealed, within the file's scope, and left out",
    ]


async def test_an_rsmf_file_of_an_unsealed_thread_proves_nothing(storage: Storage):
    simulated = await archived(storage)
    [file] = await rsmf_files(storage, simulated.threads[0])

    proof = await check_rsmf(storage, file.content(), TRUSTED)

    assert proof.problems == [f"thread {simulated.threads[0]}: the transcript carries no seal"]


# Attack 6: a proof covers everything a transcript asserts of its thread, not only the
# text of its messages. One thread of record: Alice creates it with Bob ("Q3 plan"),
# Carol joins, Bob leaves, the topic becomes "Q3 plan (final)"; a second thread, sealed
# too, whose seal an attacker might carry instead.
OTHER_THREAD = "19:0c0ffee0000000000000000000000000@thread.v2"
DAVE = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7d60-83fe-0848220d4ae0"
NAMES = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol", DAVE: "Dave"}


def _at(minute: int) -> str:
    return f"2026-11-02T08:{minute:02d}:00.000Z"


def _said(sender: str, message_id: str, minute: int, body: str, **kinds: Any) -> dict[str, Any]:
    event = message_event(
        message_id=message_id, sender=sender, time=_at(minute), body=body, **kinds
    )
    event["data"]["senderDisplayName"] = NAMES[sender]
    event["data"]["composeTime"] = _at(int(message_id[-2:]))
    return event


def of_record(thread_id: str = THREAD) -> tuple[dict[str, Any], ...]:
    created = thread_event(
        "ChatThreadCreated",
        thread_id=thread_id,
        version=1,
        time=_at(0),
        subject_line="Q3 plan",
        participants=(ALICE, BOB),
    )
    for person in created["data"]["participants"]:
        raw_id = person["participantCommunicationIdentifier"]["rawId"]
        person["displayName"] = NAMES[raw_id]
    joined = thread_event(
        "ChatThreadParticipantAdded",
        thread_id=thread_id,
        version=2,
        time=_at(10),
        participant=CAROL,
        display_name="Carol",
    )
    left = thread_event(
        "ChatThreadParticipantRemoved",
        thread_id=thread_id,
        version=3,
        time=_at(30),
        participant=BOB,
        display_name="Bob",
    )
    renamed = thread_event(
        "ChatThreadPropertiesUpdated",
        thread_id=thread_id,
        version=4,
        time=_at(40),
        subject_line="Q3 plan (final)",
    )
    said = [
        _said(ALICE, "1005", 5, "Draft attached", thread_id=thread_id),
        _said(BOB, "1006", 6, "Looks fine", thread_id=thread_id),
        _said(CAROL, "1015", 15, "Numbers are off", thread_id=thread_id),
        _said(CAROL, "1015", 20, "Numbers fixed", thread_id=thread_id, action="edited"),
        _said(ALICE, "1045", 45, "Final it is", thread_id=thread_id),
    ]
    return (created, joined, left, renamed, *said)


async def sealed_of_record(storage: Storage) -> None:
    await archive(storage, of_record() + of_record(OTHER_THREAD))
    sealer = sealer_on(storage)
    for thread_id in (THREAD, OTHER_THREAD):
        assert (await sealer.seal(thread_id)).seal is not None


async def json_of_record(storage: Storage) -> dict[str, Any]:
    await sealed_of_record(storage)
    content = await exported(storage, Export(threads=(THREAD,), all_versions=True))
    document: dict[str, Any] = json.loads(content)
    return document


async def json_proof(storage: Storage, document: dict[str, Any]) -> list[str]:
    return (await check_transcript(storage, json.dumps(document).encode(), TRUSTED)).problems


def _person(raw_id: str) -> dict[str, str]:
    return {"id": raw_id, "displayName": NAMES[raw_id]}


async def test_an_untouched_transcript_of_the_thread_of_record_proves(storage: Storage):
    document = await json_of_record(storage)

    [thread] = document["threads"]
    assert (thread["topic"], thread["createdBy"]) == ("Q3 plan (final)", ALICE)
    assert thread["participants"] == sorted([_person(ALICE), _person(CAROL)], key=str)
    assert thread["formerParticipants"] == [_person(BOB)]
    assert await json_proof(storage, document) == []


async def test_a_transcript_with_two_participants_swapped_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    [thread] = document["threads"]
    first, second = thread["participants"]
    first["displayName"], second["displayName"] = second["displayName"], first["displayName"]

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: participants names {first['id']} {first['displayName']!r}, "
        f"its sealed changes {second['displayName']!r}",
        f"thread {THREAD}: participants names {second['id']} {second['displayName']!r}, "
        f"its sealed changes {first['displayName']!r}",
    ]


async def test_a_transcript_with_a_former_participant_dropped_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    document["threads"][0]["formerParticipants"] = []

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: formerParticipants leaves out {BOB}"
    ]


async def test_a_transcript_with_the_topic_renamed_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    document["threads"][0]["topic"] = "Q3 plan"

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: topic says 'Q3 plan', its sealed changes 'Q3 plan (final)'"
    ]


async def test_a_transcript_with_the_creator_changed_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    document["threads"][0]["createdBy"] = CAROL

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: createdBy says {CAROL!r}, its sealed changes {ALICE!r}"
    ]


@pytest.mark.parametrize(
    ("participants", "former", "says"),
    [
        ([ALICE], [BOB], [f"participants leaves out {CAROL}"]),  # Carol's join dropped
        (
            [ALICE, CAROL, DAVE],
            [BOB],
            [f"participants names {DAVE}, whom its sealed changes do not"],
        ),  # a join invented
        (
            [ALICE, BOB, CAROL],
            [],
            [
                f"participants names {BOB}, whom its sealed changes do not",
                f"formerParticipants leaves out {BOB}",
            ],
        ),  # Bob's leave dropped
        (
            [CAROL],
            [ALICE, BOB],
            [
                f"participants leaves out {ALICE}",
                f"formerParticipants names {ALICE}, whom its sealed changes do not",
            ],
        ),  # a leave invented
    ],
)
async def test_a_transcript_with_a_join_or_leave_dropped_or_invented_is_not_proved(
    storage: Storage, participants: list[str], former: list[str], says: list[str]
):
    document = await json_of_record(storage)
    [thread] = document["threads"]
    thread["participants"] = sorted((_person(p) for p in participants), key=lambda p: p["id"])
    thread["formerParticipants"] = sorted((_person(p) for p in former), key=lambda p: p["id"])

    assert await json_proof(storage, document) == [f"thread {THREAD}: {said}" for said in says]


async def test_a_transcript_with_the_threads_history_dropped_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    [thread] = document["threads"]
    sealed = dict(thread)
    thread.update(topic=None, createdBy=None, createTime=None)

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: topic says None, its sealed changes 'Q3 plan (final)'",
        f"thread {THREAD}: createdBy says None, its sealed changes {ALICE!r}",
        f"thread {THREAD}: createTime says None, its sealed changes {sealed['createTime']!r}",
    ]


async def test_a_transcript_carrying_the_seal_of_another_thread_is_refused(storage: Storage):
    document = await json_of_record(storage)
    other = await newest_seal(storage, encode_key(OTHER_THREAD, field="threadId"))
    assert other is not None
    document["threads"][0]["seal"] = other.evidence()

    assert await json_proof(storage, document) == [
        f"thread {THREAD}: {other.name} is a seal of thread {OTHER_THREAD}, not of this one"
    ]


async def test_a_transcript_of_latest_versions_showing_an_edited_messages_first_is_not_proved(
    storage: Storage,
):
    await sealed_of_record(storage)
    every = json.loads(await exported(storage, Export(threads=(THREAD,), all_versions=True)))
    latest = json.loads(await exported(storage, Export(threads=(THREAD,))))
    [original] = [e for e in every["threads"][0]["messages"] if e["body"] == "Numbers are off"]
    messages = latest["threads"][0]["messages"]
    [edited] = [e for e in messages if e["messageId"] == original["messageId"]]
    messages[messages.index(edited)] = original

    problems = await json_proof(storage, latest)

    assert len(problems) == 1
    assert problems[0].startswith(
        f"message {original['messageId']} v{original['version']} of {THREAD}: "
        "not its message's newest sealed version, messages/"
    )
    assert problems[0].endswith(f"/{edited['version']:020d}-edited.json")


async def test_a_transcript_asserting_a_field_no_export_writes_is_not_proved(storage: Storage):
    document = await json_of_record(storage)
    document["threads"][0]["custodian"] = CAROL
    document["note"] = "reviewed"

    assert await json_proof(storage, document) == [
        "the transcript's 'note' is not a field of a transcript",
        f"thread {THREAD}: 'custodian' is not a field of a thread section",
    ]


async def rsmf_of_record(storage: Storage) -> RsmfFile:
    await sealed_of_record(storage)
    [file] = await rsmf_files(storage, THREAD)
    return file


async def rsmf_proof(
    storage: Storage, manifest: dict[str, Any], subject: str = "Q3 plan (final)"
) -> list[str]:
    return (await check_rsmf(storage, pack(manifest, subject=subject), TRUSTED)).problems


def _copy(file: RsmfFile) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(json.dumps(file.manifest))
    return manifest


def _of(manifest: dict[str, Any], raw_id: str) -> dict[str, Any]:
    return next(p for p in manifest["participants"] if p["account_id"] == raw_id)


def _events(manifest: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in manifest["events"] if e["type"] == kind]


async def test_an_untouched_rsmf_file_of_the_thread_of_record_proves(storage: Storage):
    file = await rsmf_of_record(storage)

    assert [e["type"] for e in file.manifest["events"]] == [
        "history",
        "message",
        "message",
        "join",
        "message",
        "leave",
        "history",
        "message",
    ]
    assert (await check_rsmf(storage, file.content(), TRUSTED)).problems == []


async def test_an_rsmf_file_with_two_participants_swapped_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    alice, carol = _of(manifest, ALICE), _of(manifest, CAROL)
    for key in ("display", "account_id"):
        alice[key], carol[key] = carol[key], alice[key]

    assert await rsmf_proof(storage, manifest) == [
        f"thread {THREAD}: participant {alice['id']} is 'Carol' ({CAROL}), "
        f"its sealed thread says 'Alice' ({ALICE})",
        f"thread {THREAD}: participant {carol['id']} is 'Alice' ({ALICE}), "
        f"its sealed thread says 'Carol' ({CAROL})",
    ]


async def test_an_rsmf_file_listing_other_people_in_its_conversation_is_not_proved(
    storage: Storage,
):
    manifest = _copy(await rsmf_of_record(storage))
    [talk] = manifest["conversations"]
    bob, carol = _of(manifest, BOB)["id"], _of(manifest, CAROL)["id"]
    talk["participants"] = [carol if p == bob else p for p in talk["participants"]]

    assert await rsmf_proof(storage, manifest) == [
        f"thread {THREAD}: the conversation leaves out participant {bob}",
        f"thread {THREAD}: the conversation lists participant {carol}, "
        "whom its sealed thread does not",
    ]


async def test_an_rsmf_file_with_a_former_participant_dropped_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    bob = _of(manifest, BOB)
    manifest["participants"].remove(bob)

    assert await rsmf_proof(storage, manifest) == [
        f"thread {THREAD}: participant {bob['id']} is sealed and left out"
    ]


async def test_an_rsmf_file_with_the_topic_renamed_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    manifest["conversations"][0]["display"] = "Q4 plan"

    assert await rsmf_proof(storage, manifest, subject="Q4 plan") == [
        f"thread {THREAD}: the conversation's display says 'Q4 plan', "
        "its sealed thread 'Q3 plan (final)'"
    ]


async def test_an_rsmf_file_with_its_subject_alone_renamed_is_not_proved(storage: Storage):
    file = await rsmf_of_record(storage)

    assert await rsmf_proof(storage, _copy(file), subject="Q4 plan") == [
        f"thread {THREAD}: its Subject header says 'Q4 plan', its manifest makes 'Q3 plan (final)'"
    ]


async def test_an_rsmf_file_with_the_creator_changed_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    created = _events(manifest, "history")[0]
    created["participant"] = _of(manifest, CAROL)["id"]
    created["body"] = "Carol created the thread with the topic 'Q3 plan'"

    assert await rsmf_proof(storage, manifest) == [
        f"history event {created['id']} of {THREAD}: the file says otherwise than its sealed change"
    ]


async def test_an_rsmf_file_with_a_join_or_a_leave_dropped_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    [join], [leave] = _events(manifest, "join"), _events(manifest, "leave")
    manifest["events"].remove(join)
    manifest["events"].remove(leave)

    assert await rsmf_proof(storage, manifest) == [
        f"join event {join['id']} of {THREAD}: sealed, within the file's scope, and left out",
        f"leave event {leave['id']} of {THREAD}: sealed, within the file's scope, and left out",
    ]


@pytest.mark.parametrize("kind", ["join", "leave"])
async def test_an_rsmf_file_with_a_join_or_a_leave_invented_is_not_proved(
    storage: Storage, kind: str
):
    manifest = _copy(await rsmf_of_record(storage))
    dave = {"id": participant_id(DAVE), "display": "Dave", "account_id": DAVE}
    manifest["participants"].append(dave)
    invented = {
        "id": f"participant{'Added' if kind == 'join' else 'Removed'}-5-{dave['id']}",
        "conversation": THREAD,
        "type": kind,
        "participant": dave["id"],
        "body": f"Dave was {'added' if kind == 'join' else 'removed'} by Alice",
        "timestamp": _at(50),
    }
    manifest["events"].append(invented)

    assert await rsmf_proof(storage, manifest) == [
        f"thread {THREAD}: participant {dave['id']} is not in its sealed thread",
        f"{kind} event {invented['id']} of {THREAD}: not a change {_seal_of(manifest)} covers",
    ]


def _seal_of(manifest: dict[str, Any]) -> str:
    [talk] = manifest["conversations"]
    return next(str(c["value"]) for c in talk["custom"] if c["name"] == "seal.seal")


async def test_an_rsmf_file_with_its_history_dropped_is_not_proved(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    history = _events(manifest, "history")
    manifest["events"] = [e for e in manifest["events"] if e not in history]

    assert await rsmf_proof(storage, manifest) == [
        f"history event {e['id']} of {THREAD}: sealed, within the file's scope, and left out"
        for e in history
    ]


async def test_an_rsmf_file_swapped_renamed_and_without_history_is_not_proved(storage: Storage):
    """The attack as reported: two participants swapped, the topic renamed, the history
    dropped; today's proof finds each."""
    manifest = _copy(await rsmf_of_record(storage))
    alice, carol = _of(manifest, ALICE), _of(manifest, CAROL)
    alice["display"], carol["display"] = carol["display"], alice["display"]
    manifest["conversations"][0]["display"] = "Q4 plan"
    manifest["events"] = [e for e in manifest["events"] if e["type"] != "history"]

    problems = await rsmf_proof(storage, manifest, subject="Q4 plan")

    assert len(problems) == 5
    assert sum("the conversation's display says 'Q4 plan'" in p for p in problems) == 1
    assert sum(p.startswith(f"thread {THREAD}: participant ") for p in problems) == 2
    assert sum(p.startswith("history event ") for p in problems) == 2


async def test_an_rsmf_file_carrying_the_seal_of_another_thread_is_refused(storage: Storage):
    manifest = _copy(await rsmf_of_record(storage))
    other = await newest_seal(storage, encode_key(OTHER_THREAD, field="threadId"))
    assert other is not None
    [talk] = manifest["conversations"]
    talk["custom"] = [{"name": n, "value": v} for n, v in seal_pairs(other.evidence())]

    assert await rsmf_proof(storage, manifest) == [
        f"thread {THREAD}: {other.name} is a seal of thread {OTHER_THREAD}, not of this one"
    ]


@pytest.mark.parametrize("by_day", [True, False])
async def test_every_file_of_a_sliced_rsmf_export_of_a_window_is_proved(
    storage: Storage, by_day: bool
):
    simulated = await sealed(storage)
    times = sorted(h.time for h in simulated.happenings if h.thread_id == simulated.threads[1])
    window = Window(since=times[2], until=times[-3])

    files = await rsmf_files(storage, simulated.threads[1], window=window, by_day=by_day, limit=3)

    assert len(files) > 2
    for file in files:
        assert (await check_rsmf(storage, file.content(), TRUSTED)).problems == []
    [talk] = files[-1].manifest["conversations"]
    scope = {c["name"]: c["value"] for c in talk["custom"] if c["name"].startswith("export.")}
    assert set(scope) == {"export.since", "export.until", "export.part", "export.partSize"} | (
        {"export.day"} if by_day else set()
    )


async def test_an_rsmf_file_with_the_last_event_of_its_part_dropped_is_not_proved(
    storage: Storage,
):
    await sealed_of_record(storage)
    first, *_ = await rsmf_files(storage, THREAD, limit=3)
    manifest = _copy(first)
    dropped = manifest["events"].pop()

    assert await rsmf_proof(storage, manifest) == [
        f"message {dropped['id']} of {THREAD}: sealed, within the file's scope, and left out"
    ]


@pytest.mark.parametrize("events_too", [False, True])
async def test_a_thread_archived_from_acs_proves_what_acs_said_of_it(azurite, events_too: bool):
    """archive-thread gives the row what ACS says (topic, creator, participants), with no
    event behind it; the run's sealed JSON transcript is what proves those facts, alone
    or joined to what the thread's events said."""
    conversation = chat(12, Shape(threads=1, messages=20, participants=(3, 5), delete_threads=0))
    async with AcsStandin() as standin:
        keyed = AcsSettings(endpoint=standin.host_url, access_key=standin.access_key)
        archiver = await create_identity(keyed)
        standin.add_threads(threads_from(conversation.happenings, archiver=archiver))
        settings = replace(
            fresh_settings(azurite.connection_string),
            acs=replace(keyed, archiver_user_id=archiver),
        )
        services = build(settings)
        try:
            [thread_id] = conversation.threads
            if events_too:
                await archive(services.storage, conversation.events)
            assert (await services.reconciler.thread(thread_id)).source == "acs"
            assert (await sealer_on(services.storage).seal(thread_id)).seal is not None
            storage = services.storage
            document = json.loads(await exported(storage, Export(threads=(thread_id,))))
            [file] = await rsmf_files(storage, thread_id)

            assert document["threads"][0]["participants"]
            assert await json_proof(storage, document) == []
            assert (await check_rsmf(storage, file.content(), TRUSTED)).problems == []
            dropped = document["threads"][0]["participants"].pop()
            assert await json_proof(storage, document) == [
                f"thread {thread_id}: participants leaves out {dropped['id']}"
            ]
        finally:
            await services.close()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, the value itself first."""
    found = [path]
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, inner in items:
        found += _paths(inner, (*path, key))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    if not path:
        return new
    place = copy
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = new
    return copy


WEIRD: tuple[Any, ...] = (None, 7, [{}], {"id": None})


async def test_a_transcript_or_rsmf_file_tampered_anywhere_is_a_problem_never_a_crash():
    """Every value of a small transcript and RSMF file replaced by a value of another
    shape: each is a problem the proof names, or refused as not a transcript of ours."""
    storage = MemoryStorage()
    document = await json_of_record(storage)
    [file] = await rsmf_files(storage, THREAD)
    document["threads"][0]["messages"] = document["threads"][0]["messages"][:1]
    manifest = _copy(file)
    manifest["events"] = manifest["events"][:2]

    for path in _paths(document):
        for weird in WEIRD:
            tampered = json.dumps(_replaced(document, path, weird)).encode()
            try:
                proof = await check_transcript(storage, tampered, TRUSTED)
            except InvalidQuery:
                continue
            assert proof.problems, (path, weird)
    for path in _paths(manifest):
        for weird in WEIRD:
            try:
                content = pack(_replaced(manifest, path, weird), subject="Q3 plan (final)")
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                continue  # not even a file
            try:
                proof = await check_rsmf(storage, content, TRUSTED)
            except InvalidQuery:
                continue
            assert proof.problems, (path, weird)


@pytest.mark.parametrize(
    "scope",
    [
        {"export.part": "0", "export.partSize": "3"},
        {"export.part": "2"},
        {"export.since": "yesterday"},
        {"export.day": "2026-13-01"},
        {"export.window": "all"},
    ],
)
async def test_an_rsmf_file_naming_a_scope_no_export_writes_is_refused_as_not_ours(
    storage: Storage, scope: dict[str, str]
):
    manifest = _copy(await rsmf_of_record(storage))
    manifest["conversations"][0]["custom"] += [{"name": n, "value": v} for n, v in scope.items()]

    with pytest.raises(InvalidQuery, match="not an RSMF file of this archiver"):
        await check_rsmf(storage, pack(manifest, subject="Q3 plan (final)"), TRUSTED)


async def test_an_rsmf_file_whose_sealed_blobs_changed_since_names_each_blob(
    storage: Storage, request: pytest.FixtureRequest
):
    file = await rsmf_of_record(storage)
    thread_key = encode_key(THREAD, field="threadId")
    message = f"messages/{thread_key}/{encode_key('1015', field='messageId')}/"
    [edit] = [n async for n in storage.blobs.names(message) if n.endswith("-edited.json")]
    [join] = [n async for n in storage.blobs.names(f"threads/{thread_key}/") if "Added" in n]
    tamperer = _tamperer(storage, request)
    for name in (edit, join):
        await tamperer.overwrite(name, (await storage.blobs.read(name)) + b" ")

    assert (await check_rsmf(storage, file.content(), TRUSTED)).problems == [
        f"thread {THREAD}: its blob {join} no longer hashes as sealed",
        f"message 1015 of {THREAD}: its blob {edit} no longer hashes as sealed",
    ]
