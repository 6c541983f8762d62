"""Pseudonymous participant ids: what an envelope's header and the key table say instead
of an ACS id, stable per participant so an erasure finds every version they sent.

A pseudonym is the hex HMAC-SHA256, under the pseudonymisation secret, of a domain label
and the raw ACS id (`8:acs:…`) in UTF-8. It carries no personal data for anyone without
the secret; whoever holds the secret can compute the pseudonym of any id they know and
so link ids to pseudonyms: the secret belongs with the keys (Key Vault), never beside
the archive. Changing the secret breaks the link to every pseudonym made before.
"""

from __future__ import annotations

import hashlib
import hmac

from archiver.core.errors import ConfigurationError

SECRET_BYTES = 32
_LABEL = b"acs-chat-archiver/participant@1\x00"  # keeps these HMACs apart from any other use


class Pseudonymiser:
    """Turns raw participant ids into pseudonyms under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ConfigurationError(
                f"the pseudonymisation secret must be at least {SECRET_BYTES} bytes"
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "Pseudonymiser(<secret>)"  # never the secret

    def pseudonym(self, raw_id: str) -> str:
        """The participant's pseudonym: 64 hex digits, the same for the same id."""
        return hmac.new(self._secret, _LABEL + raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
