"""What the archive holds, read through the ports: which threads it knows."""

from __future__ import annotations

from collections.abc import AsyncIterator

from archiver.core.keys import decode_key
from archiver.core.layout import MESSAGES_PREFIX
from archiver.storage.ports import Storage


async def thread_ids(storage: Storage) -> AsyncIterator[str]:
    """Every thread the archive holds: those with a row and those with message blobs."""
    seen: set[str] = set()
    async for row in storage.threads.scan():
        seen.add(row.thread_key)
        yield row.thread_id
    async for folder in storage.blobs.prefixes(MESSAGES_PREFIX):
        thread_key = folder[len(MESSAGES_PREFIX) : -1]
        if thread_key not in seen:
            yield decode_key(thread_key)
