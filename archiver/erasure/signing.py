"""Signing a receipt with the seal key, so that it is trusted through the key alone
(archiver.sealing.erasures), never because it is in the archive."""

from __future__ import annotations

from dataclasses import replace

from archiver.core.erasure.receipts import Receipt
from archiver.core.evidence.signatures import Signer


async def signed(receipt: Receipt, signer: Signer | None) -> Receipt:
    """`receipt` naming the signer's key and signed by it; as it is without a signer."""
    if signer is None:
        return receipt
    key = await signer.public_key()
    named = replace(receipt, key_id=key.key_id, algorithm=key.algorithm, signature=None)
    return replace(named, signature=await signer.sign(named.signed_bytes()))
