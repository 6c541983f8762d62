"""The Merkle tree hash agrees with RFC 6962's reference trees, and any change moves it."""

from __future__ import annotations

import pytest

from archiver.core.evidence.merkle import leaf_hash, tree_hash

pytestmark = pytest.mark.pure

# The Certificate Transparency reference inputs and the roots RFC 6962 implementations
# publish for the first n of them (certificate-transparency, transparency-dev/merkle).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
          "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_the_tree_hash_of_the_first_n_reference_leaves_is_the_published_root(size):
    assert tree_hash(LEAVES[:size]).hex() == ROOTS[size]


def test_a_leaf_hash_is_sha256_with_a_zero_byte_prefix():
    assert leaf_hash(b"").hex() == ROOTS[1]


def test_changing_removing_or_reordering_a_leaf_changes_the_root():
    root = tree_hash(LEAVES)

    assert tree_hash([*LEAVES[:3], b"\x11", *LEAVES[4:]]) != root
    assert tree_hash(LEAVES[:-1]) != root
    assert tree_hash([LEAVES[1], LEAVES[0], *LEAVES[2:]]) != root


def test_a_leaf_cannot_pass_for_an_interior_node():
    # Second-preimage resistance: the two children's hashes, offered as one leaf,
    # do not give the parent's hash, because leaves and nodes are prefixed apart.
    pair = tree_hash(LEAVES[:2])
    forged = leaf_hash(LEAVES[0]) + leaf_hash(LEAVES[1])

    assert tree_hash([forged]) != pair
