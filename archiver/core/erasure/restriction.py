"""The restriction key: what keeps an item whose erasure was asked for while a retention
obligation still keeps it "beyond use" (GDPR Art. 18), until the obligation ends and the
item is shredded.

The app holds only the public half (ARCHIVE_RESTRICTION_KEY): it can restrict a data key,
never open one. The private half exists only as two shares, given to two admins when the
key is made; opening a restricted key needs both shares together. Shredding one at the
obligation's end is destroying its key row, which needs no share.

The scheme, and why:

- An RSA-3072 key pair (128-bit security, NIST SP 800-57), from `cryptography`. RSA
  rather than X25519 with HPKE: a PEM RSA public key is what every tool reads, and the
  private half can move into an HSM or Key Vault later as it is.
- A data key (32 bytes) is restricted with RSA-OAEP (SHA-256, MGF1-SHA-256) in one block:
  32 bytes fit, so no second cipher and no one-time key are needed. The OAEP label is the
  canonical JSON of the data key's and subject key's ids and this scheme's name, as
  AES-GCM's associated data binds an active data key (archiver.core.erasure.keys): a
  restricted key copied to another row does not open there, and fails by name.
- The private key's PKCS#8 DER is split two of two: share 1 is a random pad as long as
  the DER, share 2 the DER XOR the pad. Each share alone is uniformly random, so it holds
  nothing of the key (information-theoretically, not merely hard to break), and needs no
  passphrase, only to be kept apart from the other. Shamir's scheme would give k of n;
  two of two needs only XOR, and no further dependency.
- A share is text: which of the two it is, the key's id (a fingerprint of the public
  key), the share in base64, and a checksum over all three. A typo, a share of another
  key, or two copies of one share are named, never combined into a wrong key; and the
  combined key is checked against the fingerprint its shares name before anything opens.

The one moment one process holds the whole private key is `create_restriction_key`: it
is never written, only its shares are (docs/erasure.md says how to hand them over).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import textwrap
from dataclasses import dataclass, field

import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from archiver.core.erasure.keys import KEY_BYTES
from archiver.core.errors import ConfigurationError, UnreadableEnvelope

SCHEME = "acs-chat-archiver/restricted-key@1"
KEY_BITS = 3072
_SHARE_TITLE = re.compile(r"acs-chat-archiver restriction key share ([12]) of 2")
_SHARE_KEY = re.compile(r"key: (restriction-[0-9a-f]{32})")
_SHARE_CHECKSUM = re.compile(r"checksum: ([0-9a-f]{16})")
_CHECKSUM_LABEL = b"acs-chat-archiver/restriction-share@1\x00"


def _fingerprint(public: rsa.RSAPublicKey) -> str:
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "restriction-" + hashlib.sha256(spki).hexdigest()[:32]


def _oaep(data_key_id: str, subject_key_id: str) -> padding.OAEP:
    label = rfc8785.dumps(
        {"dataKeyId": data_key_id, "scheme": SCHEME, "subjectKeyId": subject_key_id}
    )
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label
    )


class RestrictionKey:
    """The public half of the restriction key: restricts data keys, opens none."""

    def __init__(self, public: rsa.RSAPublicKey) -> None:
        if public.key_size < KEY_BITS:
            raise ValueError(f"a restriction key has at least {KEY_BITS} bits")
        self._public = public
        self._key_id = _fingerprint(public)

    @classmethod
    def from_pem(cls, pem: bytes | str, *, source: str = "the restriction key") -> RestrictionKey:
        """The key in `pem`; ConfigurationError naming `source` unless it is the PEM
        public half of an RSA key of at least 3072 bits."""
        data = pem.encode() if isinstance(pem, str) else pem
        if b"PRIVATE KEY" in data:
            raise ConfigurationError(
                f"{source} holds a private key: the app is given only the public half "
                "(restriction-public.pem); the private half exists only as two shares"
            )
        try:
            public = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{source} is not a PEM public key") from None
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < KEY_BITS:
            raise ConfigurationError(
                f"{source} must be an RSA public key of at least {KEY_BITS} bits, "
                "as `archiver restriction-key create` makes"
            )
        return cls(public)

    def __repr__(self) -> str:
        return f"RestrictionKey(key_id={self._key_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RestrictionKey) and other.key_id == self.key_id

    def __hash__(self) -> int:
        return hash(self._key_id)

    @property
    def key_id(self) -> str:
        """`restriction-` and 32 hex digits of the SHA-256 of the public key: the
        `wrapped_by` of every key it restricts, and the id its shares name."""
        return self._key_id

    @property
    def pem(self) -> str:
        """The public key as PEM text."""
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def restrict(self, data_key: bytes, *, data_key_id: str, subject_key_id: str) -> bytes:
        """`data_key` encrypted to the restriction key, bound to both ids (384 bytes for
        a 3072-bit key); only both shares together open it."""
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes, not {len(data_key)}")
        return self._public.encrypt(data_key, _oaep(data_key_id, subject_key_id))


@dataclass(frozen=True)
class Share:
    """One admin's share of a restriction key's private half: which of the two it is,
    the key it belongs to, and its bytes (alone, uniformly random)."""

    number: int
    key_id: str
    material: bytes = field(repr=False)

    @property
    def text(self) -> str:
        """The share as the text an admin keeps, with its checksum."""
        lines = textwrap.wrap(base64.b64encode(self.material).decode(), 64)
        return "\n".join(
            [
                f"acs-chat-archiver restriction key share {self.number} of 2",
                f"key: {self.key_id}",
                f"# Keep this share apart from share {3 - self.number}: together they",
                "# open every restricted key; alone it holds nothing of the key.",
                *lines,
                f"checksum: {_checksum(self.number, self.key_id, self.material)}",
                "",
            ]
        )


def _checksum(number: int, key_id: str, material: bytes) -> str:
    named = f"{number}\x00{key_id}\x00".encode()
    return hashlib.sha256(_CHECKSUM_LABEL + named + material).hexdigest()[:16]


def read_share(text: str, *, source: str = "a share") -> Share:
    """The share `text` holds; UnreadableEnvelope naming `source` for anything but an
    intact share (a typo, a line lost, another file)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if len(lines) < 4:
        raise UnreadableEnvelope(f"{source} is not a restriction key share")
    title, key, checksum = (
        _SHARE_TITLE.fullmatch(lines[0]),
        _SHARE_KEY.fullmatch(lines[1]),
        _SHARE_CHECKSUM.fullmatch(lines[-1]),
    )
    if title is None or key is None or checksum is None:
        raise UnreadableEnvelope(
            f"{source} is not a restriction key share: it starts with "
            "'acs-chat-archiver restriction key share N of 2' and 'key: restriction-…', "
            "and ends with 'checksum: …'"
        )
    number, key_id = int(title.group(1)), key.group(1)
    try:
        material = base64.b64decode("".join(lines[2:-1]), validate=True)
    except (binascii.Error, ValueError):
        material = b""
    if not material or not hmac.compare_digest(
        _checksum(number, key_id, material), checksum.group(1)
    ):
        raise UnreadableEnvelope(
            f"{source} (share {number} of {key_id}) fails its checksum: "
            "a typo, or a changed or missing line"
        )
    return Share(number, key_id, material)


def create_restriction_key() -> tuple[str, str, str]:
    """A new restriction key: its public half as PEM, and the texts of share 1 and share
    2 of its private half (the private key itself is kept nowhere)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pad = secrets.token_bytes(len(der))
    key = RestrictionKey(private.public_key())
    first = Share(1, key.key_id, pad)
    second = Share(2, key.key_id, bytes(a ^ b for a, b in zip(der, pad, strict=True)))
    return key.pem, first.text, second.text


def _private_key(shares: tuple[Share, Share]) -> rsa.RSAPrivateKey:
    """The private key both shares make together; UnreadableEnvelope naming why not."""
    first, second = shares
    if first.key_id != second.key_id:
        raise UnreadableEnvelope(
            f"the shares are of two restriction keys, {first.key_id} and {second.key_id}"
        )
    if {first.number, second.number} != {1, 2}:
        raise UnreadableEnvelope(
            f"both shares are share {first.number} of {first.key_id}: "
            f"share {3 - first.number}, which the other admin keeps, is needed too"
        )
    if len(first.material) != len(second.material):
        raise UnreadableEnvelope(f"the shares of {first.key_id} differ in length")
    der = bytes(a ^ b for a, b in zip(first.material, second.material, strict=True))
    try:
        private = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        private = None
    key_id = first.key_id
    if not isinstance(private, rsa.RSAPrivateKey) or _fingerprint(private.public_key()) != key_id:
        raise UnreadableEnvelope(f"the shares do not make restriction key {key_id}")
    return private


def check_shares(key: RestrictionKey, shares: tuple[Share, Share]) -> None:
    """Return if the two shares together are `key`'s private half; UnreadableEnvelope
    naming why not (each share alone, a share of another key, a typo)."""
    _private_key(shares)
    if shares[0].key_id != key.key_id:
        raise UnreadableEnvelope(
            f"the shares make restriction key {shares[0].key_id}, not {key.key_id}"
        )


def open_restricted(
    wrapped: bytes, *, data_key_id: str, subject_key_id: str, shares: tuple[Share, Share]
) -> bytes:
    """The data key `wrapped` holds, opened with both shares; UnreadableEnvelope for
    shares that do not make a key, another key's shares, other ids, or a changed byte."""
    private = _private_key(shares)
    try:
        data_key = private.decrypt(wrapped, _oaep(data_key_id, subject_key_id))
    except ValueError:
        data_key = b""
    if len(data_key) != KEY_BYTES:
        raise UnreadableEnvelope(
            f"data key {data_key_id} of subject key {subject_key_id} does not open under "
            f"restriction key {shares[0].key_id}: restricted under another key, another "
            "key's row, or a changed byte"
        )
    return data_key
