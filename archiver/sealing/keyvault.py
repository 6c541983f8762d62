"""Signing seals inside Key Vault: the private key never leaves it, and the app needs
only the `sign` and `get` key permissions. Key Vault has no Ed25519, so its seal key
is an EC P-256 key and seals are ES256 (the signature as r || s)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, HttpResponseError
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.keys.crypto import SignatureAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient
from cryptography.hazmat.primitives.asymmetric import ec

from archiver.core.errors import ConfigurationError, StorageUnavailable
from archiver.core.evidence.signatures import PublicKey


class KeyVaultSigner:
    """Signs with a Key Vault EC P-256 key (ES256), by the key's URI."""

    def __init__(self, key_uri: str, *, credential: Any, **client_options: Any) -> None:
        """`client_options` go to the SDK's clients as they are (a transport, retries)."""
        where = urlsplit(key_uri)
        parts = [part for part in where.path.split("/") if part]
        self._vault = f"{where.scheme}://{where.netloc}"
        self._name = parts[1]
        self._version = parts[2] if len(parts) > 2 else None
        self._credential = credential
        self._options = client_options
        self._public: PublicKey | None = None
        self._key_id: str | None = None  # Key Vault's id of the exact version

    async def public_key(self) -> PublicKey:
        """The key's public half, read from Key Vault once."""
        if self._public is None:
            async with KeyClient(self._vault, self._credential, **self._options) as keys:
                try:
                    found = await keys.get_key(self._name, self._version)
                except HttpResponseError as exc:
                    raise ConfigurationError(
                        f"ARCHIVE_SEAL_KEY: Key Vault refused the key ({exc.status_code})"
                    ) from exc
                except AzureError as exc:
                    raise StorageUnavailable(f"Key Vault did not answer: {exc}") from exc
            public = _p256(found)
            if public is None:
                raise ConfigurationError("ARCHIVE_SEAL_KEY must be a Key Vault EC P-256 key")
            self._public = public
            self._key_id = found.id
        return self._public

    async def own_keys(self) -> tuple[PublicKey, ...]:
        """Every version of the key, the one that signs now included: seals made before a
        rotation were signed by an earlier version. Read from Key Vault each time."""
        found = [await self.public_key()]
        async with KeyClient(self._vault, self._credential, **self._options) as keys:
            try:
                async for version in keys.list_properties_of_key_versions(self._name):
                    if version.version is None or version.id == self._key_id:
                        continue
                    key = await keys.get_key(self._name, version.version)
                    public = _p256(key)
                    if public is not None:
                        found.append(public)
            except HttpResponseError as exc:
                raise ConfigurationError(
                    f"ARCHIVE_SEAL_KEY: Key Vault refused to list the key's versions "
                    f"({exc.status_code})"
                ) from exc
            except AzureError as exc:
                raise StorageUnavailable(f"Key Vault did not answer: {exc}") from exc
        return tuple(found)

    async def sign(self, message: bytes) -> bytes:
        """The ES256 signature of `message`, made by Key Vault over its SHA-256."""
        await self.public_key()
        digest = hashlib.sha256(message).digest()
        async with CryptographyClient(
            str(self._key_id), self._credential, **self._options
        ) as crypto:
            try:
                result = await crypto.sign(SignatureAlgorithm.es256, digest)
            except AzureError as exc:
                raise StorageUnavailable(f"Key Vault did not sign: {exc}") from exc
        return bytes(result.signature)


def _p256(found: Any) -> PublicKey | None:
    """The public half of a Key Vault EC P-256 key, or None for any other key."""
    # JsonWebKey sets its members from the service's JSON, undeclared to mypy.
    crv, x, y = (getattr(found.key, member, None) for member in ("crv", "x", "y"))
    if crv != "P-256" or not isinstance(x, bytes) or not isinstance(y, bytes):
        return None
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return PublicKey(numbers.public_key())
