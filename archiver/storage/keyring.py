"""Envelope mode's keys in use: the pseudonym secret, each participant's subject key, and
the data keys of new versions, over the key table and the root key.

Writing. A version's data key is fresh and random, wrapped under its sender's subject
key, and its row is committed before the version's blob is written: a blob whose data
key was lost would be unreadable for ever, while a row whose blob never came is only a
few dead bytes. The rows of every version being written at the same moment (the
messages of one delivery, staged concurrently) go in one table transaction per subject,
the subject's own key in the first one when it is new: the first message of a new
sender costs no more requests than the next. Subject keys are cached, unwrapped, for
`SUBJECT_SECONDS`, so the root key (Key Vault) is asked once per subject per process in
that time, never per version.

A row per version, not a key derived from the subject key: a derived key goes only
with its subject key (docs/erasure.md says why that races writers); the cost, one
transaction per delivery and sender, is measured by `python -m bench.envelopes`.

The pseudonym secret (archiver.core.erasure.pseudonyms) is made on first use, wrapped
under the root key in the reserved partition `archive-pseudonyms`: a storage reader
cannot link a pseudonym to an ACS id. Of two processes making it, the first insert wins.

Reading. A version's data key row is read each time (a redaction destroys it and is
seen at once); its subject key is cached like the writer's, so an erasure reaches a
process that read the person's messages a moment before within `SUBJECT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archiver.core.erasure.envelopes import Header
from archiver.core.erasure.keys import (
    KeyWrapper,
    new_key,
    new_key_id,
    unwrap_data_key,
    wrap_data_key,
)
from archiver.core.erasure.pseudonyms import SECRET_BYTES, Pseudonymiser
from archiver.core.errors import AlreadyStored, ConcurrentUpdate, Erased, UnreadableEnvelope
from archiver.storage.keybatches import KeyBatches, Subject
from archiver.storage.keyports import KeyState, KeyTable, WrappedKey

PSEUDONYMS_ID = "archive-pseudonyms"  # no pseudonym (64 hex digits) is ever this
SUBJECT_SECONDS = 300.0  # how long an unwrapped subject key is kept in a process


@dataclass(frozen=True)
class DataKey:
    """A new version's data key and where its header says to find it."""

    subject_key_id: str
    data_key_id: str
    key: bytes = field(repr=False)


class Keyring:
    """Makes, wraps, stores and opens envelope mode's keys for one process."""

    def __init__(
        self,
        keys: KeyTable,
        wrapper: KeyWrapper,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._wrapper = wrapper
        self._clock = clock
        self._monotonic = monotonic
        self._pseudonyms: Pseudonymiser | None = None
        self._writing: dict[str, Subject] = {}  # by pseudonym
        self._resolving: dict[str, asyncio.Task[Subject]] = {}  # one lookup per pseudonym
        self._reading: dict[str, tuple[bytes, float]] = {}  # by subject key id
        self._batches = KeyBatches(keys)
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Keyring({self._wrapper!r})"  # the wrapper's repr names no key material

    async def close(self) -> None:
        """Close the root key's client."""
        await self._wrapper.close()

    async def pseudonym(self, raw_id: str) -> str:
        """The participant's pseudonym under this archive's secret."""
        if self._pseudonyms is None:
            async with self._lock:
                if self._pseudonyms is None:
                    self._pseudonyms = Pseudonymiser(await self._secret())
        return self._pseudonyms.pseudonym(raw_id)

    async def data_keys(self, pseudonym: str, blobs: Sequence[str]) -> list[DataKey]:
        """New data keys for the version blobs `blobs` that `pseudonym` sent, their rows
        committed (each naming its blob, so an erasure finds them by partition)."""
        for attempt in (1, 2):
            subject = await self._subject(pseudonym)
            made = [(new_key_id(), new_key(), blob) for blob in blobs]
            now = self._clock()
            rows = [
                WrappedKey(
                    subject_id=subject.key_id,
                    key_id=key_id,
                    wrapped=wrap_data_key(
                        key,
                        data_key_id=key_id,
                        subject_key=subject.key,
                        subject_key_id=subject.key_id,
                    ),
                    wrapped_by=subject.key_id,
                    state=KeyState.ACTIVE,
                    created=now,
                    changed=now,
                    blob=blob,
                )
                for key_id, key, blob in made
            ]
            try:
                await self._batches.committed(subject, rows)
            except AlreadyStored:
                # Another process made this subject's key first: use theirs.
                self._writing.pop(pseudonym, None)
                if attempt == 2:
                    raise ConcurrentUpdate(f"subject key {subject.key_id} kept changing") from None
                continue
            return [DataKey(subject.key_id, key_id, key) for key_id, key, _ in made]
        raise AssertionError("unreachable")

    async def data_key(self, header: Header) -> bytes:
        """The data key the envelope with `header` was sealed under; Erased when it, or
        its subject's key, was destroyed; UnreadableEnvelope when no such key exists."""
        known = await self._keys.get(header.subject_key_id, header.data_key_id)
        if known is None:
            raise UnreadableEnvelope(
                f"the key table has no data key {header.data_key_id} of subject key "
                f"{header.subject_key_id}"
            )
        if known.row.state is not KeyState.ACTIVE:
            raise Erased(
                f"data key {header.data_key_id} is {known.row.state}",
                receipt=known.row.receipt,
                restricted=known.row.state is KeyState.RESTRICTED,
            )
        # Wrapped by its subject's key, or (a held item of an erased person) by the
        # custody key of the erasure that waits for the hold's release.
        subject_key = await self._opened(known.row.wrapped_by)
        return unwrap_data_key(
            known.row.wrapped,
            data_key_id=header.data_key_id,
            subject_key=subject_key,
            subject_key_id=header.subject_key_id,
        )

    async def opened_key(self, key_id: str) -> bytes:
        """A subject (or custody) key, unwrapped: for re-wrapping the keys it wraps."""
        return await self._opened(key_id)

    async def new_custody_key(self, key_id: str) -> bytes:
        """A new key of its own partition, wrapped by the root key and stored: it keeps
        the data keys of held items readable after their subject key is destroyed."""
        subject = await self._new_subject(key_id)
        assert subject.row is not None
        await self._keys.insert(subject.row)
        return subject.key

    def forget(self, pseudonym: str, key_ids: Sequence[str]) -> None:
        """Drop this process's cached keys of a subject whose keys were destroyed."""
        self._writing.pop(pseudonym, None)
        for key_id in key_ids:
            self._reading.pop(key_id, None)

    # --- subject keys -------------------------------------------------------------

    async def _subject(self, pseudonym: str) -> Subject:
        cached = self._writing.get(pseudonym)
        if cached is not None and (cached.row is not None or cached.until > self._monotonic()):
            return cached
        # Versions of one new sender staged together must share one new subject key.
        # The cache is filled inside the lookup, before it is done: a caller arriving
        # between its end and its first waiter's turn finds it, never makes a second key.
        task = self._resolving.get(pseudonym)
        if task is None:
            task = asyncio.ensure_future(self._resolved(pseudonym))
            self._resolving[pseudonym] = task
            task.add_done_callback(lambda _: self._resolving.pop(pseudonym, None))
        return await asyncio.shield(task)

    async def _resolved(self, pseudonym: str) -> Subject:
        subject = await self._current_subject(pseudonym)
        self._writing[pseudonym] = subject
        return subject

    async def _current_subject(self, pseudonym: str) -> Subject:
        """The subject key new versions of `pseudonym` are wrapped under: the newest
        generation still active, or a new one (to insert) after the last was destroyed
        or restricted by an erasure, whose versions stay erased."""
        generation = 1
        while True:
            key_id = pseudonym if generation == 1 else f"{pseudonym}-{generation}"
            known = await self._keys.get(key_id, key_id)
            if known is None:
                return await self._new_subject(key_id)
            if known.row.state is KeyState.ACTIVE:
                key = await self._wrapper.unwrap(known.row.wrapped, wrapped_by=known.row.wrapped_by)
                return Subject(key_id, key, None, self._monotonic() + SUBJECT_SECONDS)
            generation += 1

    async def _new_subject(self, key_id: str) -> Subject:
        key = new_key()
        now = self._clock()
        row = WrappedKey(
            subject_id=key_id,
            key_id=key_id,
            wrapped=await self._wrapper.wrap(key),
            wrapped_by=self._wrapper.key_id,
            state=KeyState.ACTIVE,
            created=now,
            changed=now,
        )
        return Subject(key_id, key, row, self._monotonic() + SUBJECT_SECONDS)

    async def _opened(self, subject_key_id: str) -> bytes:
        cached = self._reading.get(subject_key_id)
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        known = await self._keys.get(subject_key_id, subject_key_id)
        if known is None:
            raise UnreadableEnvelope(f"the key table has no subject key {subject_key_id}")
        if known.row.state is not KeyState.ACTIVE:
            raise Erased(
                f"subject key {subject_key_id} is {known.row.state}",
                receipt=known.row.receipt,
                restricted=known.row.state is KeyState.RESTRICTED,
            )
        key = await self._wrapper.unwrap(known.row.wrapped, wrapped_by=known.row.wrapped_by)
        self._reading[subject_key_id] = (key, self._monotonic() + SUBJECT_SECONDS)
        return key

    async def _secret(self) -> bytes:
        known = await self._keys.get(PSEUDONYMS_ID, PSEUDONYMS_ID)
        if known is None:
            secret = new_key()[:SECRET_BYTES]
            now = self._clock()
            row = WrappedKey(
                subject_id=PSEUDONYMS_ID,
                key_id=PSEUDONYMS_ID,
                wrapped=await self._wrapper.wrap(secret),
                wrapped_by=self._wrapper.key_id,
                state=KeyState.ACTIVE,
                created=now,
                changed=now,
            )
            try:
                await self._keys.insert(row)
            except AlreadyStored:  # another process made it first: theirs is the secret
                known = await self._keys.get(PSEUDONYMS_ID, PSEUDONYMS_ID)
                if known is None:
                    raise ConcurrentUpdate("the pseudonym secret came and went") from None
            else:
                return secret
        if known.row.state is not KeyState.ACTIVE:
            raise UnreadableEnvelope("the pseudonym secret was destroyed: pseudonyms are lost")
        return await self._wrapper.unwrap(known.row.wrapped, wrapped_by=known.row.wrapped_by)
