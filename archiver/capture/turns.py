"""Turns: work on one key at a time within this process, the others waiting their turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Turns:
    """One holder per key at a time; a waiter runs once the holder is done, failed or not."""

    def __init__(self) -> None:
        self._in_flight: dict[tuple[str, ...], asyncio.Event] = {}

    @contextlib.asynccontextmanager
    async def of(self, key: tuple[str, ...]) -> AsyncIterator[None]:
        """Hold `key` (a message, a blob name, a thread row) alone within this process."""
        while (busy := self._in_flight.get(key)) is not None:
            await busy.wait()
        self._in_flight[key] = done = asyncio.Event()
        try:
            yield
        finally:
            del self._in_flight[key]
            done.set()
