"""The identity provider as published: OpenID discovery, then its JSON Web Key Set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt

from archiver.core.errors import IdentityUnavailable

# Entra answers in well under a second; a token check waits no longer than this for it.
FETCH_TIMEOUT_SECONDS = 10.0
# A JWKS is a few kilobytes; anything far larger is not one.
MOST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Published:
    """What the provider publishes: its issuer and its RS256 signing keys by key id."""

    issuer: str
    keys: dict[str, jwt.PyJWK]


class Discovery:
    """Reads the discovery document and the key set it names, over https."""

    def __init__(self, metadata_url: str) -> None:
        self._metadata_url = metadata_url
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self) -> Published:
        """The provider's issuer and keys now; raise IdentityUnavailable."""
        metadata = await self._json(self._metadata_url)
        issuer, jwks_uri = metadata.get("issuer"), metadata.get("jwks_uri")
        if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
            raise IdentityUnavailable(
                f"{self._metadata_url} names no issuer or jwks_uri (ARCHIVE_ENTRA_METADATA_URL)"
            )
        if urlsplit(jwks_uri).scheme != "https":
            raise IdentityUnavailable(f"the jwks_uri {jwks_uri!r} is not https")
        return Published(issuer=issuer, keys=signing_keys(await self._json(jwks_uri)))

    async def close(self) -> None:
        """Release the HTTP connections."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _json(self, url: str) -> dict[str, Any]:
        if self._session is None:  # created here: a session belongs to a running loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
            )
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise IdentityUnavailable(f"{url} answered {response.status}")
                text = await response.content.read(MOST_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise IdentityUnavailable(f"{url} could not be read: {exc!r}") from exc
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise IdentityUnavailable(f"{url} did not answer JSON") from exc
        if len(text) > MOST_BYTES or not isinstance(value, dict):
            raise IdentityUnavailable(f"{url} did not answer a JSON object")
        return value


def signing_keys(jwks: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """The RSA signature keys of a JWKS by key id; others (encryption, EC) are left out."""
    found: dict[str, jwt.PyJWK] = {}
    entries = jwks.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or not isinstance(entry.get("kid"), str):
            continue
        try:
            found[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
        except jwt.PyJWKError:
            continue  # one malformed key must not hide the others
    if not found:
        raise IdentityUnavailable("the key set holds no RSA signing key")
    return found
