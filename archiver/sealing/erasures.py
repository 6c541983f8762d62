"""What a thread's erasure receipts say of its leaves, for sealing and for checking seals.

Every receipt under `erasures/{threadKey}/` is read; for each version blob it names, the
newest receipt's decision stands (a queued item shredded after its release is named
again). A receipt is trusted when its signature verifies with a trusted key (the signer's
own, ARCHIVE_SEAL_TRUSTED_KEYS, or the keys `verify --public-key` names), never because
it is in the archive: a storage writer who deletes a sealed blob and writes a receipt
for it has no key to sign it with, and the blob is reported missing.

Only a trusted receipt's `deleted` item accounts for a missing leaf: the sealer keeps
that leaf (name, size, SHA-256) in every later seal, so the chain still extends, and
`verify --seals` counts it as erased rather than missing. The other decisions leave the
blob in place (envelope mode: only its key changed) and are reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from archiver.core.erasure.receipts import Decision, is_receipt_name, parse_receipt
from archiver.core.errors import DamagedArchive, NotFound
from archiver.core.evidence.seals import Covered
from archiver.core.evidence.signatures import PublicKey
from archiver.storage.ports import Storage, StoredBlob


@dataclass(frozen=True, kw_only=True)
class Erasure:
    """What the newest receipt naming a blob says of it."""

    receipt_id: str
    receipt_blob: str
    decision: Decision
    sha256: str
    size: int
    trusted: bool  # signed by a trusted key


async def erasures_of(
    storage: Storage, blobs: Sequence[StoredBlob], keys: Mapping[str, PublicKey]
) -> dict[str, Erasure]:
    """Each blob the thread's receipts (among `blobs`) name, by the newest receipt."""
    found: dict[str, Erasure] = {}
    for blob in sorted((b for b in blobs if is_receipt_name(b.name)), key=lambda b: b.name):
        try:
            receipt = parse_receipt(await storage.blobs.read(blob.name), name=blob.name)
        except (NotFound, DamagedArchive):
            continue  # judged as any other blob: missing or modified against its seal
        key = keys.get(receipt.key_id or "")
        trusted = (
            key is not None
            and receipt.signature is not None
            and receipt.algorithm is not None
            and key.verifies(receipt.signed_bytes(), receipt.signature, receipt.algorithm)
        )
        for item in receipt.items:
            found[item.blob] = Erasure(
                receipt_id=receipt.receipt_id,
                receipt_blob=blob.name,
                decision=item.decision,
                sha256=item.sha256,
                size=item.size,
                trusted=trusted,
            )
    return found


def excused(erasures: Mapping[str, Erasure], present: set[str]) -> list[Covered]:
    """The leaves a trusted receipt deleted: kept, as they were sealed, in later seals."""
    return [
        Covered(name=name, size=e.size, sha256=e.sha256)
        for name, e in sorted(erasures.items())
        if e.decision is Decision.DELETED and e.trusted and name not in present
    ]
