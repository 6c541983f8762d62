"""Envelope mode's root key in Azure: the Key Vault key ARCHIVE_ROOT_KEY names, wrapping
and unwrapping subject keys inside Key Vault as the app's identity. (A development key
given as bytes is made by the storage adapter itself: archiver.storage.azure.)"""

from __future__ import annotations

from archiver.core.erasure.keys import KeyWrapper
from archiver.core.settings import Settings


def key_vault_root(settings: Settings) -> KeyWrapper | None:
    """The Key Vault root key, or None when ARCHIVE_ROOT_KEY is unset or local bytes."""
    root = settings.keys.root_key
    if root is None or root.key_vault_uri is None:
        return None
    from archiver.sealing.keywrapping import KeyVaultKeyWrapper
    from archiver.storage.clients import credential_for

    credential = credential_for(settings.storage.client_id)
    return KeyVaultKeyWrapper(root.key_vault_uri, credential=credential)
