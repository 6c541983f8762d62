"""The keys of envelope mode, and how each is wrapped by the one above it.

Three levels. A data key (256 random bits) encrypts one version and nothing else, so
destroying it redacts exactly that version. A subject key (256 random bits) per
participant wraps the data keys of their versions, so destroying it erases everything
they wrote. A root key wraps the subject keys: the Key Vault key in Azure, a local key
file in development, both behind the `KeyWrapper` port.

Data keys are wrapped under subject keys with AES-256-GCM, the wrapped form being the
96-bit nonce followed by the ciphertext and tag, and the associated data binding it to
its place: the canonical JSON of {dataKeyId, subjectKeyId}. AES key wrap (RFC 3394)
would also check integrity, but binds nothing: a wrapped key copied to another row of
the key table would unwrap there, and the damage would show only later, as an envelope
that does not open. With the ids as associated data the wrong row fails at once.

Key ids are random UUIDs: they say nothing of the person, and a subject key made again
after an erasure gets a new id, so a receipt's destroyed key is never confused with it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Protocol

import rfc8785
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from archiver.core.errors import UnreadableEnvelope

KEY_BYTES = 32
NONCE_BYTES = 12


def new_key() -> bytes:
    """A fresh 256-bit key (a data key or a subject key) from the system's generator."""
    return secrets.token_bytes(KEY_BYTES)


def new_key_id() -> str:
    """A fresh opaque key id: a random UUID, carrying no personal data."""
    return str(uuid.uuid4())


class KeyWrapper(Protocol):
    """The root key: wraps and unwraps subject keys without ever handing itself out."""

    @property
    def key_id(self) -> str:
        """Which root key (and version) wraps, kept beside each wrapped subject key."""
        ...

    async def wrap(self, key: bytes) -> bytes:
        """`key` wrapped under the root key (in Azure, a request to Key Vault)."""
        ...

    async def unwrap(self, wrapped: bytes, *, wrapped_by: str) -> bytes:
        """The key `wrapped` holds, wrapped by root key `wrapped_by` (a `key_id` this
        wrapper gave, maybe of an earlier version); UnreadableEnvelope if this root key
        did not wrap it."""
        ...

    async def close(self) -> None:
        """Release what the wrapper holds open (a Key Vault client)."""
        ...


class LocalKeyWrapper:
    """A root key held in memory (read from a development key file by the caller): AES
    key wrap (RFC 3394) under 32 bytes of key material. Its id, unless given, is `local-`
    and the first 16 hex digits of the SHA-256 of a label and the material: another
    key file is named as such at once, and the id gives nothing of the key away."""

    def __init__(self, material: bytes, *, key_id: str | None = None) -> None:
        if len(material) != KEY_BYTES:
            raise ValueError(f"a local root key is {KEY_BYTES} bytes, not {len(material)}")
        self._material = material
        fingerprint = hashlib.sha256(b"acs-chat-archiver/root-key@1\x00" + material).hexdigest()
        self._key_id = key_id or f"local-{fingerprint[:16]}"

    def __repr__(self) -> str:
        return f"LocalKeyWrapper(key_id={self._key_id!r})"  # never the material

    @property
    def key_id(self) -> str:
        return self._key_id

    async def wrap(self, key: bytes) -> bytes:
        return aes_key_wrap(self._material, key)

    async def close(self) -> None:
        return None

    async def unwrap(self, wrapped: bytes, *, wrapped_by: str) -> bytes:
        if wrapped_by != self._key_id:
            raise UnreadableEnvelope(
                f"a subject key was wrapped by root key {wrapped_by}, not by {self._key_id}"
            )
        try:
            return aes_key_unwrap(self._material, wrapped)
        except (InvalidUnwrap, ValueError):
            raise UnreadableEnvelope(
                f"a subject key does not unwrap under root key {self._key_id}: "
                "it was wrapped under another key, or its bytes changed"
            ) from None


def _binding(data_key_id: str, subject_key_id: str) -> bytes:
    return rfc8785.dumps({"dataKeyId": data_key_id, "subjectKeyId": subject_key_id})


def wrap_data_key(
    data_key: bytes, *, data_key_id: str, subject_key: bytes, subject_key_id: str
) -> bytes:
    """`data_key` wrapped under the subject key, bound to both ids: nonce ‖ ciphertext."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(subject_key).encrypt(nonce, data_key, _binding(data_key_id, subject_key_id))
    return nonce + sealed


def unwrap_data_key(
    wrapped: bytes, *, data_key_id: str, subject_key: bytes, subject_key_id: str
) -> bytes:
    """The data key `wrapped` holds; UnreadableEnvelope for another subject key, other
    ids, or a changed byte."""
    nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    binding = _binding(data_key_id, subject_key_id)
    try:
        key = AESGCM(subject_key).decrypt(nonce, sealed, binding)
    except (InvalidTag, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise UnreadableEnvelope(
            f"data key {data_key_id} does not unwrap under subject key {subject_key_id}: "
            "another subject's key, another key's row, or a changed byte"
        )
    return key
