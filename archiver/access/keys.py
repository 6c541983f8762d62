"""The tenant's signing keys, cached: fetched on first use, again once a day, and again
when a token names a key not yet seen, at most once per refresh interval."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import jwt

from archiver.access.discovery import Discovery, Published
from archiver.core.errors import IdentityUnavailable, Unauthenticated

log = logging.getLogger("archiver")
# Microsoft's guidance: check the published keys at least every 24 hours.
MAX_AGE_SECONDS = 24 * 3600.0


class SigningKeys:
    """The provider's keys and issuer as last fetched; one fetch at a time."""

    def __init__(
        self,
        discovery: Discovery,
        *,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._discovery = discovery
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._published: Published | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0  # how often the provider was asked (a refresh storm shows here)

    async def issuer(self) -> str:
        """The issuer the discovery document names."""
        return (await self._current()).issuer

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key `kid` names; raise Unauthenticated when the provider does not publish it."""
        published = await self._current()
        if kid not in published.keys:
            published = await self._refreshed(because_of=kid)
        if kid not in published.keys:
            raise Unauthenticated("The token is signed with a key the tenant does not publish.")
        return published.keys[kid]

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._discovery.close()

    async def _current(self) -> Published:
        if self._published is None:
            return await self._fetch(since=self._fetched_at)
        if self._clock() - self._fetched_at > MAX_AGE_SECONDS:
            try:
                return await self._fetch(since=self._fetched_at)
            except IdentityUnavailable as exc:  # yesterday's keys beat no answer
                log.warning("Kept the cached signing keys: %s", exc)
        return self._published

    async def _refreshed(self, *, because_of: str) -> Published:
        seen = self._fetched_at
        async with self._lock:
            recent = self._clock() - self._fetched_at < self._refresh_seconds
            if self._published is not None and (self._fetched_at != seen or recent):
                return self._published  # just fetched, by this request or another
            log.info("Fetching the signing keys again for the unknown key id %.64r", because_of)
            return await self._fetch_now()

    async def _fetch(self, *, since: float) -> Published:
        async with self._lock:
            if self._published is not None and self._fetched_at != since:
                return self._published  # another request fetched while this one waited
            return await self._fetch_now()

    async def _fetch_now(self) -> Published:
        published = await self._discovery.fetch()
        self.fetches += 1
        self._published, self._fetched_at = published, self._clock()
        return published
