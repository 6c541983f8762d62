"""Seals, on every storage adapter: a simulated archive is sealed, then tampered with in
each way someone with write access could; checking it with only the public key names
exactly what was tampered, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.evidence.merkle import tree_hash
from archiver.core.evidence.seals import key_name, parse_seal, seals_prefix
from archiver.core.evidence.signatures import PemSigner, PublicKey
from archiver.core.inventory import MessageBlob, entry
from archiver.core.keys import encode_key
from archiver.sealing.inspection import inspect, published_keys
from archiver.sealing.judgement import Judgement
from archiver.sealing.sealer import Sealer
from archiver.sim.conversations import Shape
from archiver.storage.ports import Storage
from tests.builders import message_event, new_message_id
from tests.chats import Chat, archive, chat
from tests.sealing.tampering import Tamperer

# Two threads, each with edits, a deletion, and participants joining and leaving.
SEED = 3
SHAPE = Shape(threads=2, messages=10, participants=(2, 4), delete_threads=0)
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
START = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Clock:
    """A clock that moves on a minute each time it is read."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def sealer_on(storage: Storage, key: Ed25519PrivateKey = KEY, clock: Clock | None = None):
    return Sealer(storage, PemSigner(key), clock=clock or Clock())


async def archived(storage: Storage) -> Chat:
    simulated = chat(SEED, SHAPE)
    await archive(storage, simulated.events)
    return simulated


async def sealed(storage: Storage, clock: Clock | None = None) -> Chat:
    simulated = await archived(storage)
    results = [r async for r in sealer_on(storage, clock=clock).seal_all()]
    assert len(results) == len(simulated.threads)
    assert all(r.seal is not None for r in results)
    return simulated


async def check(storage: Storage, key: Ed25519PrivateKey = KEY) -> Judgement:
    """verify --seals with only `key`'s public half, every thread merged."""
    public = PublicKey(key.public_key())
    merged = Judgement()
    async for _, judgement in inspect(storage, {public.key_id: public}):
        merged.altered += judgement.altered
        merged.unsealed += judgement.unsealed
        merged.checked += judgement.checked
    return merged


def altered(judgement: Judgement) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in judgement.altered:
        found.setdefault(finding.subject, set()).add(finding.what)
    return found


async def a_version(storage: Storage, thread_id: str, *, newest: bool) -> MessageBlob:
    """A message version of the thread: the one its row points at, or an older one."""
    thread_key = encode_key(thread_id, field="threadId")
    rows = [row async for row in storage.messages.scan(thread_key)]
    names = [name async for name in storage.blobs.names(f"messages/{thread_key}/")]
    edited = next(
        r for r in rows if sum(n.startswith(r.blob_name.rsplit("/", 1)[0]) for n in names) > 1
    )
    if newest:
        found = entry(edited.blob_name)
    else:
        found = entry(next(n for n in names if n.startswith(edited.blob_name.rsplit("/", 1)[0])))
    assert isinstance(found, MessageBlob)
    return found


async def seal_names(storage: Storage, thread_id: str) -> list[str]:
    prefix = seals_prefix(encode_key(thread_id, field="threadId"))
    return [name async for name in storage.blobs.names(prefix)]


async def test_an_untampered_archive_verifies_with_only_the_public_key(storage: Storage):
    await sealed(storage)

    judgement = await check(storage)

    assert judgement.altered == []
    assert judgement.unsealed == []
    names = [name async for name in storage.blobs.names()]
    assert judgement.checked["blobs"] == sum(n.startswith(("messages/", "threads/")) for n in names)
    assert judgement.checked["rows"] > 10


async def test_a_seal_is_signed_canonical_json_over_every_blob_of_its_thread(storage: Storage):
    simulated = await sealed(storage)
    thread_id = simulated.threads[0]
    thread_key = encode_key(thread_id, field="threadId")
    [name] = await seal_names(storage, thread_id)

    document = json.loads(await storage.blobs.read(name))
    signature = base64.b64decode(document.pop("signature"))
    public = KEY.public_key()
    public.verify(signature, rfc8785.dumps(document))  # raises if it does not verify
    listed = [
        b
        async for prefix in _prefixes(thread_key)
        for b in [x async for x in storage.blobs.listing(prefix)]
    ]
    assert [b["name"] for b in document["blobs"]] == sorted(b.name for b in listed)
    for covered in document["blobs"]:
        content = await storage.blobs.read(covered["name"])
        assert covered["sha256"] == hashlib.sha256(content).hexdigest()
        assert covered["size"] == len(content)
    leaves = [rfc8785.dumps(b) for b in document["blobs"]]
    assert document["rootHash"] == tree_hash(leaves).hex()
    assert document["previous"] is None
    published = await storage.blobs.read(key_name(document["keyId"]))
    assert published == public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    known = await storage.threads.get(thread_key)
    assert known is not None
    assert known.row.seal == name
    assert known.row.seal_sha256 == hashlib.sha256(await storage.blobs.read(name)).hexdigest()


async def _prefixes(thread_key: str):
    for folder in ("messages", "threads", "transcripts"):
        yield f"{folder}/{thread_key}/"


async def test_sealing_an_unchanged_thread_again_writes_nothing(storage: Storage):
    simulated = await sealed(storage)
    before = [name async for name in storage.blobs.names()]

    again = await sealer_on(storage).seal(simulated.threads[0])

    assert again.unchanged
    assert again.seal is None
    assert [name async for name in storage.blobs.names()] == before


async def test_a_new_seal_covers_what_is_new_and_is_chained_to_the_last(storage: Storage):
    simulated = await sealed(storage)
    thread_id = simulated.threads[0]
    [first] = await seal_names(storage, thread_id)
    message_id = new_message_id()
    await archive(storage, (message_event(thread_id=thread_id, message_id=message_id),))

    result = await sealer_on(storage, clock=Clock()).seal(thread_id)

    assert result.seal is not None
    assert result.seal.previous is not None
    assert result.seal.previous.name == first
    first_seal = parse_seal(await storage.blobs.read(first), name=first)
    assert result.seal.previous.sha256 == hashlib.sha256(first_seal.document()).hexdigest()
    assert set(first_seal.blobs) < set(result.seal.blobs)
    new = {b.name for b in result.seal.blobs} - {b.name for b in first_seal.blobs}
    assert len(new) == 1
    assert f"/{message_id}/" in new.pop()
    assert (await check(storage)).altered == []


async def test_a_thread_altered_since_its_last_seal_is_refused_not_sealed_over(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    version = await a_version(storage, simulated.threads[0], newest=False)
    await _tamperer(storage, request).delete(version.name)
    before = await seal_names(storage, simulated.threads[0])

    result = await sealer_on(storage).seal(simulated.threads[0])

    assert result.seal is None
    assert result.refused == (f"{version.name} is gone since {before[-1]}",)
    assert await seal_names(storage, simulated.threads[0]) == before


def _tamperer(storage: Storage, request: pytest.FixtureRequest) -> Tamperer:
    settings = None
    if "azurite" in request.node.callspec.id:
        settings = request.getfixturevalue("settings")
    return Tamperer(storage, settings)


async def test_changing_one_byte_of_a_version_is_named_as_modified(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    version = await a_version(storage, simulated.threads[1], newest=False)
    content = await storage.blobs.read(version.name)
    changed = content.replace(b'"version":', b'"version": ', 1)

    await _tamperer(storage, request).overwrite(version.name, changed)

    assert altered(await check(storage)) == {version.name: {"modified"}}


async def test_changing_the_version_a_row_points_at_names_the_blob_not_the_row(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    version = await a_version(storage, simulated.threads[0], newest=True)
    content = await storage.blobs.read(version.name)

    await _tamperer(storage, request).overwrite(version.name, content[:-2] + b" }")

    assert altered(await check(storage)) == {version.name: {"modified"}}


async def test_deleting_a_version_is_named_as_missing(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    version = await a_version(storage, simulated.threads[0], newest=True)

    await _tamperer(storage, request).delete(version.name)

    assert altered(await check(storage)) == {version.name: {"missing"}}


async def test_deleting_a_seal_in_the_middle_of_a_chain_breaks_it_there(
    storage: Storage, request: pytest.FixtureRequest
):
    clock = Clock()
    simulated = await sealed(storage, clock)
    thread_id = simulated.threads[0]
    await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))
    assert (await sealer_on(storage, clock=clock).seal(thread_id)).seal is not None
    first, _ = await seal_names(storage, thread_id)

    await _tamperer(storage, request).delete(first)

    assert altered(await check(storage)) == {first: {"seal missing"}}


async def test_deleting_the_newest_seal_is_named_from_the_thread_row(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    [newest] = await seal_names(storage, simulated.threads[1])

    await _tamperer(storage, request).delete(newest)

    judgement = await check(storage)
    assert altered(judgement) == {newest: {"seal missing"}}


async def test_rewriting_a_row_is_named_as_that_row(storage: Storage):
    simulated = await sealed(storage)
    thread_key = encode_key(simulated.threads[0], field="threadId")
    rows = [r async for r in storage.messages.scan(thread_key)]
    row = next(r for r in rows if r.action == "received")
    current = await storage.messages.current(row.thread_key, row.message_key)
    assert current is not None

    await storage.messages.replace(replace(row, body="I never said that"), etag=current.etag)

    subject = f"ChatMessages row {row.thread_id} / {row.message_id}"
    assert altered(await check(storage)) == {subject: {"row rewritten"}}


async def test_a_forged_version_added_after_the_seal_is_named_unsealed_and_nothing_else(
    storage: Storage,
):
    simulated = await sealed(storage)
    version = await a_version(storage, simulated.threads[0], newest=True)
    content = await storage.blobs.read(version.name)
    forged = version.name.replace(f"{version.version:020d}", f"{version.version + 1:020d}")
    forged = forged.rsplit("-", 1)[0] + "-edited.json"
    await storage.blobs.create(forged, content.replace(b'"body":', b'"body":"forged","was":', 1))

    judgement = await check(storage)

    assert judgement.altered == []
    assert judgement.unsealed == [forged]


async def test_a_seal_replaced_by_one_signed_with_another_key_fails_its_signature(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    [name] = await seal_names(storage, simulated.threads[0])
    seal = parse_seal(await storage.blobs.read(name), name=name)
    other = PublicKey(OTHER_KEY.public_key())
    forged = replace(seal, key_id=other.key_id, signature=b"")
    forged = replace(forged, signature=OTHER_KEY.sign(forged.signed_bytes()))

    await _tamperer(storage, request).overwrite(name, forged.document())

    assert altered(await check(storage)) == {name: {"signature fails", "seal replaced"}}


async def test_without_a_public_key_the_keys_published_in_the_archive_are_used(storage: Storage):
    await sealed(storage)

    keys = await published_keys(storage)

    assert list(keys) == [PublicKey(KEY.public_key()).key_id]
