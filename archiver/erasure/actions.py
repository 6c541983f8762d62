"""Acting on one item's decision: its data key destroyed (shredded), re-wrapped under
the restriction key (restricted), nothing yet (queued behind a hold), or, in a plain
archive, its blob deleted. Each action is ETag-checked and marks the key row with the
receipt that did it, so a reader names the receipt and a repeated request sees the work
done. The returned Item is what the receipt says of it."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from archiver.core.erasure.envelopes import Header
from archiver.core.erasure.receipts import Decision, Item
from archiver.core.errors import Immutable, NotFound, UnreadableEnvelope
from archiver.core.layout import TRANSCRIPTS_PREFIX, is_transcript_name
from archiver.core.summaries import is_summary_name, summaries_prefix
from archiver.storage.keyports import KeyState
from archiver.storage.ports import Storage


class Restriction(Protocol):
    """The restriction key's public half: wraps a data key so that only two admins,
    together, can open it again (archiver.core.erasure.restriction)."""

    @property
    def key_id(self) -> str:
        """The restriction key's id, kept as the restricted row's `wrappedBy`."""
        ...

    def restrict(self, data_key: bytes, *, data_key_id: str, subject_key_id: str) -> bytes:
        """`data_key` wrapped under the restriction key, bound to its ids."""
        ...


@dataclass(frozen=True, kw_only=True)
class Affected:
    """One version blob a request reaches: its leaf, and its header for an envelope."""

    blob: str
    sha256: str
    size: int
    header: Header | None  # None: a version of a plain archive

    @property
    def key(self) -> str | None:
        """The data key it concerns, as a receipt names it."""
        if self.header is None:
            return None
        return f"{self.header.subject_key_id}/{self.header.data_key_id}"


async def act(
    storage: Storage,
    affected: Affected,
    decision: Decision,
    *,
    receipt: str,
    at: datetime,
    held_by: tuple[str, ...] = (),
    restriction: Restriction | None = None,
) -> Item:
    """Do what `decision` says to `affected`, and say what was done."""
    item = Item(
        blob=affected.blob,
        sha256=affected.sha256,
        size=affected.size,
        decision=decision,
        key=affected.key,
        held_by=held_by,
    )
    if decision is Decision.QUEUED:
        return item
    if decision is Decision.DELETED:
        with contextlib.suppress(NotFound):  # deleted by this request before: done
            await storage.blobs.delete(affected.blob)
        return item
    header = affected.header
    if header is None:
        raise AssertionError("only an envelope has a key to shred or restrict")
    known = await storage.keys.get(header.subject_key_id, header.data_key_id)
    if known is None:
        raise UnreadableEnvelope(f"the key table has no data key of {affected.blob}")
    if known.row.state is KeyState.DESTROYED:
        return replace(item, decision=Decision.SHREDDED)  # already gone (by this request)
    wrapped_sha256 = hashlib.sha256(known.row.wrapped).hexdigest()
    item = replace(item, wrapped_sha256=wrapped_sha256)
    if decision is Decision.SHREDDED:
        await storage.keys.destroy(
            header.subject_key_id, header.data_key_id, etag=known.etag, at=at, receipt=receipt
        )
        return item
    if known.row.state is KeyState.RESTRICTED:
        return item
    if restriction is None:
        raise AssertionError("a restricted decision needs the restriction key")
    keyring = storage.versions.keyring
    if keyring is None:
        raise AssertionError("an envelope's key is restricted with the root key at hand")
    data_key = await keyring.data_key(header)
    restricted = replace(
        known.row,
        wrapped=restriction.restrict(
            data_key, data_key_id=header.data_key_id, subject_key_id=header.subject_key_id
        ),
        wrapped_by=restriction.key_id,
        state=KeyState.RESTRICTED,
        changed=at,
        receipt=receipt,
    )
    await storage.keys.replace(restricted, etag=known.etag)
    return item


async def derived(storage: Storage, thread_key: str, *, signed: bool) -> tuple[list[Item], int]:
    """Delete what was written from a thread's text: its summaries (derived, never
    sealed), and, when the receipt will be signed, its transcripts (sealed: each becomes
    a `deleted` item whose leaf later seals keep). The transcripts' items, and how many
    blobs stay because the container is immutable (WORM) or no signer would vouch."""
    items: list[Item] = []
    kept = 0
    async for blob in storage.blobs.listing(summaries_prefix(thread_key)):
        if is_summary_name(blob.name, thread_key):
            kept += not await _deleted(storage, blob.name)
    async for blob in storage.blobs.listing(f"{TRANSCRIPTS_PREFIX}{thread_key}/"):
        if not is_transcript_name(blob.name):
            continue
        if not signed or blob.sha256 is None or not await _deleted(storage, blob.name):
            kept += 1
            continue
        items.append(
            Item(blob=blob.name, sha256=blob.sha256, size=blob.size, decision=Decision.DELETED)
        )
    return items, kept


async def _deleted(storage: Storage, name: str) -> bool:
    try:
        await storage.blobs.delete(name)
    except Immutable:
        return False
    except NotFound:
        pass
    return True
