"""What envelope mode needs from storage: the key table, mutable and outside WORM, that
holds every wrapped key (issue 26: erasure destroys a key here, never a sealed blob).

A subject's partition holds its own key (wrapped by the root key) and the data keys it
wraps, so erasing a person is one partition query, and a new subject key and its first
data key are one transaction. Every id is opaque and is stored exactly as given: no
personal data in a table key. Both adapters (Azure, in-memory) pass the same contract
suite (tests/storage/test_key_storage_contract.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

# A table transaction holds at most 100 entities of one partition.
MAX_TRANSACTION = 100
# A wrapped key is tens of bytes (AES key wrap) to 512 (RSA-OAEP-4096); 4 KiB is ample,
# and its Base64 stays far inside a table property's 64 KiB.
MAX_WRAPPED_BYTES = 4096
MAX_WRAPPER_ID = 1024  # a Key Vault key's URL, or another key's id
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class KeyKind(StrEnum):
    """A subject's key (wrapped by the root key) or one version's data key."""

    SUBJECT = "subject"
    DATA = "data"


class KeyState(StrEnum):
    """Usable, re-wrapped under the two-admin restriction key, or gone for good."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    DESTROYED = "destroyed"


@dataclass(frozen=True, kw_only=True)
class WrappedKey:
    """One row: a key's ids, its wrapped bytes (none once destroyed), the id of the key
    that wraps it, its state, and when it was created and last changed."""

    subject_id: str  # the subject key the row belongs to: its partition
    key_id: str  # the subject's own id for its subject key, a data key's id otherwise
    wrapped: bytes
    wrapped_by: str
    state: KeyState
    created: datetime
    changed: datetime
    blob: str = ""  # a data key's version blob (names carry no personal data); "" otherwise
    receipt: str = ""  # the erasure receipt that destroyed or restricted it, once one has

    def __post_init__(self) -> None:
        check_key_id(self.subject_id)
        check_key_id(self.key_id)
        if not 0 < len(self.wrapped_by) <= MAX_WRAPPER_ID:
            raise ValueError(f"wrapped_by must be 1 to {MAX_WRAPPER_ID} characters")
        destroyed = self.state is KeyState.DESTROYED
        if destroyed != (not self.wrapped) or len(self.wrapped) > MAX_WRAPPED_BYTES:
            raise ValueError(
                f"a destroyed key holds no bytes, any other 1 to {MAX_WRAPPED_BYTES} bytes"
            )
        if self.created.tzinfo is None or self.changed.tzinfo is None:
            raise ValueError("a key's times carry their time zone")

    @property
    def kind(self) -> KeyKind:
        """SUBJECT for the subject's own key, DATA for the keys it wraps."""
        return KeyKind.SUBJECT if self.key_id == self.subject_id else KeyKind.DATA


@dataclass(frozen=True)
class KnownKey:
    """A key row as it is now, and the ETag that proves it."""

    row: WrappedKey
    etag: str


def check_key_id(key_id: str) -> str:
    """Return `key_id`; raise ValueError unless it is 1-128 letters, digits, `-` and `_`
    (an opaque id the archiver minted, valid as a table key as it is)."""
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"a key id is 1-128 letters, digits, '-' and '_', got {key_id!r}")
    return key_id


def check_batch(rows: Sequence[WrappedKey]) -> None:
    """Raise ValueError unless `rows` can be one transaction: 1 to 100 distinct keys of
    one subject."""
    if not 0 < len(rows) <= MAX_TRANSACTION:
        raise ValueError(f"a transaction holds 1 to {MAX_TRANSACTION} keys, not {len(rows)}")
    if len({row.subject_id for row in rows}) != 1:
        raise ValueError("a transaction writes keys of one subject only")
    if len({row.key_id for row in rows}) != len(rows):
        raise ValueError("a transaction writes each key at most once")


class KeyTable(Protocol):
    """`ChatKeys`: one row per wrapped key, by (subject id, key id), every write
    create-only or ETag-checked."""

    async def insert(self, row: WrappedKey) -> str:
        """Create the row and return its ETag; raise AlreadyStored if the key exists."""

    async def insert_all(self, rows: Sequence[WrappedKey]) -> list[str]:
        """Create 1 to 100 keys of one subject as one transaction, all or nothing, and
        return their ETags in order; raise AlreadyStored (nothing written) if any exists."""

    async def get(self, subject_id: str, key_id: str) -> KnownKey | None:
        """The row and its ETag, or None; `key_id` = `subject_id` is the subject's key."""

    async def replace(self, row: WrappedKey, *, etag: str) -> str:
        """Replace a live row (re-wrapped: restricted, or under a new root key) if it
        still has `etag`, and return the new ETag; raise ConcurrentUpdate if it changed,
        went, or was destroyed. ValueError for a destroyed `row`: use `destroy`."""

    async def destroy(
        self, subject_id: str, key_id: str, *, etag: str, at: datetime, receipt: str = ""
    ) -> str:
        """Overwrite the row's wrapped bytes with nothing and mark it destroyed at `at` by
        `receipt`, if it still has `etag`; return the tombstone's ETag. The row stays (a
        reader sees "destroyed by receipt N", never "never existed"); raise
        ConcurrentUpdate if it changed or went."""

    def subject_keys(self, subject_id: str) -> AsyncIterator[KnownKey]:
        """The subject's own key first (if it has one), then every data key of its
        partition in key-id order, tombstones included: one partition query."""

    def subjects(self) -> AsyncIterator[KnownKey]:
        """Every subject key, in subject-id order (a filtered scan of the whole table:
        for rare work such as rotating the root key)."""
