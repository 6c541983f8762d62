"""Shredding what an erasure queued behind a legal hold, once no matter holds it; and
the second phase of every receipt, `irrecoverable`, once no backup could bring a key back.

An erasure that met a held thread re-wrapped the person's data keys there under a
custody key of its own and wrote a receipt with `queued` items. `archiver erase
--release` (safe to run as often as wanted) reads those receipts, and for each thread no
matter holds any more destroys the custody key and each data key, rewrites the rows and
writes the thread's second receipt, each item `shredded`. A thread still held is left,
and named in the answer with its matters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from archiver.core.erasure.receipts import (
    ERASURES_PREFIX,
    Decision,
    Kind,
    Phase,
    Receipt,
    parse_receipt,
    receipt_id,
    receipt_of,
)
from archiver.core.evidence.signatures import Signer
from archiver.erasure.actions import derived
from archiver.erasure.redaction import Forget
from archiver.erasure.rows import redact_row, scrub_member
from archiver.erasure.signing import signed
from archiver.governance.custody import holders
from archiver.storage.keyports import KeyState
from archiver.storage.ports import Storage


@dataclass(frozen=True, kw_only=True)
class Released:
    """The receipts written now, and the threads still held (with their matters)."""

    receipts: tuple[Receipt, ...]
    still_held: dict[str, tuple[str, ...]]


async def release(
    storage: Storage,
    *,
    signer: Signer | None = None,
    forget: Forget | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Released:
    """Shred every queued erasure whose thread no matter holds now."""
    names = [n async for n in storage.blobs.names(ERASURES_PREFIX)]
    done = {named[1] for n in names if (named := receipt_of(n)) is not None}
    written: list[Receipt] = []
    held: dict[str, tuple[str, ...]] = {}
    for name in names:
        receipt = parse_receipt(await storage.blobs.read(name), name=name)
        queued = [i for i in receipt.items if i.decision is Decision.QUEUED]
        follow = receipt_id(receipt.request, Kind.ERASURE, receipt.thread_key, receipt.receipt_id)
        if not queued or receipt.kind is not Kind.ERASURE or follow in done:
            continue
        matters = await holders(storage, receipt.thread_key, receipt.thread_id)
        if matters:
            held[receipt.thread_id] = tuple(sorted({m.matter or "legacy hold" for m in matters}))
            continue
        now = clock()
        items = []
        for item in queued:
            subject_id, _, key_id = (item.key or "").partition("/")
            known = await storage.keys.get(subject_id, key_id)
            if known is not None and known.row.state is not KeyState.DESTROYED:
                await storage.keys.destroy(
                    subject_id, key_id, etag=known.etag, at=now, receipt=follow
                )
            items.append(replace(item, decision=Decision.SHREDDED, held_by=()))
        custody = f"custody-{receipt.receipt_id}"
        known = await storage.keys.get(custody, custody)
        if known is not None and known.row.state is not KeyState.DESTROYED:
            await storage.keys.destroy(custody, custody, etag=known.etag, at=now, receipt=follow)
        await scrub_member(storage, receipt.thread_key, _pseudonymous(storage, queued[0].key))
        copies, _ = await derived(storage, receipt.thread_key, signed=signer is not None)
        gone = frozenset(i.blob for i in items)
        items += copies
        for message_key in sorted({blob.split("/")[2] for blob in gone}):
            await redact_row(
                storage, receipt.thread_key, message_key, gone=gone, receipt=follow, sender=True
            )
        second = replace(receipt, receipt_id=follow, at=now, items=tuple(items))
        second = await signed(second, signer)
        await storage.blobs.create(second.name, second.document())
        if forget is not None:
            await forget(sorted(gone))
        written.append(second)
    return Released(receipts=tuple(written), still_held=held)


async def finish(
    storage: Storage,
    *,
    recovery_days: int,
    signer: Signer | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[Receipt, ...]:
    """The second phase: for every `keys-destroyed` receipt older than `recovery_days`
    (the longest a destroyed key row could come back from a backup of the key table),
    an `irrecoverable` receipt with the same id and items, once. Items still queued
    behind a hold are left out of it."""
    names = [n async for n in storage.blobs.names(ERASURES_PREFIX)]
    finished = {
        named[1] for n in names if (named := receipt_of(n)) and named[2] is Phase.IRRECOVERABLE
    }
    now = clock()
    written = []
    for name in names:
        named = receipt_of(name)
        if named is None or named[2] is not Phase.KEYS_DESTROYED or named[1] in finished:
            continue
        receipt = parse_receipt(await storage.blobs.read(name), name=name)
        gone = tuple(i for i in receipt.items if i.decision is not Decision.QUEUED)
        if not gone or now < receipt.at + timedelta(days=recovery_days):
            continue
        second = replace(receipt, phase=Phase.IRRECOVERABLE, at=now, items=gone)
        second = await signed(second, signer)
        await storage.blobs.create(second.name, second.document())
        written.append(second)
    return tuple(written)


def _pseudonymous(storage: Storage, key: str | None) -> Callable[[str], Awaitable[bool]]:
    """Whether a member's ACS id is the erased person's, known by the pseudonym that
    names their subject key (`{pseudonym}[-{generation}]/{data key}`)."""
    pseudonym = (key or "").split("/")[0].split("-")[0]

    async def matches(raw_id: str) -> bool:
        keyring = storage.versions.keyring
        return keyring is not None and await keyring.pseudonym(raw_id) == pseudonym

    return matches
