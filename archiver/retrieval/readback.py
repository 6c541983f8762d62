"""Reading the archive back: threads, their latest messages, and every version.

The read side's one walk from the storage ports outward, shared by the export command,
the read API and thread archiving. Everything streams: rows come a page at a time and
version blobs are read a few at a time, in order, so a thread of any length needs
memory for one page, not for the thread.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from archiver.core.errors import DamagedArchive, InvalidEvent, InvalidQuery, UnknownThread
from archiver.core.inventory import MessageBlob, ThreadBlob, entry
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, THREADS_PREFIX, LatestRow
from archiver.core.threads import ThreadRow
from archiver.retrieval.transcript import document_entry, row_entry
from archiver.storage.ports import Storage, Window

PAGE_ROWS = 1000  # the most a Table query page holds
READ_AHEAD = 16  # version blobs read concurrently, in order


async def thread_of(storage: Storage, thread_id: str) -> ThreadRow | None:
    """The thread's row (None for a thread archived before rows were kept); raise
    UnknownThread when the archive holds nothing of the thread."""
    thread_key = key_of(thread_id)
    known = await storage.threads.get(thread_key)
    if known is not None:
        return known.row
    first = await storage.messages.page(thread_key, Window(), size=1)
    if first.rows:
        return None
    async for _ in storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
        return None
    raise UnknownThread(f"the archive holds nothing of thread {thread_id!r}")


async def latest(
    storage: Storage, thread_id: str, window: Window, *, size: int = PAGE_ROWS
) -> AsyncIterator[dict[str, Any]]:
    """The newest version of each message in `window`, in message-id order."""
    token: str | None = None
    while True:
        entries, token = await latest_page(storage, thread_id, window, size=size, token=token)
        for item in entries:
            yield item
        if token is None:
            return


async def latest_page(
    storage: Storage, thread_id: str, window: Window, *, size: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `latest`, and the token for the next (None after the last)."""
    page = await storage.messages.page(key_of(thread_id), window, size=size, token=token)
    # A truncated row has lost the end of a long text; its blob has it all.
    cut = [row.blob_name for row in page.rows if row.truncated]
    whole = dict(zip(cut, await _documents(storage, cut), strict=True))
    entries = [
        document_entry(whole[row.blob_name]) if row.truncated else row_entry(row)
        for row in page.rows
    ]
    return entries, page.token


async def every_version(
    storage: Storage, thread_id: str, window: Window
) -> AsyncIterator[dict[str, Any]]:
    """Every archived version of the messages in `window`, by message id, then version.

    Deleted messages count as in the window too: a window limits messages by when they
    were composed, not which of their versions are shown.
    """
    thread_key = key_of(thread_id)
    wanted: set[str] | None = None
    if window.since is not None or window.until is not None:
        wanted = set()
        async for row in _rows(storage, thread_key, Window(since=window.since, until=window.until)):
            wanted.add(row.message_key)
    names = _version_names(storage, thread_key, wanted)
    async for document in _in_order(storage, names):
        yield document_entry(document)


async def versions_of(storage: Storage, thread_id: str, message_id: str) -> list[dict[str, Any]]:
    """Every archived version of one message, oldest first, as stored; raise
    UnknownThread when there is none."""
    prefix = f"{MESSAGES_PREFIX}{key_of(thread_id)}/{key_of(message_id, 'messageId')}/"
    names = [name async for name in storage.blobs.names(prefix)]
    if not names:
        raise UnknownThread(f"the archive holds no message {message_id!r} in {thread_id!r}")
    return await _documents(storage, names)


async def thread_changes(storage: Storage, thread_id: str) -> list[dict[str, Any]]:
    """Every archived change of the thread and its participants (layout.thread_document),
    in version order."""
    prefix = f"{THREADS_PREFIX}{key_of(thread_id)}/"
    names = [name async for name in storage.blobs.names(prefix)]
    return await _documents(storage, [n for n in names if isinstance(entry(n), ThreadBlob)])


def key_of(value: str, field: str = "threadId") -> str:
    """The storage key of an id (raise InvalidQuery when it cannot be one)."""
    try:
        return encode_key(value, field=field)
    except InvalidEvent as exc:
        raise InvalidQuery(str(exc)) from exc


async def _rows(storage: Storage, thread_key: str, window: Window) -> AsyncIterator[LatestRow]:
    token: str | None = None
    while True:
        page = await storage.messages.page(thread_key, window, size=PAGE_ROWS, token=token)
        for row in page.rows:
            yield row
        if page.token is None:
            return
        token = page.token


async def _version_names(
    storage: Storage, thread_key: str, wanted: set[str] | None
) -> AsyncIterator[str]:
    async for name in storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
        found = entry(name)
        if isinstance(found, MessageBlob) and (
            wanted is None or key_of(found.message_id, "messageId") in wanted
        ):
            yield name


async def _in_order(storage: Storage, names: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The documents of `names`, read READ_AHEAD at a time, yielded in the names' order."""
    pending: deque[asyncio.Task[bytes]] = deque()
    try:
        async for name in names:
            pending.append(asyncio.ensure_future(storage.versions.read(name)))
            if len(pending) >= READ_AHEAD:
                yield _parsed(await pending.popleft())
        while pending:
            yield _parsed(await pending.popleft())
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _documents(storage: Storage, names: Sequence[str]) -> list[dict[str, Any]]:
    contents = await asyncio.gather(*(storage.versions.read(name) for name in names))
    return [_parsed(content) for content in contents]


def _parsed(content: bytes) -> dict[str, Any]:
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise DamagedArchive("a version blob does not hold a JSON object; run verify")
    return document
