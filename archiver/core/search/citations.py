"""Hits, and the citation each carries: which blob says it, with what bytes, and the
proof that a seal covers that blob.

A citation names the version's blob, its SHA-256 and size, and the seal that covers
it: the seal's name and SHA-256, its tree size and root hash, and an RFC 6962 Merkle
inclusion proof of the blob's leaf (the canonical JSON of its name, size and SHA-256)
under that root. Whoever holds a citation, the seal's public key and read access to
the archive can prove the cited text without trusting the index that found it
(archiver.search.proofs). The proof is pymerkle's (a maintained library), serialized as
it does: metadata (hash, size, index counting from one), the side of each step, and the
path, whose first hash is the leaf's and the rest the RFC 9162 inclusion path. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymerkle import InmemoryTree, verify_inclusion
from pymerkle.proof import InclusionProof, InvalidProof

from archiver.core.errors import InvalidQuery
from archiver.core.evidence.merkle import leaf_hash
from archiver.core.evidence.seals import Covered, Seal
from archiver.core.evidence.signatures import PublicKey
from archiver.core.fields import format_timestamp
from archiver.core.keys import encode_key
from archiver.core.search.documents import SearchDocument

FORMAT = "acs-chat-archiver/citation@1"


@dataclass(frozen=True, kw_only=True)
class SealProof:
    """The seal that covers a blob, and the inclusion proof of its leaf."""

    seal: str
    seal_sha256: str
    tree_size: int
    root_hash: str
    proof: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Citation:
    """What a hit cites: a version's blob, and the seal that covers it (None: not sealed
    yet, so nothing proves it beyond the archive's own say)."""

    blob: str
    sha256: str
    size: int
    thread_id: str
    sealed: SealProof | None

    def as_json(self) -> dict[str, Any]:
        """The citation as `search --json` prints it and `verify --citation` reads it."""
        sealed = self.sealed
        return {
            "format": FORMAT,
            "blob": self.blob,
            "sha256": self.sha256,
            "size": self.size,
            "threadId": self.thread_id,
            "seal": None
            if sealed is None
            else {
                "name": sealed.seal,
                "sha256": sealed.seal_sha256,
                "treeSize": sealed.tree_size,
                "rootHash": sealed.root_hash,
                "inclusionProof": sealed.proof,
            },
        }


@dataclass(frozen=True, kw_only=True)
class Hit:
    """One document a search found, best first: its snippet and score, and its citation."""

    document: SearchDocument
    snippet: str
    score: float
    citation: Citation | None = None

    def as_json(self) -> dict[str, Any]:
        """The hit as `search --json` and `GET /api/search` give it."""
        doc = self.document
        return {
            "threadId": doc.thread_id,
            "messageId": doc.message_id,
            "version": doc.version,
            "action": doc.action,
            "time": format_timestamp(doc.time),
            "senderId": doc.sender_id,
            "senderDisplayName": doc.sender_name,
            "current": doc.current,
            "deleted": doc.deleted,
            "snippet": self.snippet,
            "score": self.score,
            "citation": None if self.citation is None else self.citation.as_json(),
        }


def cite(document: SearchDocument, seal: Seal | None, *, seal_sha256: str) -> Citation:
    """The citation of `document` by `seal` (which must cover the blob with its bytes,
    else the citation says it is not sealed)."""
    covered = Covered(name=document.name, size=document.size, sha256=document.sha256)
    return citation_of(covered, document.thread_id, seal, seal_sha256=seal_sha256)


def citation_of(
    covered: Covered, thread_id: str, seal: Seal | None, *, seal_sha256: str
) -> Citation:
    """The citation of the blob `covered` of thread `thread_id` by `seal`, whose blob's
    SHA-256 is `seal_sha256` (not sealed unless the seal covers it with these bytes)."""
    sealed = None
    if seal is not None and covered in seal.blobs:
        sealed = SealProof(
            seal=seal.name,
            seal_sha256=seal_sha256,
            tree_size=len(seal.blobs),
            root_hash=seal.root_hash,
            proof=inclusion_proof(seal, covered),
        )
    return Citation(
        blob=covered.name,
        sha256=covered.sha256,
        size=covered.size,
        thread_id=thread_id,
        sealed=sealed,
    )


def inclusion_proof(seal: Seal, covered: Covered) -> dict[str, Any]:
    """pymerkle's inclusion proof of `covered` in `seal`'s tree, serialized."""
    tree = InmemoryTree(algorithm="sha256")
    for blob in seal.blobs:
        tree.append_entry(blob.leaf())
    position = seal.blobs.index(covered) + 1
    proof: dict[str, Any] = tree.prove_inclusion(position, len(seal.blobs)).serialize()
    return proof


def seal_problem(
    seal: Seal, sealed: Mapping[str, Any], *, sha256: str, thread_id: str
) -> str | None:
    """Why `seal`, whose blob's SHA-256 is `sha256`, is not the seal a citation of a blob
    of thread `thread_id` names in `sealed` (None: it is)."""
    if sha256 != sealed.get("sha256") or seal.name != sealed.get("name"):
        return f"{seal.name} is not the seal cited (its name or SHA-256 differs)"
    if seal.thread_id != thread_id or seal.thread_key != encode_key(thread_id, field="threadId"):
        return f"{seal.name} is a seal of thread {seal.thread_id}, not {thread_id}"
    if (len(seal.blobs), seal.root_hash) != (sealed.get("treeSize"), sealed.get("rootHash")):
        return f"the citation's tree size or root is not {seal.name}'s"
    return None


def signed_by(seal: Seal, keys: Mapping[str, PublicKey]) -> bool:
    """Whether `seal` is signed by one of `keys` (by its key id)."""
    key = keys.get(seal.key_id)
    return key is not None and key.verifies(seal.signed_bytes(), seal.signature, seal.algorithm)


def proves(proof: Any, covered: Covered, seal: Seal) -> str | None:
    """Why `proof` does not prove `covered` under `seal`'s signed root (None: it does).
    The leaf, the tree's size and the root come from the seal and the blob, never from
    the proof."""
    if not isinstance(proof, dict):
        return "the citation carries no inclusion proof"
    if covered not in seal.blobs:
        return f"{seal.name} does not cover {covered.name} with these bytes"
    try:
        parsed = InclusionProof.deserialize(proof)
        verify_inclusion(
            leaf_hash(covered.leaf()),
            bytes.fromhex(seal.root_hash),
            parsed,
            index=seal.blobs.index(covered) + 1,
            size=len(seal.blobs),
            algorithm="sha256",
        )
    except InvalidProof as exc:
        return f"the inclusion proof fails: {exc}"
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"the inclusion proof is malformed ({type(exc).__name__})"
    return None


def parse_citation(content: bytes | str) -> dict[str, Any]:
    """A citation document (or a hit holding one), checked for shape; raise InvalidQuery."""
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise InvalidQuery(f"the citation is not JSON ({exc})") from None
    if isinstance(document, dict) and isinstance(document.get("citation"), dict):
        document = document["citation"]  # a hit, as `search --json` prints it
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidQuery(f"not a citation of this archiver (format {FORMAT})")
    for field, kind in (("blob", str), ("sha256", str), ("size", int), ("threadId", str)):
        if not isinstance(document.get(field), kind):
            raise InvalidQuery(f"the citation's {field!r} is missing or not a {kind.__name__}")
    if not isinstance(document.get("seal"), dict | None):
        raise InvalidQuery("the citation's 'seal' is not an object")
    return document
