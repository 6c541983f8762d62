"""The salted commitment of one event: what an envelope shows of its event without
showing it, and what a regulator checks a disclosed event against, with no key.

The commitment is the lowercase hex of SHA-256(salt ‖ event), where salt is the 16 raw
random bytes (128 bits, as RFC 9901 asks of salted digests) and event is the event's
bytes exactly as archived (the Event Grid event's UTF-8 JSON text), concatenated with
nothing between them. In Python: `hashlib.sha256(salt + event).hexdigest()`; in a shell:
`cat salt.bin event.json | sha256sum`. The salt stops anyone from confirming a guessed
low-entropy text (a card number) against the commitment.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SALT_BYTES = 16


def new_salt() -> bytes:
    """128 fresh random bits from the operating system's generator."""
    return secrets.token_bytes(SALT_BYTES)


def commitment_of(event: bytes, salt: bytes) -> str:
    """The hex SHA-256 of the salt's raw bytes followed by the event's."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a salt is {SALT_BYTES} bytes, not {len(salt)}")
    return hashlib.sha256(salt + event).hexdigest()


def commitment_holds(event: bytes, salt: bytes, commitment: str) -> bool:
    """True when (event, salt) is what `commitment` commits to; False for anything else,
    a salt of the wrong length included."""
    if len(salt) != SALT_BYTES or not commitment.isascii():
        return False
    return hmac.compare_digest(commitment_of(event, salt), commitment.lower())
