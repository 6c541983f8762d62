"""Checking seals with read access only: every blob's bytes hashed again, every seal's
signature checked with public keys, every chain link and every row compared.

The keys are the ones the auditor brings (`--public-key`), the service's own (its seal
key and ARCHIVE_SEAL_TRUSTED_KEYS), or else those published in the archive itself under
keys/ (and seals/keys/, where 0.6 put them). Only the first two prove anything: whoever
can write to the archive can publish a key and sign seals with it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from archiver.core.errors import ConfigurationError, Erased, NotFound, UnreadableEnvelope
from archiver.core.evidence.seals import KEYS_PREFIX, LEGACY_KEYS_PREFIX
from archiver.core.evidence.signatures import PublicKey, public_key_from_pem
from archiver.core.keys import decode_key, encode_key
from archiver.core.layout import SEALS_PREFIX, LatestRow, content_sha256
from archiver.core.progress import Progress
from archiver.sealing.erasures import erasures_of
from archiver.sealing.holdings import READERS, holdings, seal_names
from archiver.sealing.judgement import Evidence, Judgement, judge
from archiver.storage.catalog import thread_ids
from archiver.storage.ports import Storage
from archiver.storage.versions import is_envelope

CONCURRENCY = 16  # threads checked at once: enough to hide each one's listings and rows


async def published_keys(storage: Storage) -> dict[str, PublicKey]:
    """The public keys published in the archive, by key id: untrusted, a convenience for
    looking at an archive without its key. A file whose key does not have the id it is
    named by is left out."""
    keys: dict[str, PublicKey] = {}
    for prefix in (KEYS_PREFIX, LEGACY_KEYS_PREFIX):
        async for name in storage.blobs.names(prefix):
            try:
                key = public_key_from_pem(await storage.blobs.read(name), source=name)
            except ConfigurationError:
                continue
            if name == f"{prefix}{key.key_id}.pem":
                keys[key.key_id] = key
    return keys


async def inspect(
    storage: Storage,
    keys: Mapping[str, PublicKey],
    *,
    threads: Iterable[str] | None = None,
    concurrency: int = CONCURRENCY,
    progress: Progress | None = None,
) -> AsyncIterator[tuple[str, Judgement]]:
    """Each thread (all of them, in key order, when `threads` is None) and what checking
    it found, in the order given: `concurrency` threads are checked at once, their blobs
    READERS at a time between them, and each is yielded only once all before it were."""
    if concurrency < 1:
        raise ConfigurationError(f"concurrency must be at least 1, not {concurrency}")
    ids = await catalogued(storage) if threads is None else list(threads)
    reads = asyncio.Semaphore(READERS)

    async def one(thread_id: str) -> Judgement:
        key = encode_key(thread_id, field="threadId")
        found = await evidence(storage, key, reads=reads, keys=keys)
        return judge(found, keys)

    pending: deque[tuple[str, asyncio.Task[Judgement]]] = deque()
    try:
        for thread_id in ids:
            pending.append((thread_id, asyncio.create_task(one(thread_id))))
            if len(pending) >= concurrency:
                done, task = pending.popleft()
                yield done, await task
                if progress is not None:
                    progress.advance(1)
        while pending:
            done, task = pending.popleft()
            yield done, await task
            if progress is not None:
                progress.advance(1)
    finally:
        # Stopped early (a failure, an interrupt, the caller gone): nothing left running.
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)


async def evidence(
    storage: Storage,
    thread_key: str,
    *,
    reads: asyncio.Semaphore | None = None,
    keys: Mapping[str, PublicKey] | None = None,
) -> Evidence:
    """Everything about one thread the rules need, every blob read once, at most READERS
    at a time (or as many as `reads`, shared with other threads, lets)."""
    # Listed, scanned and looked up at once: on Azure each is a round trip of its own.
    held, rows, known = await asyncio.gather(
        holdings(storage, thread_key), _rows(storage, thread_key), storage.threads.get(thread_key)
    )
    wanted = {row.blob_name for row in rows}
    actual: dict[str, str | None] = {}
    documents: dict[str, dict[str, Any]] = {}
    limit = reads or asyncio.Semaphore(READERS)

    async def read(name: str) -> None:
        async with limit:
            try:
                content = await storage.blobs.read(name)
            except NotFound:
                actual[name] = None
                return
        actual[name] = content_sha256(content)
        if name in wanted:
            document = _object(await _opened(storage, content, name))
            if document is not None:
                documents[name] = document

    await asyncio.gather(*(read(blob.name) for blob in held.blobs))
    # A row may point at a blob no listing shows (deleted): it reads as gone.
    await asyncio.gather(*(read(name) for name in wanted - actual.keys()))
    return Evidence(
        thread_key=thread_key,
        seals=held.seals,
        blobs=held.blobs,
        actual=actual,
        rows=rows,
        documents=documents,
        thread_row=None if known is None else known.row,
        erasures=await erasures_of(storage, held.blobs, keys or {}),
    )


async def _opened(storage: Storage, content: bytes, name: str) -> bytes:
    """The plain document inside an envelope (the seal hashes the envelope, the row
    check reads what it holds); nothing to compare for a version whose key is gone or
    does not open: readers refuse it by name, and its bytes are judged by their hash."""
    if not is_envelope(content):
        return content
    try:
        return (await storage.versions.open(content, name=name)).event
    except (Erased, UnreadableEnvelope):
        return b""


async def catalogued(storage: Storage, *, after: str | None = None) -> list[str]:
    """Every thread with blobs, a row or seals, in key order (the order a check goes in,
    so that a run stopped after a thread resumes `after` it)."""
    found: set[str] = set()
    async for thread_id in thread_ids(storage):
        found.add(thread_id)
    async for folder in storage.blobs.prefixes(SEALS_PREFIX):
        if folder == LEGACY_KEYS_PREFIX and not await seal_names(storage, "keys"):
            continue  # 0.6's published keys, not a thread's seals
        found.add(decode_key(folder[len(SEALS_PREFIX) : -1]))
    return in_key_order(found, after=after)


def in_key_order(threads: Iterable[str], *, after: str | None = None) -> list[str]:
    """The threads, each once, in the order of their keys; only those after `after`."""
    keyed = {encode_key(thread_id, field="threadId"): thread_id for thread_id in threads}
    since = None if after is None else encode_key(after, field="--since")
    return [keyed[key] for key in sorted(keyed) if since is None or key > since]


async def _rows(storage: Storage, thread_key: str) -> list[LatestRow]:
    return [row async for row in storage.messages.scan(thread_key)]


def _object(content: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
