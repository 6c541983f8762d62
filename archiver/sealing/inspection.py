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
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any

from archiver.core.errors import ConfigurationError, NotFound
from archiver.core.evidence.seals import KEYS_PREFIX, LEGACY_KEYS_PREFIX
from archiver.core.evidence.signatures import PublicKey, public_key_from_pem
from archiver.core.keys import decode_key, encode_key
from archiver.core.layout import SEALS_PREFIX, content_sha256
from archiver.sealing.holdings import READERS, holdings, seal_names
from archiver.sealing.judgement import Evidence, Judgement, judge
from archiver.storage.catalog import thread_ids
from archiver.storage.ports import Storage


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
    storage: Storage, keys: Mapping[str, PublicKey], *, threads: Collection[str] | None = None
) -> AsyncIterator[tuple[str, Judgement]]:
    """Each thread (all of them when `threads` is None) and what checking it found."""
    async for thread_id in _threads(storage, threads):
        found = await evidence(storage, encode_key(thread_id, field="threadId"))
        yield thread_id, judge(found, keys)


async def evidence(storage: Storage, thread_key: str) -> Evidence:
    """Everything about one thread the rules need, every blob read once."""
    held = await holdings(storage, thread_key)
    rows = [row async for row in storage.messages.scan(thread_key)]
    known = await storage.threads.get(thread_key)
    wanted = {row.blob_name for row in rows}
    actual: dict[str, str | None] = {}
    documents: dict[str, dict[str, Any]] = {}
    limit = asyncio.Semaphore(READERS)

    async def read(name: str) -> None:
        async with limit:
            try:
                content = await storage.blobs.read(name)
            except NotFound:
                actual[name] = None
                return
        actual[name] = content_sha256(content)
        if name in wanted:
            document = _object(content)
            if document is not None:
                documents[name] = document

    await asyncio.gather(*(read(blob.name) for blob in held.blobs))
    # A row may point at a blob no listing shows (deleted): it reads as gone.
    for name in wanted - actual.keys():
        await read(name)
    return Evidence(
        thread_key=thread_key,
        seals=held.seals,
        blobs=held.blobs,
        actual=actual,
        rows=rows,
        documents=documents,
        thread_row=None if known is None else known.row,
    )


async def _threads(storage: Storage, threads: Collection[str] | None) -> AsyncIterator[str]:
    """The named threads, or every thread with blobs, a row or seals."""
    if threads is not None:
        for thread_id in threads:
            yield thread_id
        return
    seen = set()
    async for thread_id in thread_ids(storage):
        seen.add(thread_id)
        yield thread_id
    async for folder in storage.blobs.prefixes(SEALS_PREFIX):
        if folder == LEGACY_KEYS_PREFIX and not await seal_names(storage, "keys"):
            continue  # 0.6's published keys, not a thread's seals
        thread_id = decode_key(folder[len(SEALS_PREFIX) : -1])
        if thread_id not in seen:
            yield thread_id


def _object(content: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
