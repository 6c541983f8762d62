"""Transcripts carry the seal that covered them, and a handed-over transcript is proved
against the sealed archive, or shown exactly where it is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.keys import encode_key
from archiver.core.signatures import PublicKey
from archiver.retrieval.evidence import check_transcript
from archiver.retrieval.export import Export, transcript
from archiver.retrieval.rsmf.export import rsmf_files
from archiver.retrieval.rsmf.file import pack
from archiver.retrieval.rsmf.proof import check_rsmf
from archiver.sealing.holdings import newest_seal
from archiver.storage.ports import Storage, Window
from tests.builders import message_event, new_message_id
from tests.chats import archive
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
    messages = [e for e in file.manifest["events"] if e["type"] == "message"]
    assert proof.checked["entries"] == len(messages) > 5


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
        f"message {dropped['id']} of {thread_id}: sealed, within the file's dates, and left out",
    ]


async def test_an_rsmf_file_of_an_unsealed_thread_proves_nothing(storage: Storage):
    simulated = await archived(storage)
    [file] = await rsmf_files(storage, simulated.threads[0])

    proof = await check_rsmf(storage, file.content(), TRUSTED)

    assert proof.problems == [f"thread {simulated.threads[0]}: the transcript carries no seal"]
