"""Envelope mode's root key in Key Vault, through the real azure-keyvault-keys SDK against
a Key Vault stand-in over https: subject keys wrapped with RSA-OAEP-256 by the key's
public half and unwrapped by Key Vault with the version that wrapped them, rotations
included; a key table row can never make the app send a request to another key or
vault; and every failure is one of the archiver's errors, never the SDK's."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from archiver.core.erasure.keys import KeyWrapper, new_key
from archiver.core.errors import ConfigurationError, StorageUnavailable, UnreadableEnvelope
from archiver.sealing.keywrapping import KeyVaultKeyWrapper
from tests.keyvault_standin import KeyVaultStandin, StaticCredential, b64url

ROOT = "archive-root"


def wrapper_of(vault: KeyVaultStandin, uri: str | None = None) -> KeyVaultKeyWrapper:
    """The wrapper of the vault's root key (or of `uri`), as the app would build it."""
    return KeyVaultKeyWrapper(
        uri or f"{vault.url}/keys/{ROOT}",
        credential=StaticCredential(),
        transport=vault.transport(),
        retry_total=0,  # a failure is reported at once, not after the SDK's back-off
    )


@pytest.fixture
async def vault() -> AsyncIterator[KeyVaultStandin]:
    async with KeyVaultStandin() as started:
        yield started


def unwraps(vault: KeyVaultStandin, version: str) -> int:
    """How many unwrap requests of `version` Key Vault answered."""
    return vault.answered.count(("POST", f"/keys/{ROOT}/{version}/unwrapkey"))


async def test_a_subject_key_wraps_without_leaving_the_app_and_only_key_vault_unwraps_it(
    vault: KeyVaultStandin,
):
    version = vault.create_rsa_key(ROOT)
    root: KeyWrapper = wrapper_of(vault)  # the port the envelope code is written against
    subject_key = new_key()

    assert isinstance(root, KeyVaultKeyWrapper)
    with pytest.raises(RuntimeError):  # the version that wraps is read from Key Vault
        _ = root.key_id
    assert await root.ready() == vault.kid(ROOT, version)
    wrapped = await root.wrap(subject_key)
    opened = await root.unwrap(wrapped, wrapped_by=root.key_id)
    await root.close()

    assert opened == subject_key
    assert len(wrapped) == 3072 // 8  # RSA-OAEP-256 under the deployed RSA 3072 key
    assert subject_key not in wrapped
    # One read of the key and one unwrap; wrapping sent Key Vault nothing.
    assert vault.answered == [
        ("GET", f"/keys/{ROOT}/"),  # the SDK's "current version"
        ("POST", f"/keys/{ROOT}/{version}/unwrapkey"),
    ]


async def test_after_a_rotation_the_new_version_wraps_and_every_older_one_still_unwraps(
    vault: KeyVaultStandin,
):
    first = vault.create_rsa_key(ROOT)
    before = wrapper_of(vault)
    early_key = new_key()
    early = await before.wrap(early_key)
    early_by = before.key_id
    await before.close()
    second = vault.create_rsa_key(ROOT)  # Key Vault's yearly rotation
    after = wrapper_of(vault)  # an instance started since
    late_key = new_key()

    late = await after.wrap(late_key)

    assert (early_by, after.key_id) == (vault.kid(ROOT, first), vault.kid(ROOT, second))
    assert await after.unwrap(early, wrapped_by=early_by) == early_key
    assert await after.unwrap(late, wrapped_by=after.key_id) == late_key
    with pytest.raises(UnreadableEnvelope):  # a row that names the wrong version
        await after.unwrap(early, wrapped_by=after.key_id)
    await after.close()


async def test_a_key_pinned_to_a_version_wraps_with_that_version(vault: KeyVaultStandin):
    first = vault.create_rsa_key(ROOT)
    vault.create_rsa_key(ROOT)
    pinned = wrapper_of(vault, vault.kid(ROOT, first))
    subject_key = new_key()

    wrapped = await pinned.wrap(subject_key)

    assert pinned.key_id == vault.kid(ROOT, first)
    assert await pinned.unwrap(wrapped, wrapped_by=pinned.key_id) == subject_key
    await pinned.close()


def forged_ids(vault: KeyVaultStandin, elsewhere: KeyVaultStandin, version: str) -> list[str]:
    """What a storage writer could put in a row's `wrapped_by` to send the wrapped key,
    and the app's token, somewhere else."""
    host = vault.url.removeprefix("https://")
    return [
        elsewhere.kid(ROOT, version),  # another vault, which would answer
        f"https://attacker.example/keys/{ROOT}/{version}",
        f"http://{host}/keys/{ROOT}/{version}",  # no TLS
        f"https://user@{host}/keys/{ROOT}/{version}",
        vault.kid("archive-seal", version),  # another key of the same vault
        f"{vault.url}/secrets/{ROOT}/{version}",
        f"{vault.url}/keys/{ROOT}",  # no version
        f"{vault.url}/keys/{ROOT}/{version}/unwrapkey",
        f"{vault.url}/keys/{ROOT}/../../keys/other/{version}",
        f"{vault.url}/keys/{ROOT}/{version}?api-version=7.0",
        f"{vault.url}/keys/{ROOT}/{version}#",
        f"{vault.url}/keys/{ROOT}/{version[:-1]}g",
        f"{vault.url}/keys/{ROOT}/%2e%2e",
        f"{vault.url}/keys/{ROOT}/{version}\n",
        f"{vault.url}.attacker.example/keys/{ROOT}/{version}",
        "",
    ]


async def test_a_row_naming_another_vault_or_key_is_refused_and_nothing_is_sent(
    vault: KeyVaultStandin,
):
    version = vault.create_rsa_key(ROOT)
    async with KeyVaultStandin() as elsewhere:
        elsewhere.keys[(ROOT, version)] = vault.keys[(ROOT, version)]  # the same key, even
        elsewhere.operations[(ROOT, version)] = vault.operations[(ROOT, version)]
        root = wrapper_of(vault)
        wrapped = await root.wrap(new_key())
        sent = list(vault.requests)

        refusals = []
        for forged in forged_ids(vault, elsewhere, version):
            with pytest.raises(UnreadableEnvelope) as refused:
                await root.unwrap(wrapped, wrapped_by=forged)
            refusals.append(str(refused.value))
        await root.close()

        assert (vault.requests, elsewhere.requests) == (sent, [])
    assert all("refused, nothing sent" in refusal for refusal in refusals)
    assert all("\n" not in refusal for refusal in refusals)  # nothing injected into logs


async def test_changed_or_made_up_bytes_do_not_unwrap_and_leave_nothing_open(
    vault: KeyVaultStandin,
):
    vault.create_rsa_key(ROOT)
    root = wrapper_of(vault)
    wrapped = await root.wrap(new_key())
    made_up = f"{vault.url}/keys/{ROOT}/{'0' * 32}"  # the right form, no such version
    changed = bytes([wrapped[0] ^ 1]) + wrapped[1:]

    for unreadable in (changed, wrapped[:-1], b""):
        with pytest.raises(UnreadableEnvelope):
            await root.unwrap(unreadable, wrapped_by=root.key_id)
    for _ in range(2):
        with pytest.raises(UnreadableEnvelope):
            await root.unwrap(wrapped, wrapped_by=made_up)
    await root.close()

    # A made-up version's client is dropped: the second try reads the key again.
    assert vault.answered.count(("GET", f"/keys/{ROOT}/{'0' * 32}")) == 2


async def test_each_versions_client_stays_open_so_a_second_unwrap_is_one_request(
    vault: KeyVaultStandin,
):
    first = vault.create_rsa_key(ROOT)
    before = wrapper_of(vault)
    old = [await before.wrap(new_key()) for _ in range(2)]
    old_by = before.key_id
    await before.close()
    vault.create_rsa_key(ROOT)
    root = wrapper_of(vault)
    await root.ready()
    vault.answered.clear()

    for wrapped in old:
        await root.unwrap(wrapped, wrapped_by=old_by)
    await root.close()

    assert unwraps(vault, first) == 2
    assert vault.answered.count(("GET", f"/keys/{ROOT}/{first}")) == 1  # the SDK's, once


async def test_a_key_key_vault_wrapped_itself_unwraps_like_one_the_app_wrapped(
    vault: KeyVaultStandin,
):
    from azure.keyvault.keys.crypto import KeyWrapAlgorithm
    from azure.keyvault.keys.crypto.aio import CryptographyClient

    version = vault.create_rsa_key(ROOT)
    subject_key = new_key()
    vault.refused = {"get"}  # a caller that may not read the key: the SDK asks Key Vault
    async with CryptographyClient(
        vault.kid(ROOT, version), StaticCredential(), transport=vault.transport()
    ) as crypto:
        done = await crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, subject_key)
    vault.refused = set()
    root = wrapper_of(vault)

    opened = await root.unwrap(done.encrypted_key, wrapped_by=vault.kid(ROOT, version))
    await root.close()

    assert ("POST", f"/keys/{ROOT}/{version}/wrapkey") in vault.answered
    assert opened == subject_key


async def test_key_vault_that_does_not_answer_is_unavailable_storage():
    async with KeyVaultStandin() as vault:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            silent = probe.getsockname()[1]
        root = wrapper_of(vault, f"https://vault.localhost:{silent}/keys/{ROOT}")

        with pytest.raises(StorageUnavailable):
            await root.wrap(new_key())
        await root.close()


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_key_vault_failing_or_throttling_is_unavailable_storage(
    vault: KeyVaultStandin, status: int
):
    vault.create_rsa_key(ROOT)
    root = wrapper_of(vault)
    wrapped = await root.wrap(new_key())
    vault.outage = status

    with pytest.raises(StorageUnavailable):
        await root.unwrap(wrapped, wrapped_by=root.key_id)
    with pytest.raises(StorageUnavailable):
        await wrapper_of(vault).ready()
    await root.close()


def says_which_setting_and_role(error: pytest.ExceptionInfo[ConfigurationError]) -> bool:
    told = str(error.value)
    return "ARCHIVE_ROOT_KEY" in told and "(403)" in told and "Crypto Service Encryption" in told


async def test_an_identity_that_may_not_read_the_key_is_told_the_setting_and_the_role(
    vault: KeyVaultStandin,
):
    vault.create_rsa_key(ROOT)
    vault.refused = {"get"}
    root = wrapper_of(vault)

    with pytest.raises(ConfigurationError) as error:
        await root.wrap(new_key())
    await root.close()

    assert says_which_setting_and_role(error)


async def test_an_identity_that_may_not_unwrap_is_told_the_setting_and_the_role(
    vault: KeyVaultStandin,
):
    vault.create_rsa_key(ROOT)
    root = wrapper_of(vault)
    wrapped = await root.wrap(new_key())
    vault.refused = {"unwrapKey"}

    with pytest.raises(ConfigurationError) as error:
        await root.unwrap(wrapped, wrapped_by=root.key_id)
    await root.close()

    assert says_which_setting_and_role(error)


async def test_a_key_that_cannot_be_the_root_key_is_refused_at_start(vault: KeyVaultStandin):
    vault.create_key("archive-seal")  # EC P-256: signs, cannot wrap
    vault.create_rsa_key("sign-only", operations=("sign", "verify"))

    for name in ("archive-seal", "sign-only", "missing"):
        root = wrapper_of(vault, f"{vault.url}/keys/{name}")
        with pytest.raises(ConfigurationError, match="ARCHIVE_ROOT_KEY"):
            await root.ready()
        await root.close()


@pytest.mark.parametrize(
    "uri",
    [
        "http://contoso.vault.azure.net/keys/archive-root",
        "https://contoso.vault.azure.net/secrets/archive-root",
        "https://contoso.vault.azure.net/keys/",
        "https://contoso.vault.azure.net/keys/archive_root",
        "https://contoso.vault.azure.net/keys/archive-root/not-a-version",
        "https://contoso.vault.azure.net/keys/archive-root/" + "0" * 32 + "/x",
        "https://contoso.vault.azure.net/keys/archive-root?api-version=7.5",
        "https://user@contoso.vault.azure.net/keys/archive-root",
        "archive-root",
    ],
)
def test_a_setting_that_is_no_key_vault_key_uri_is_refused_with_its_name(uri: str):
    with pytest.raises(ConfigurationError, match="ARCHIVE_ROOT_KEY must be a Key Vault key URI"):
        KeyVaultKeyWrapper(uri, credential=StaticCredential())


async def test_the_wrapper_shows_its_key_and_no_key_material(vault: KeyVaultStandin):
    version = vault.create_rsa_key(ROOT)
    root = wrapper_of(vault)
    subject_key = new_key()
    wrapped = await root.wrap(subject_key)
    modulus = vault.keys[(ROOT, version)].public_key().public_numbers().n  # type: ignore[union-attr]

    shown = repr(root)
    await root.close()

    assert vault.kid(ROOT, version) in shown
    for secret in (subject_key.hex(), b64url(subject_key), repr(subject_key), b64url(wrapped)):
        assert secret not in shown
    assert b64url(modulus.to_bytes(384, "big"))[:16] not in shown
