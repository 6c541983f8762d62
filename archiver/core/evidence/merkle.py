"""The Merkle tree hash of RFC 6962 (section 2.1), the hash Certificate Transparency
logs sign: leaves hashed with a 0x00 prefix, interior nodes with 0x01, the tree split
at the largest power of two below its size. Over hashlib; pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def tree_hash(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of `leaves` (the data, not their hashes); the empty tree's
    is SHA-256 of nothing."""
    return root_of([leaf_hash(leaf) for leaf in leaves])


def root_of(hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash over leaves already hashed with `leaf_hash`."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    return _subtree(hashes)


def _subtree(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = 1 << ((len(hashes) - 1).bit_length() - 1)  # largest power of two < n
    return hashlib.sha256(_NODE + _subtree(hashes[:split]) + _subtree(hashes[split:])).digest()
