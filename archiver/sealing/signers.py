"""Who signs seals, as ARCHIVE_SEAL_KEY says: a PEM key held here, or a Key Vault key."""

from __future__ import annotations

from typing import Any

from archiver.core.errors import ConfigurationError
from archiver.core.evidence.signatures import PemSigner, Signer
from archiver.core.sealsettings import SETTING, SealKey, private_key


def signer_for(key: SealKey | None, *, credential: Any = None) -> Signer:
    """The signer of `key`; raise ConfigurationError when no key is set. A Key Vault key
    signs with `credential` (the app's managed identity in Azure)."""
    if key is None:
        raise ConfigurationError(
            f"{SETTING} is not set: seals are signed with it (a PEM Ed25519 private key, a "
            "path to one, or a Key Vault key URI)"
        )
    if key.pem is not None:
        return PemSigner(private_key(key.pem))
    if key.key_vault_uri is None:
        raise AssertionError("a seal key is a PEM key or a Key Vault key")
    # Imported here: the Key Vault SDK is needed only for a Key Vault key.
    from archiver.sealing.keyvault import KeyVaultSigner

    return KeyVaultSigner(key.key_vault_uri, credential=credential)
