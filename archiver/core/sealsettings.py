"""The seal key setting (ARCHIVE_SEAL_KEY): what seals are signed with.

Three forms: an Ed25519 private key in PEM (as text, with newlines or `\\n` escapes,
for an app setting or a Key Vault reference), a path to such a PEM file (local
development), or a Key Vault key's URI, `https://{vault}.vault.azure.net/keys/{name}`
(optionally `/{version}`), which signs inside Key Vault so the key never leaves it. Key
Vault has no Ed25519 keys: its key is an EC P-256 key and its seals are ES256.

ARCHIVE_SEAL_TRUSTED_KEYS names the other public keys a seal may be signed with and still
be trusted (a PEM key retired before a rotation, an earlier key pair): one or more PEM
public keys, as text (newlines or `\\n` escapes) or a path to a file holding them. The
signer's own key, and every version of a Key Vault key, are always trusted; a key found
in the archive never is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.errors import ConfigurationError
from archiver.core.evidence.signatures import PublicKey, public_key_from_pem

SETTING = "ARCHIVE_SEAL_KEY"
TRUSTED_SETTING = "ARCHIVE_SEAL_TRUSTED_KEYS"
_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class SealKey:
    """A seal key: a PEM Ed25519 private key, or the URI of a Key Vault key."""

    pem: bytes | None = field(default=None, repr=False)
    key_vault_uri: str | None = None


def read_seal_key(values: Mapping[str, str]) -> SealKey | None:
    """The seal key, or None when none is set; raise ConfigurationError naming the
    setting (never its value) when it is not a usable key."""
    text = values.get(SETTING, "").strip()
    if not text:
        return None
    if text.startswith("https://"):
        return SealKey(key_vault_uri=key_vault_uri(text))
    pem = _pem(text, f"{SETTING} must be a PEM private key, a path to one, or a Key Vault key URI")
    pem = pem.strip() + b"\n"
    private_key(pem)
    return SealKey(pem=pem)


def read_trusted_keys(values: Mapping[str, str]) -> tuple[PublicKey, ...]:
    """The public keys ARCHIVE_SEAL_TRUSTED_KEYS names (none when unset); raise
    ConfigurationError naming the setting when it holds anything but PEM public keys."""
    text = values.get(TRUSTED_SETTING, "").strip()
    if not text:
        return ()
    pem = _pem(text, f"{TRUSTED_SETTING} must be PEM public keys or a path to a file of them")
    blocks = _PEM_BLOCK.findall(pem)
    leftover = _PEM_BLOCK.sub(b"", pem).strip()
    if not blocks or leftover:
        raise ConfigurationError(f"{TRUSTED_SETTING} must hold only PEM public keys")
    return tuple(
        public_key_from_pem(block, source=f"{TRUSTED_SETTING} (key {index + 1})")
        for index, block in enumerate(blocks)
    )


def _pem(text: str, rule: str) -> bytes:
    """PEM given as text (newlines or `\\n` escapes) or as the path to a file of it."""
    if "-----BEGIN" in text:
        return text.replace("\\n", "\n").encode()
    try:
        return Path(text).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{rule}; the file could not be read ({exc.strerror})") from None


def private_key(pem: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key in `pem`; raise ConfigurationError otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{SETTING} does not hold an unencrypted PEM private key"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"{SETTING} must be an Ed25519 key (openssl genpkey -algorithm ed25519)"
        )
    return key


def key_vault_uri(text: str, *, setting: str = SETTING) -> str:
    """`text` as a Key Vault key's URI, `https://{vault}.vault.azure.net/keys/{name}`
    (optionally `/{version}`); ConfigurationError naming `setting` otherwise."""
    where = urlsplit(text)
    parts = [part for part in where.path.split("/") if part]
    if not where.netloc or len(parts) not in (2, 3) or parts[0] != "keys":
        raise ConfigurationError(
            f"{setting} as a Key Vault key must be https://<vault>.vault.azure.net/keys/<name>"
            f"[/<version>], got {text!r}"
        )
    return text.rstrip("/")
