"""`verify --citation`: prove a hit's citation against the archive, trusting only the
seal keys given (never the index, never a key in the archive).

In order: the cited blob is a version of the cited thread and holds exactly the cited
bytes (size and SHA-256 of what is read now); the cited seal is in the archive with the
cited SHA-256, is a seal of that thread, and has the cited tree size and root; the
inclusion proof leads from the blob's leaf to that root; the seal is signed by a trusted
key and the chain of seals up to it is sound; and the newest checkpoint that verifies
records that seal, or a later seal of the thread whose chain holds it, as the thread's
head. Each step that holds is said; each that does not is a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.core.errors import DamagedArchive, NotFound
from archiver.core.evidence.seals import Covered, Seal, parse_seal
from archiver.core.evidence.signatures import PublicKey
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import content_sha256
from archiver.core.search.citations import proves, seal_problem, signed_by
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.holdings import seal_names
from archiver.sealing.judgement import chain_findings
from archiver.storage.ports import Storage


@dataclass
class CitationProof:
    """What holds (`proved`, in order) and what does not (`problems`)."""

    proved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def prove_citation(
    storage: Storage, log: CheckpointLog, citation: dict[str, Any], keys: Mapping[str, PublicKey]
) -> CitationProof:
    """Prove a citation (checked for shape by parse_citation)."""
    proof = CitationProof()
    name, thread_id = citation["blob"], citation["threadId"]
    covered = Covered(name=name, size=citation["size"], sha256=citation["sha256"])
    found = entry(name)
    if not isinstance(found, MessageBlob) or found.thread_id != thread_id:
        proof.problems.append(f"{name} is not a message version of thread {thread_id}")
        return proof
    try:
        content = await storage.blobs.read(name)
    except NotFound:
        proof.problems.append(f"{name} is not in the archive")
        return proof
    if (len(content), content_sha256(content)) != (covered.size, covered.sha256):
        proof.problems.append(f"{name} does not hold the cited bytes (size or SHA-256 differ)")
        return proof
    proof.proved.append(f"blob {name}: {covered.size} bytes, SHA-256 {covered.sha256}")
    sealed = citation.get("seal")
    if not isinstance(sealed, dict):
        proof.problems.append(f"{name} was not sealed when it was cited: nothing proves it")
        return proof
    seal = await _seal(storage, sealed, thread_id, proof)
    if seal is None:
        return proof
    if problem := proves(sealed.get("inclusionProof"), covered, seal):
        proof.problems.append(problem)
        return proof
    proof.proved.append(f"inclusion: the blob's leaf is under {seal.name}'s root {seal.root_hash}")
    if not signed_by(seal, keys):
        proof.problems.append(f"{seal.name} is not signed by a trusted key")
        return proof
    names = [n for n in await seal_names(storage, seal.thread_key) if n <= seal.name]
    chain = [(n, await storage.blobs.read(n)) for n in names]
    if broken := chain_findings(seal.thread_key, chain, keys):
        proof.problems.append(
            f"the chain of seals up to {seal.name} is not sound: {broken[0].what}"
        )
        return proof
    proof.proved.append(f"signature: {seal.name} is signed by trusted key {seal.key_id}")
    await _anchored(storage, log, seal, sealed["sha256"], keys, proof)
    return proof


async def _seal(
    storage: Storage, sealed: dict[str, Any], thread_id: str, proof: CitationProof
) -> Seal | None:
    name = sealed.get("name")
    if not isinstance(name, str):
        proof.problems.append("the citation names no seal")
        return None
    try:
        content = await storage.blobs.read(name)
        seal = parse_seal(content, name=name)
    except (NotFound, DamagedArchive) as exc:
        proof.problems.append(f"the cited seal {name} is not in the archive ({exc})")
        return None
    if problem := seal_problem(seal, sealed, sha256=content_sha256(content), thread_id=thread_id):
        proof.problems.append(f"in the archive, {problem}")
        return None
    return seal


async def _anchored(
    storage: Storage,
    log: CheckpointLog,
    seal: Seal,
    sha256: str,
    keys: Mapping[str, PublicKey],
    proof: CitationProof,
) -> None:
    chain = await log.chain(keys)
    note, head = chain.state.last, chain.state.heads.get(seal.thread_key)
    if note is None or head is None:
        proof.problems.append(
            f"no checkpoint records thread {seal.thread_id} yet: run `archiver checkpoint`"
        )
        return
    if head.seal == seal.name:
        if head.sha256 != sha256:
            proof.problems.append(f"checkpoint {note.number} records another {seal.name}")
            return
        proof.proved.append(f"checkpoint {note.number} records {seal.name} as the thread's head")
        return
    if head.seal < seal.name:
        proof.problems.append(
            f"{seal.name} is newer than checkpoint {note.number}, which records {head.seal}: "
            "run `archiver checkpoint`"
        )
        return
    names = [n for n in await seal_names(storage, seal.thread_key) if n <= head.seal]
    contents = [await storage.blobs.read(n) for n in names]
    held = head.seal in names and content_sha256(contents[-1]) == head.sha256
    if not held or chain_findings(seal.thread_key, list(zip(names, contents, strict=True)), keys):
        proof.problems.append(
            f"the head checkpoint {note.number} records, {head.seal}, does not descend "
            f"from {seal.name}"
        )
        return
    proof.proved.append(
        f"checkpoint {note.number} records {head.seal}, whose chain holds {seal.name}"
    )
