"""Trust comes from the signer, never from the archive: the attacks of a storage writer
without the seal key, each a specification, on every storage adapter.

The writer can publish a key of its own, change a sealed version and its recorded
SHA-256, rewrite the row, and write a seal signed with its key that chains to the
genuine one. The sealer refuses to chain to it; checking with the auditor's key names
the changed version as modified at the first seal that differs, whatever was sealed on
top of it since.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.documents import version_of
from archiver.core.evidence.seals import Seal, key_name, next_seal, parse_seal, signed
from archiver.core.evidence.signatures import ED25519, PemSigner, PublicKey
from archiver.core.inventory import MessageBlob
from archiver.core.keys import encode_key
from archiver.core.layout import content_sha256, latest_row
from archiver.core.threads import ThreadRow
from archiver.retrieval.evidence import check_transcript
from archiver.retrieval.export import Export, transcript
from archiver.retrieval.rsmf.export import rsmf_files
from archiver.retrieval.rsmf.proof import check_rsmf
from archiver.sealing.holdings import covered, holdings, seal_names
from archiver.sealing.keyvault import KeyVaultSigner
from archiver.sealing.sealer import Sealer
from archiver.storage.ports import Storage
from tests.builders import message_event, new_message_id
from tests.chats import archive
from tests.keyvault_standin import KeyVaultStandin, StaticCredential
from tests.sealing.tampering import Tamperer
from tests.sealing.test_seals import (
    KEY,
    Clock,
    a_version,
    altered,
    archived,
    check,
    sealed,
    sealer_on,
)
from tests.sealing.test_transcript_evidence import TRUSTED

ATTACKER = Ed25519PrivateKey.generate()


def tamperer(storage: Storage, request: pytest.FixtureRequest) -> Tamperer:
    settings = None
    if "azurite" in request.node.callspec.id:
        settings = request.getfixturevalue("settings")
    return Tamperer(storage, settings)


async def launder(storage: Storage, forger: Tamperer, thread_id: str) -> tuple[MessageBlob, str]:
    """The storage writer's attack: its key published, a sealed version rewritten (with
    its recorded hash), its row made to match, and a seal signed with its key chained to
    the genuine one, recorded in the thread row. Returns the version and the forged seal."""
    thread_key = encode_key(thread_id, field="threadId")
    attacker = PublicKey(ATTACKER.public_key())
    await storage.blobs.create(key_name(attacker.key_id), attacker.pem())
    version = await a_version(storage, thread_id, newest=True)
    document = json.loads(await storage.blobs.read(version.name))
    document["body"] = document["event"]["data"]["messageBody"] = "Refund approved: 10,000 EUR"
    forged = json.dumps(document).encode()
    await forger.forge(version.name, forged)
    row = latest_row(version_of(document, name=version.name), sha256=content_sha256(forged))
    current = await storage.messages.current(thread_key, row.message_key)
    assert current is not None
    await storage.messages.replace(row, etag=current.etag)
    held = await holdings(storage, thread_key)
    genuine = parse_seal(held.seals[-1][1], name=held.seals[-1][0])
    seal = next_seal(
        thread_id=thread_id,
        thread_key=thread_key,
        blobs=await covered(storage, held.blobs),
        last=genuine,
        sealed_at=genuine.sealed_at + timedelta(hours=1),
        key_id=attacker.key_id,
        algorithm=ED25519,
    )
    seal = signed(seal, ATTACKER.sign(seal.signed_bytes()))
    await storage.blobs.create(seal.name, seal.document())
    known = await storage.threads.get(thread_key)
    assert known is not None
    pointer = replace(known.row, seal=seal.name, seal_sha256=content_sha256(seal.document()))
    await storage.threads.replace(pointer, etag=known.etag)
    return version, seal.name


async def test_a_seal_signed_with_a_key_published_in_the_archive_is_refused_never_chained_to(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    thread_id = simulated.threads[0]
    _, forged = await launder(storage, tamperer(storage, request), thread_id)

    result = await sealer_on(storage).seal(thread_id)

    assert result.outcome == "refused"
    assert result.refused == (
        f"{forged} is signed by key {PublicKey(ATTACKER.public_key()).key_id}, which is not "
        "the seal key nor one of ARCHIVE_SEAL_TRUSTED_KEYS",
    )
    await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))
    again = await sealer_on(storage).seal(thread_id)
    assert again.outcome == "refused"
    assert (await seal_names(storage, encode_key(thread_id, field="threadId")))[-1] == forged


async def test_checking_with_the_auditors_key_names_the_laundered_version_as_modified(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    version, forged = await launder(storage, tamperer(storage, request), simulated.threads[0])

    judgement = await check(storage)

    assert altered(judgement) == {
        version.name: {"modified"},
        forged: {"signature fails", "history rewritten"},
    }


async def test_a_genuine_seal_made_over_a_forged_one_does_not_hide_what_it_changed(
    storage: Storage, request: pytest.FixtureRequest
):
    # What 0.6's sealer did: it trusted the key the forger published, and chained to it.
    clock = Clock()
    simulated = await sealed(storage, clock)
    thread_id = simulated.threads[0]
    version, forged = await launder(storage, tamperer(storage, request), thread_id)
    clock.now += timedelta(hours=2)
    await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))
    fooled = Sealer(
        storage, PemSigner(KEY), clock=clock, trusted=[PublicKey(ATTACKER.public_key())]
    )
    assert (await fooled.seal(thread_id)).outcome == "sealed"

    judgement = await check(storage)

    assert altered(judgement) == {
        version.name: {"modified"},
        forged: {"signature fails", "history rewritten"},
    }
    [finding] = [f for f in judgement.altered if f.subject == version.name]
    assert finding.detail.endswith(f"changed in {forged}")


async def fooled_into_sealing_over(
    storage: Storage, request: pytest.FixtureRequest
) -> tuple[str, MessageBlob]:
    """0.6's laundering to its end: a genuine seal made on top of the forged one."""
    clock = Clock()
    simulated = await sealed(storage, clock)
    thread_id = simulated.threads[0]
    version, _ = await launder(storage, tamperer(storage, request), thread_id)
    clock.now += timedelta(hours=2)
    await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))
    fooled = Sealer(
        storage, PemSigner(KEY), clock=clock, trusted=[PublicKey(ATTACKER.public_key())]
    )
    assert (await fooled.seal(thread_id)).outcome == "sealed"
    return thread_id, version


async def test_a_transcript_of_laundered_text_is_not_proved_under_a_genuine_seal(
    storage: Storage, request: pytest.FixtureRequest
):
    thread_id, _ = await fooled_into_sealing_over(storage, request)
    chunks = await transcript(storage, Export(threads=(thread_id,), all_versions=True))
    content = b"".join([chunk async for chunk in chunks])
    assert b"Refund approved: 10,000 EUR" in content

    proof = await check_transcript(storage, content, TRUSTED)

    [problem] = proof.problems
    assert problem.startswith(f"thread {thread_id}: the chain of seals up to ")
    assert "not sound: signature fails" in problem


async def test_an_rsmf_file_of_laundered_text_is_not_proved_under_a_genuine_seal(
    storage: Storage, request: pytest.FixtureRequest
):
    thread_id, _ = await fooled_into_sealing_over(storage, request)
    [file] = await rsmf_files(storage, thread_id)

    proof = await check_rsmf(storage, file.content(), TRUSTED)

    assert any("the chain of seals up to " in problem for problem in proof.problems)


async def test_a_later_seal_that_leaves_out_a_sealed_blob_is_named_where_history_changed(
    storage: Storage, request: pytest.FixtureRequest
):
    clock = Clock()
    simulated = await sealed(storage, clock)
    thread_id = simulated.threads[1]
    thread_key = encode_key(thread_id, field="threadId")
    version = await a_version(storage, thread_id, newest=False)
    await tamperer(storage, request).delete(version.name)
    held = await holdings(storage, thread_key)
    first = parse_seal(held.seals[-1][1], name=held.seals[-1][0])
    # A seal over what is left, by someone who held the signing key for a moment.
    later = next_seal(
        thread_id=thread_id,
        thread_key=thread_key,
        blobs=await covered(storage, held.blobs),
        last=first,
        sealed_at=clock(),
        key_id=first.key_id,
        algorithm=first.algorithm,
    )
    later = signed(later, KEY.sign(later.signed_bytes()))
    await storage.blobs.create(later.name, later.document())

    judgement = await check(storage)

    assert altered(judgement) == {
        version.name: {"missing"},
        later.name: {"history rewritten"},
    }


async def test_a_key_named_in_trusted_keys_keeps_a_chain_across_a_key_rotation(storage: Storage):
    clock = Clock()
    simulated = await sealed(storage, clock)
    thread_id = simulated.threads[0]
    await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))
    rotated = Ed25519PrivateKey.generate()
    old = PublicKey(KEY.public_key())

    untrusting = await Sealer(storage, PemSigner(rotated), clock=clock).seal(thread_id)
    trusting = await Sealer(storage, PemSigner(rotated), clock=clock, trusted=[old]).seal(thread_id)

    assert untrusting.outcome == "refused"
    assert trusting.outcome == "sealed"
    assert trusting.seal is not None
    assert trusting.seal.key_id == PublicKey(rotated.public_key()).key_id


async def test_every_version_of_a_key_vault_key_is_trusted_by_its_signer(storage: Storage):
    clock = Clock()
    simulated = await archived(storage)
    thread_id = simulated.threads[0]
    async with KeyVaultStandin() as vault:
        vault.create_key("archive-seal")
        latest = f"{vault.url}/keys/archive-seal"
        options = {"credential": StaticCredential(), "transport": vault.transport()}
        first = await Sealer(storage, KeyVaultSigner(latest, **options), clock=clock).seal(
            thread_id
        )
        vault.create_key("archive-seal")  # rotated: the new version signs from now on
        await archive(storage, (message_event(thread_id=thread_id, message_id=new_message_id()),))

        after = await Sealer(storage, KeyVaultSigner(latest, **options), clock=clock).seal(
            thread_id
        )

    assert first.seal is not None
    assert after.seal is not None
    assert after.seal.previous is not None
    assert after.seal.previous.name == first.seal.name
    assert after.seal.key_id != first.seal.key_id


async def test_a_thread_whose_id_is_keys_seals_and_verifies_like_any_other(storage: Storage):
    # 0.6 published keys under seals/keys/, the seal folder of a thread whose id is "keys".
    await storage.blobs.create("seals/keys/legacy.pem", PublicKey(KEY.public_key()).pem())
    await archive(storage, (message_event(thread_id="keys", message_id=new_message_id()),))

    result = await sealer_on(storage).seal("keys")

    assert result.outcome == "sealed"
    assert isinstance(result.seal, Seal)
    assert result.seal.name.startswith("seals/keys/")
    assert await seal_names(storage, "keys") == [result.seal.name]
    assert (await check(storage)).altered == []
    published = [name async for name in storage.blobs.names("keys/")]
    assert published == [key_name(PublicKey(KEY.public_key()).key_id)]


async def test_the_thread_row_records_a_forged_seal_only_as_the_attacker_wrote_it(
    storage: Storage, request: pytest.FixtureRequest
):
    simulated = await sealed(storage)
    thread_key = encode_key(simulated.threads[0], field="threadId")
    _, forged = await launder(storage, tamperer(storage, request), simulated.threads[0])

    await sealer_on(storage).seal(simulated.threads[0])

    known = await storage.threads.get(thread_key)
    assert known is not None
    assert isinstance(known.row, ThreadRow)
    assert known.row.seal == forged  # the refused sealer wrote nothing over it
