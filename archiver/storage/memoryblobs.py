"""In-memory blob containers: the archive container and a dead-letter container, held
to the same contract as the Azure adapters.

Every operation yields to the event loop first, so concurrent callers interleave the
way they do against a network store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from archiver.core.errors import AlreadyStored, Immutable, NotFound
from archiver.core.layout import content_sha256
from archiver.storage.ports import StoredBlob


class MemoryBlobArchive:
    """Blobs in a dict, each with its recorded SHA-256; create-only like the Azure adapter."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] = {}
        self.recorded: dict[str, str | None] = {}  # name -> the SHA-256 written with it
        self.created: dict[str, datetime] = {}
        self.flagged: set[str] = set()  # names whose legal-hold flag is set

    async def create(self, name: str, content: bytes) -> str:
        """Store `content` under `name` and return its SHA-256; raise AlreadyStored if
        the name is taken."""
        await asyncio.sleep(0)
        if name in self.contents:
            raise AlreadyStored(name)
        self.contents[name] = bytes(content)
        self.recorded[name] = digest = content_sha256(content)
        self.created[name] = datetime.now(UTC)
        return digest

    async def create_from(
        self, name: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> str:
        """Store the concatenated `chunks` under `name`; raise AlreadyStored if taken."""
        content = bytearray()
        async for chunk in chunks:
            content += chunk
        return await self.create(name, bytes(content))

    async def listing(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        """Yield the blobs under `prefix` with size and recorded SHA-256, in name order."""
        await asyncio.sleep(0)
        for name in sorted(self.contents):
            if name.startswith(prefix):
                yield StoredBlob(
                    name=name,
                    size=len(self.contents[name]),
                    sha256=self.recorded.get(name),
                    created=self.created.get(name),
                )

    async def recorded_sha256(self, name: str) -> str | None:
        """The SHA-256 recorded when `name` was written; raise NotFound without it."""
        await asyncio.sleep(0)
        if name not in self.contents:
            raise NotFound(name)
        return self.recorded.get(name)

    async def delete(self, name: str) -> None:
        """Delete a blob (one already gone is fine); raise Immutable for a blob whose
        legal-hold flag is set, as Azure does."""
        await asyncio.sleep(0)
        if name in self.flagged:
            raise Immutable(f"{name} is kept by BlobImmutableDueToLegalHold")
        self.contents.pop(name, None)
        self.recorded.pop(name, None)
        self.created.pop(name, None)

    async def set_legal_hold(self, name: str, held: bool) -> None:
        """Set or clear the blob's legal-hold flag; raise NotFound without the blob."""
        await asyncio.sleep(0)
        if name not in self.contents:
            raise NotFound(name)
        (self.flagged.add if held else self.flagged.discard)(name)

    async def legal_holds(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names under `prefix` whose legal-hold flag is set, in order."""
        await asyncio.sleep(0)
        for name in sorted(self.flagged):
            if name.startswith(prefix):
                yield name

    async def prefixes(self, prefix: str) -> AsyncIterator[str]:
        """Yield the folders directly under `prefix`, in order."""
        await asyncio.sleep(0)
        found = {
            name[: name.index("/", len(prefix)) + 1]
            for name in self.contents
            if name.startswith(prefix) and "/" in name[len(prefix) :]
        }
        for folder in sorted(found):
            yield folder

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""
        await asyncio.sleep(0)
        if name not in self.contents:
            raise NotFound(name)
        return self.contents[name]

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the names that start with `prefix`, in lexicographic order."""
        await asyncio.sleep(0)
        for name in sorted(self.contents):
            if name.startswith(prefix):
                yield name


class MemoryDeadLetters:
    """A dead-letter container in memory; `contents` is None until it is created."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] | None = None

    async def exists(self) -> bool:
        """True when the container exists."""
        await asyncio.sleep(0)
        return self.contents is not None

    async def names(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the blob names that start with `prefix`, in order."""
        await asyncio.sleep(0)
        for name in sorted(self.contents or {}):
            if name.startswith(prefix):
                yield name

    async def read(self, name: str) -> bytes:
        """Return a blob's content; raise NotFound if there is none."""
        await asyncio.sleep(0)
        if self.contents is None or name not in self.contents:
            raise NotFound(name)
        return self.contents[name]

    async def move(self, name: str, to: str) -> None:
        """Copy `name` to `to` unless a copy is there, then delete `name`."""
        await asyncio.sleep(0)
        contents = self.contents if self.contents is not None else {}
        if name in contents:
            contents.setdefault(to, contents[name])
            del contents[name]
