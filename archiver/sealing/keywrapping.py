"""Envelope mode's root key in Key Vault: an RSA key that wraps subject keys with
RSA-OAEP-256 and never leaves the vault.

An RSA key because a standard vault has no AES key wrap (A256KW is Managed HSM's only);
the deployment makes an RSA 3072 key, so a wrapped subject key is 384 bytes. The SDK
wraps with the key's public half, read once with the key (`keys/read`), so a subject key
never travels to be wrapped; unwrapping needs the private half, so each unwrap is a
request to Key Vault and an entry in its audit log.

The key table keeps, beside each wrapped subject key, the id of the root key version
that wrapped it (`wrapped_by`), and whoever can write that table can write any id there.
So `unwrap` takes from `wrapped_by` only a version, and only when the id names a version
of the very key ARCHIVE_ROOT_KEY names (same vault, same key name, a 32-hex version, no
more); the request's URL is built from the setting and that version. Any other id is
refused before a request is made: a row can make the app ask its own vault's root key
to unwrap, never send a wrapped key or a token anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, HttpResponseError
from azure.keyvault.keys import KeyVaultKey
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.keys.crypto import KeyWrapAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient

from archiver.core.errors import ConfigurationError, StorageUnavailable, UnreadableEnvelope

SETTING = "ARCHIVE_ROOT_KEY"
ALGORITHM = KeyWrapAlgorithm.rsa_oaep_256
_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")  # Key Vault's rule for an object's name
_VERSION = re.compile(r"[0-9A-Fa-f]{32}")  # Key Vault's versions are 32 hex digits
_OPERATIONS = {"wrapKey", "unwrapKey"}
_SMALLEST_BITS = 2048  # Key Vault makes RSA keys of 2048, 3072 and 4096 bits


class KeyVaultKeyWrapper:
    """The root key as a Key Vault RSA key named by its URI
    `https://{vault}.vault.azure.net/keys/{name}[/{version}]`: without a version, the
    version current when it is first read wraps (after a rotation, a restarted instance
    wraps with the new one); every version of the key unwraps what it wrapped.

    `key_id` is Key Vault's id of the wrapping version (its `kid`), known once `ready()`
    (or a first `wrap`) has read the key; call `ready()` at start to fail early."""

    def __init__(self, key_uri: str, *, credential: Any, **client_options: Any) -> None:
        """`client_options` go to the SDK's clients as they are (a transport, retries)."""
        self._vault, self._name, self._pinned = _parts(key_uri)
        self._credential = credential
        self._options = client_options
        self._kid: str | None = None
        self._current: str | None = None
        self._clients: dict[str, CryptographyClient] = {}  # by version, open until close()

    def __repr__(self) -> str:
        return f"KeyVaultKeyWrapper(key='{self._vault}/keys/{self._name}', key_id={self._kid!r})"

    @property
    def key_id(self) -> str:
        """The exact version that wraps (RuntimeError before `ready()` has read it)."""
        if self._kid is None:
            raise RuntimeError("the root key's version is known once ready() has read it")
        return self._kid

    async def ready(self) -> str:
        """Read the key once (its version, public half and operations) and return its
        `kid`; ConfigurationError naming ARCHIVE_ROOT_KEY when it cannot wrap."""
        if self._kid is None:
            async with KeyClient(self._vault, self._credential, **self._options) as keys:
                with _translated("reading the root key"):
                    found = await keys.get_key(self._name, self._pinned)
            version = self._version_in(found.id)
            if version is None:
                raise ConfigurationError(
                    f"{SETTING} names {self._vault}/keys/{self._name}, but Key Vault calls "
                    f"the key {found.id}: set {SETTING} to that (without its version)"
                )
            _check_usable(found)
            # Made from the key read, the client wraps with its public half, asking nothing.
            if version not in self._clients:
                self._clients[version] = CryptographyClient(
                    found, self._credential, **self._options
                )
            self._kid, self._current = found.id, version
        return self._kid

    async def wrap(self, key: bytes) -> bytes:
        """`key` wrapped by the current version with RSA-OAEP-256."""
        await self.ready()
        client = self._clients[str(self._current)]
        with _translated("wrapping a subject key"):
            try:
                result = await client.wrap_key(ALGORITHM, key)
            except ValueError as exc:  # the SDK's check of the version's validity dates
                raise ConfigurationError(f"{SETTING} cannot wrap: {exc}") from exc
        return bytes(result.encrypted_key)

    async def unwrap(self, wrapped: bytes, *, wrapped_by: str) -> bytes:
        """The key `wrapped` holds, unwrapped by Key Vault with version `wrapped_by`;
        UnreadableEnvelope, without a request, for an id of any other key or vault."""
        version = self._version_in(wrapped_by)
        if version is None:
            raise UnreadableEnvelope(
                f"a subject key names root key {wrapped_by[:300]!r}, which is no version of "
                f"{self._vault}/keys/{self._name} ({SETTING}): refused, nothing sent"
            )
        client = self._clients.get(version)
        kept = client is not None
        if client is None:
            kid = f"{self._vault}/keys/{self._name}/{version}"
            client = CryptographyClient(kid, self._credential, **self._options)
        try:
            with _translated(f"unwrapping a subject key with version {version}", key=True):
                result = await client.unwrap_key(ALGORITHM, wrapped)
            if not kept:  # kept only once it has unwrapped: made-up versions leave nothing
                kept = self._clients.setdefault(version, client) is client
        finally:
            if not kept:
                await client.close()
        return bytes(result.key)

    async def close(self) -> None:
        """Close every version's client (the credential stays its owner's)."""
        clients, self._clients = list(self._clients.values()), {}
        self._kid = self._current = None
        for client in clients:
            await client.close()

    def _version_in(self, kid: str) -> str | None:
        """The version `kid` names when it is exactly `{vault}/keys/{name}/{version}` of
        this wrapper's vault and key (Key Vault's host and names ignore case)."""
        prefix = f"{self._vault}/keys/{self._name}/"
        version = kid[len(prefix) :]
        if kid[: len(prefix)].lower() != prefix.lower() or not _VERSION.fullmatch(version):
            return None
        return version


def _parts(key_uri: str) -> tuple[str, str, str | None]:
    """(vault URL, key name, version or None) of a Key Vault key URI."""
    where = urlsplit(key_uri.strip())
    parts = where.path.rstrip("/").split("/")
    version = parts[3] if len(parts) == 4 else None
    if (
        where.scheme != "https"
        or not where.hostname
        or where.username is not None
        or where.query
        or where.fragment
        or len(parts) not in (3, 4)
        or parts[:2] != ["", "keys"]
        or not _NAME.fullmatch(parts[2])
        or (version is not None and not _VERSION.fullmatch(version))
    ):
        raise ConfigurationError(
            f"{SETTING} must be a Key Vault key URI, "
            f"https://<vault>.vault.azure.net/keys/<name>[/<version>], got {key_uri!r}"
        )
    return f"https://{where.netloc}", parts[2], version


def _check_usable(found: KeyVaultKey) -> None:
    """ConfigurationError unless `found` is an enabled RSA key that may wrap and unwrap."""
    modulus = getattr(found.key, "n", None)  # JsonWebKey's members, undeclared to mypy
    operations = {getattr(op, "value", op) for op in found.key_operations or ()}
    if (
        found.key_type not in ("RSA", "RSA-HSM")
        or not isinstance(modulus, bytes)
        or len(modulus.lstrip(b"\0")) * 8 < _SMALLEST_BITS
    ):
        raise ConfigurationError(f"{SETTING} must be a Key Vault RSA key (2048 bits or more)")
    if not operations >= _OPERATIONS:
        raise ConfigurationError(
            f"{SETTING}: the key must allow wrapKey and unwrapKey, it allows {sorted(operations)}"
        )
    if found.properties.enabled is False:
        raise ConfigurationError(f"{SETTING}: the key {found.id} is disabled")


@contextmanager
def _translated(doing: str, *, key: bool = False) -> Iterator[None]:
    """Key Vault's errors as the archiver's: throttled, failing or silent is
    StorageUnavailable; refusing the wrapped bytes (`key`: 400, or a version that does
    not exist) is UnreadableEnvelope; any other refusal is the setting's fault."""
    try:
        yield
    except HttpResponseError as exc:
        status = exc.status_code
        if status is not None and (status == 429 or status >= 500):
            raise StorageUnavailable(f"Key Vault failed {doing} ({status})") from exc
        if key and status in (400, 404):
            raise UnreadableEnvelope(
                f"Key Vault refused {doing} ({status}): the wrapped bytes changed, another "
                "version wrapped them, or that version does not exist"
            ) from exc
        why = (
            "there is no such key"
            if status == 404
            else "the app's identity needs Key Vault Crypto Service Encryption User on the key"
        )
        raise ConfigurationError(
            f"{SETTING}: Key Vault refused {doing} ({status or 'no token'}): {why}"
        ) from exc
    except AzureError as exc:
        raise StorageUnavailable(f"Key Vault did not answer {doing}: {exc}") from exc
