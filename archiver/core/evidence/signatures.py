"""Seal signatures: who signs (a Signer), and checking a signature with only a public key.

Two algorithms: Ed25519 for a PEM key, and ES256 (ECDSA P-256 with SHA-256, the
signature as the 64 bytes r || s of JWS) for a Key Vault key, since Key Vault has no
Ed25519. A key is known by its RFC 7638 JWK thumbprint, so the same key always has the
same id wherever it is held. The cryptography is the `cryptography` package's; the
canonical JSON of the thumbprint is `rfc8785`'s.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from archiver.core.errors import ConfigurationError

ED25519 = "Ed25519"
ES256 = "ES256"
_P256_BYTES = 32


@dataclass(frozen=True)
class PublicKey:
    """A public key that seals are checked with, and its id."""

    key: Ed25519PublicKey | ec.EllipticCurvePublicKey

    @property
    def algorithm(self) -> str:
        """The signature algorithm the key is used with."""
        return ED25519 if isinstance(self.key, Ed25519PublicKey) else ES256

    @property
    def key_id(self) -> str:
        """The RFC 7638 thumbprint of the key's JWK, base64url without padding."""
        thumbprint = hashlib.sha256(rfc8785.dumps(self.jwk())).digest()
        return _b64url(thumbprint)

    def jwk(self) -> dict[str, str]:
        """The key's required JWK members (RFC 8037 for Ed25519, RFC 7518 for P-256)."""
        if isinstance(self.key, Ed25519PublicKey):
            raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
        numbers = self.key.public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64url(numbers.x.to_bytes(_P256_BYTES, "big")),
            "y": _b64url(numbers.y.to_bytes(_P256_BYTES, "big")),
        }

    def pem(self) -> bytes:
        """The key as a PEM SubjectPublicKeyInfo, as published under seals/keys/."""
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verifies(self, message: bytes, signature: bytes, algorithm: str) -> bool:
        """True when `signature` is this key's signature of `message` by `algorithm`."""
        try:
            if isinstance(self.key, Ed25519PublicKey):
                if algorithm != ED25519:
                    return False
                self.key.verify(signature, message)
            else:
                if algorithm != ES256 or len(signature) != 2 * _P256_BYTES:
                    return False
                r = int.from_bytes(signature[:_P256_BYTES], "big")
                s = int.from_bytes(signature[_P256_BYTES:], "big")
                self.key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def public_key_from_pem(pem: bytes, *, source: str) -> PublicKey:
    """The Ed25519 or P-256 public key in `pem`; raise ConfigurationError naming `source`."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise ConfigurationError(f"{source} does not hold a PEM public key") from None
    if isinstance(key, Ed25519PublicKey) or (
        isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        return PublicKey(key)
    raise ConfigurationError(f"{source} must hold an Ed25519 or P-256 public key")


class Signer(Protocol):
    """What signs seals: a key held here, or one in Key Vault."""

    async def public_key(self) -> PublicKey:
        """The public half, published beside the seals."""

    async def sign(self, message: bytes) -> bytes:
        """The signature of `message` by the key's algorithm."""

    async def own_keys(self) -> tuple[PublicKey, ...]:
        """Every public key this signer has signed with: its key, and for a Key Vault
        key every version of it (earlier seals were signed by earlier versions)."""


class PemSigner:
    """Signs with an Ed25519 private key held in memory (ARCHIVE_SEAL_KEY as PEM)."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = PublicKey(key.public_key())

    async def public_key(self) -> PublicKey:
        """The public half, published beside the seals."""
        return self._public

    async def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of `message`."""
        return self._key.sign(message)

    async def own_keys(self) -> tuple[PublicKey, ...]:
        """The one key it holds."""
        return (self._public,)


def keyring(keys: Iterable[PublicKey]) -> dict[str, PublicKey]:
    """Keys by key id."""
    return {key.key_id: key for key in keys}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
