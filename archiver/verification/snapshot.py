"""Reading the archive for a check: every blob name (so nothing outside the storage
contract goes unseen), the documents of the threads being checked, and their rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

from archiver.core.inventory import (
    Entry,
    MessageBlob,
    QuarantineBlob,
    ThreadBlob,
    TranscriptBlob,
    entry,
)
from archiver.core.keys import encode_key
from archiver.core.layout import LatestRow
from archiver.storage.ports import Storage
from archiver.verification.consistency import consistency
from archiver.verification.findings import Findings, Snapshot

READERS = 32


async def snapshot(storage: Storage, *, threads: Collection[str] | None = None) -> Snapshot:
    """What storage holds; documents and rows only of `threads` (all when None)."""
    wanted = None if threads is None else set(threads)
    judged: dict[str, Entry] = {}
    strays: list[str] = []
    async for name in storage.blobs.names():
        found = entry(name)
        if found is None:
            strays.append(name)
        elif isinstance(found, TranscriptBlob):
            continue  # a transcript is a copy, written on request; nothing to judge
        elif isinstance(found, QuarantineBlob) or wanted is None or found.thread_id in wanted:
            judged[name] = found
    texts = await _read_all(storage, list(judged))
    messages = {
        name: (found, _object(texts[name]))
        for name, found in judged.items()
        if isinstance(found, MessageBlob)
    }
    changes = {
        name: (found, _object(texts[name]))
        for name, found in judged.items()
        if isinstance(found, ThreadBlob)
    }
    quarantine = {
        name: texts[name] for name, found in judged.items() if isinstance(found, QuarantineBlob)
    }
    rows: list[LatestRow] = []
    if wanted is None:
        rows = [row async for row in storage.messages.scan()]
    else:
        for thread in sorted(wanted):
            rows += [
                row async for row in storage.messages.scan(encode_key(thread, field="threadId"))
            ]
    thread_rows = [
        row async for row in storage.threads.scan() if wanted is None or row.thread_id in wanted
    ]
    return Snapshot(
        messages=messages,
        threads=changes,
        quarantine=quarantine,
        strays=strays,
        rows=rows,
        thread_rows=thread_rows,
    )


async def check(storage: Storage) -> Findings:
    """The whole archive checked for consistency."""
    return consistency(await snapshot(storage))


async def _read_all(storage: Storage, names: list[str]) -> dict[str, str]:
    limit = asyncio.Semaphore(READERS)

    async def read(name: str) -> tuple[str, str]:
        async with limit:
            return name, (await storage.blobs.read(name)).decode("utf-8", errors="replace")

    return dict(await asyncio.gather(*(read(name) for name in names)))


def _object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
