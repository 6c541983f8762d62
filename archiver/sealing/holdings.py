"""What storage holds of one thread, for sealing and checking: its blobs as a listing
shows them (name, size, recorded SHA-256) and its chain of seals."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from archiver.core.errors import NotFound
from archiver.core.evidence.seals import (
    Covered,
    Seal,
    covered_prefixes,
    is_seal_name,
    parse_seal,
    seals_prefix,
)
from archiver.core.layout import content_sha256
from archiver.storage.ports import Storage, StoredBlob

READERS = 32  # blobs read at once when they must be hashed


@dataclass(frozen=True, kw_only=True)
class Holdings:
    """A thread's blobs (in name order) and its seal blobs (name, content; in order)."""

    blobs: tuple[StoredBlob, ...]
    seals: tuple[tuple[str, bytes], ...]


async def holdings(storage: Storage, thread_key: str) -> Holdings:
    """The thread's blobs and seals; reads the seals, not the blobs."""
    blobs = [
        blob
        for prefix in covered_prefixes(thread_key)
        async for blob in storage.blobs.listing(prefix)
    ]
    names = await seal_names(storage, thread_key)
    contents = await asyncio.gather(*(storage.blobs.read(name) for name in names))
    return Holdings(blobs=tuple(blobs), seals=tuple(zip(names, contents, strict=True)))


async def newest_seal(storage: Storage, thread_key: str) -> Seal | None:
    """The thread's newest seal, or None when it was never sealed; raise DamagedArchive
    when the newest seal blob is not a seal."""
    newest = await newest_seal_blob(storage, thread_key)
    return None if newest is None else parse_seal(newest[1], name=newest[0])


async def newest_seal_blob(storage: Storage, thread_key: str) -> tuple[str, bytes] | None:
    """The name and stored bytes of the thread's newest seal (what a citation names and
    hashes), or None when it was never sealed."""
    names = await seal_names(storage, thread_key)
    if not names:
        return None
    return names[-1], await storage.blobs.read(names[-1])


async def seal_names(storage: Storage, thread_key: str) -> list[str]:
    """The names of the thread's seals, oldest first."""
    prefix = seals_prefix(thread_key)
    return [name async for name in storage.blobs.names(prefix) if is_seal_name(name, thread_key)]


async def covered(storage: Storage, blobs: Sequence[StoredBlob]) -> list[Covered]:
    """Each blob as a seal covers it: with the SHA-256 recorded at write time, or, for a
    blob written before hashes were recorded, the SHA-256 of its bytes."""
    unrecorded = [blob.name for blob in blobs if blob.sha256 is None]
    hashed = dict(zip(unrecorded, await hashes(storage, unrecorded), strict=True))
    found = []
    for blob in blobs:
        digest = blob.sha256 or hashed[blob.name]
        if digest is not None:  # None: deleted since it was listed
            found.append(Covered(name=blob.name, size=blob.size, sha256=digest))
    return found


async def hashes(storage: Storage, names: Sequence[str]) -> list[str | None]:
    """The SHA-256 of each blob's bytes as stored now (None: it is gone), READERS at once."""
    limit = asyncio.Semaphore(READERS)

    async def one(name: str) -> str | None:
        async with limit:
            try:
                return content_sha256(await storage.blobs.read(name))
            except NotFound:
                return None

    return list(await asyncio.gather(*(one(name) for name in names)))
