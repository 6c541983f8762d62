"""Seals signed inside Key Vault (ES256 with an EC P-256 key), through the real
azure-keyvault-keys SDK against a Key Vault stand-in over https: the seal verifies with
the vault key's public half, Key Vault is sent a digest and never the seal, and the
app's key id is the key's thumbprint whatever version is named."""

from __future__ import annotations

import hashlib

from archiver.core.evidence.signatures import ES256, PublicKey
from archiver.sealing.inspection import inspect
from archiver.sealing.keyvault import KeyVaultSigner
from archiver.sealing.sealer import Sealer
from archiver.storage.ports import Storage
from tests.chats import archive, chat
from tests.keyvault_standin import KeyVaultStandin, StaticCredential
from tests.sealing.test_seals import SEED, SHAPE


async def test_a_seal_signed_in_key_vault_verifies_with_the_vault_keys_public_half(
    storage: Storage,
):
    simulated = chat(SEED, SHAPE)
    await archive(storage, simulated.events)
    async with KeyVaultStandin() as vault:
        version = vault.create_key("archive-seal")
        signer = KeyVaultSigner(
            f"{vault.url}/keys/archive-seal",
            credential=StaticCredential(),
            transport=vault.transport(),
        )

        results = [r async for r in Sealer(storage, signer).seal_all()]

    public = PublicKey(vault.public_key("archive-seal", version))
    assert [r.outcome for r in results] == ["sealed"] * len(simulated.threads)
    for result in results:
        assert result.seal is not None
        assert (result.seal.algorithm, result.seal.key_id) == (ES256, public.key_id)
        assert len(result.seal.signature) == 64  # r || s, as JWS has it
    assert sorted(vault.signed) == sorted(
        hashlib.sha256(r.seal.signed_bytes()).digest() for r in results if r.seal
    )
    judged = [j async for _, j in inspect(storage, {public.key_id: public})]
    assert [j.altered for j in judged] == [[]] * len(simulated.threads)
    published = await storage.blobs.read(f"keys/{public.key_id}.pem")
    assert published == public.pem()


async def test_a_key_vault_key_named_with_its_version_signs_with_that_version(storage: Storage):
    simulated = chat(SEED, SHAPE)
    await archive(storage, simulated.events)
    async with KeyVaultStandin() as vault:
        first = vault.create_key("archive-seal")
        vault.create_key("archive-seal")  # rotated since
        signer = KeyVaultSigner(
            f"{vault.url}/keys/archive-seal/{first}",
            credential=StaticCredential(),
            transport=vault.transport(),
        )

        result = await Sealer(storage, signer).seal(simulated.threads[0])

    assert result.seal is not None
    assert result.seal.key_id == PublicKey(vault.public_key("archive-seal", first)).key_id


def test_a_key_vault_uri_setting_makes_a_key_vault_signer():
    from archiver.core.sealsettings import SealKey
    from archiver.sealing.signers import signer_for

    signer = signer_for(
        SealKey(key_vault_uri="https://contoso.vault.azure.net/keys/archive-seal"),
        credential=StaticCredential(),
    )

    assert isinstance(signer, KeyVaultSigner)
