"""The indexes the app keeps, together: the index of message versions, and with Azure AI
Search the conversation windows' index beside it (the knowledge source for Azure OpenAI).

Each is prepared (created, or brought to its definition) once per process, on first
use; a thread is written to both, and leaves both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import TYPE_CHECKING

from archiver.search.ports import SearchIndex
from archiver.storage.ports import Storage

if TYPE_CHECKING:
    from archiver.search.azure.windows import WindowIndex


class Indexes:
    """`messages`, and `windows` when there is one."""

    def __init__(self, messages: SearchIndex, windows: WindowIndex | None = None) -> None:
        self._messages = messages
        self._windows = windows
        self._prepared = False
        self._lock = asyncio.Lock()

    async def ready(self) -> SearchIndex:
        """The messages' index, both prepared first (once)."""
        async with self._lock:
            if not self._prepared:
                await self._messages.prepare()
                if self._windows is not None:
                    await self._windows.prepare()
                self._prepared = True
        return self._messages

    async def written(self, storage: Storage, thread_keys: Collection[str]) -> None:
        """After these threads' versions were indexed: their windows, written again."""
        if self._windows is not None and thread_keys:
            await self._windows.rewindow_threads(storage, sorted(thread_keys))

    async def forget(self, storage: Storage, names: Collection[str]) -> None:
        """These versions leave the index (redacted or erased), and their threads'
        windows are written again without them."""
        index = await self.ready()
        await index.forget(names)
        if self._windows is not None and names:
            threads = sorted({name.split("/")[1] for name in names})
            await self._windows.rewindow_threads(storage, threads)

    async def forget_threads(self, thread_keys: Collection[str]) -> None:
        """These threads leave every index."""
        index = await self.ready()
        await index.forget_threads(thread_keys)
        if self._windows is not None:
            await self._windows.forget_threads(thread_keys)

    async def close(self) -> None:
        """Release both."""
        await self._messages.close()
        if self._windows is not None:
            await self._windows.close()
