"""The checkpoints container: the chain of checkpoints and the disposal receipts, read
with every signature checked by trusted keys, and written create-only.

In Azure the container has version-level immutability with a time-based retention
policy (infra/), so what is written there cannot be overwritten or deleted, not even by
the account's owner, until retention ends; a writer of the archive can at most add
blobs, which fail their signature. Locally (Azurite, memory) nothing enforces that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from archiver.core.errors import DamagedArchive, UnknownContainer
from archiver.core.evidence.checkpoints import (
    CHECKPOINTS_PREFIX,
    Checkpoint,
    State,
    parse_checkpoint,
    replay,
)
from archiver.core.evidence.notes import Note
from archiver.core.evidence.receipts import Receipt, parse_receipt, receipts_prefix
from archiver.core.evidence.signatures import PublicKey
from archiver.storage.ports import BlobArchive, Storage

READERS = 16


@dataclass(frozen=True, kw_only=True)
class Chain:
    """The checkpoints that verify, what they replay to, and what is wrong with the rest
    of the container's checkpoints: (checkpoint, problem)."""

    checkpoints: tuple[Checkpoint, ...]
    state: State
    problems: tuple[tuple[str, str], ...]


class CheckpointLog:
    """The checkpoints container of one archive."""

    def __init__(self, storage: Storage, container: str) -> None:
        self._storage = storage
        self._name = container

    @property
    def store(self) -> BlobArchive:
        """The container's blobs."""
        return self._storage.container(self._name)

    async def chain(self, keys: Mapping[str, PublicKey]) -> Chain:
        """Every checkpoint, each note's signature checked with `keys`, replayed in order:
        one that does not verify is a problem and is left out of the replay."""
        names = [name async for name in self.store.names(CHECKPOINTS_PREFIX)]
        contents = await self._read(names)
        good: list[Checkpoint] = []
        problems: list[tuple[str, str]] = []
        for name, content in zip(names, contents, strict=True):
            try:
                checkpoint = parse_checkpoint(content, name=name)
            except DamagedArchive as exc:
                problems.append((name, str(exc)))
                continue
            if checkpoint.name != name:
                problems.append((name, f"it says it is {checkpoint.name}"))
                continue
            if problem := unsigned(checkpoint.note, keys):
                problems.append((name, problem))
                continue
            good.append(checkpoint)
        state, replayed = replay(good)
        return Chain(checkpoints=tuple(good), state=state, problems=(*problems, *replayed))

    async def receipts(self, thread_key: str, keys: Mapping[str, PublicKey]) -> list[Receipt]:
        """The thread's disposal receipts that a trusted key signed, oldest first."""
        found = []
        async for name in self.store.names(receipts_prefix(thread_key)):
            try:
                receipt = parse_receipt(await self.store.read(name), name=name)
            except DamagedArchive:
                continue
            key = keys.get(receipt.key_id)
            if key is not None and key.verifies(
                receipt.signed_bytes(), receipt.signature, receipt.algorithm
            ):
                found.append(receipt)
        return found

    async def write(self, name: str, content: bytes) -> None:
        """Store a checkpoint or a receipt, create-only; raise AlreadyStored if taken. The
        container is created only when it is missing (in Azure the deployment makes it,
        and the app may only add blobs to it)."""
        try:
            await self.store.create(name, content)
        except UnknownContainer:
            await self._storage.prepare_container(self._name)
            await self.store.create(name, content)

    async def _read(self, names: list[str]) -> list[bytes]:
        limit = asyncio.Semaphore(READERS)

        async def one(name: str) -> bytes:
            async with limit:
                return await self.store.read(name)

        return list(await asyncio.gather(*(one(name) for name in names)))


def unsigned(note: Note, keys: Mapping[str, PublicKey]) -> str | None:
    """Why a checkpoint's note is not signed by a trusted key, or None when it is."""
    key = keys.get(note.key_id)
    if key is None:
        return f"signed by key {note.key_id}, not trusted"
    if not key.verifies(note.body().encode(), note.signature, key.algorithm):
        return f"not a valid signature of key {note.key_id}"
    return None
