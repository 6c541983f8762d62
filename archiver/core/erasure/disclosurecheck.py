"""A disclosure proved from the file and the seal's public key alone: no archive, no key
of the archive's.

In order, each step said when it holds and named when it does not:

1. the cited blob's name is version N (action A) of message M in thread T, as the
   disclosure says, and the document names the same thread, message, version, action;
2. (an envelope) SHA-256(salt ‖ document) is the commitment; the envelope's own
   `commitment` field is that commitment; the envelope's cleartext header names the same
   thread, message, version and action;
3. the envelope's bytes (a plain version's: the document's) have the cited size and
   SHA-256: they are the leaf the citation names;
4. the seal in the file has the cited name, SHA-256, thread, tree size and root, and the
   inclusion proof leads from that leaf to its root;
5. the seal is signed by a trusted key.

Steps 2 and 3 bind the event to the sealed envelope without opening it: the commitment
is inside the sealed bytes, and only the disclosed salt and document hash to it. What
the file cannot show (the chain of seals before this one, the checkpoint that anchors
it, that the archive still holds these bytes) is the archive's to show: `verify
--disclosure FILE --checkpoint latest` adds them (archiver.search.proofs). Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.core.erasure.commitments import commitment_holds
from archiver.core.erasure.disclosures import Disclosure, Enveloped
from archiver.core.erasure.envelopes import read_commitment, read_header
from archiver.core.errors import DamagedArchive
from archiver.core.evidence.seals import Covered, Seal, parse_seal
from archiver.core.evidence.signatures import PublicKey
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import content_sha256
from archiver.core.search.citations import proves, seal_problem, signed_by


@dataclass
class DisclosureProof:
    """What holds (`proved`, in order) and what does not (`problems`)."""

    proved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def step(self, problem: str | None, holds: str) -> bool:
        """Record one step: its problem, or what holds when there is none."""
        if problem is None:
            self.proved.append(holds)
            return True
        self.problems.append(problem)
        return False


def check_disclosure(disclosure: Disclosure, keys: Mapping[str, PublicKey]) -> DisclosureProof:
    """Prove `disclosure` with `keys` (see the module's steps)."""
    proof = DisclosureProof()
    said = _said(disclosure)
    proof.step(_named(disclosure, said), f"blob {disclosure.citation['blob']} is {said}")
    proof.step(_document(disclosure, said), f"the document is {said}")
    if disclosure.enveloped is not None:
        _envelope(disclosure.document, disclosure.enveloped, said, _identity(disclosure), proof)
    stored = disclosure.stored
    covered = Covered(
        name=disclosure.citation["blob"], size=len(stored), sha256=content_sha256(stored)
    )
    what = "the document" if disclosure.enveloped is None else "the envelope"
    proof.step(
        None
        if (covered.size, covered.sha256)
        == (disclosure.citation["size"], disclosure.citation["sha256"])
        else f"{what}'s bytes are not the cited blob's (size or SHA-256 differ)",
        f"leaf: {what} is {covered.size} bytes with SHA-256 {covered.sha256}, as cited",
    )
    seal = _seal(disclosure, proof)
    if seal is None:
        return proof
    if not proof.step(
        proves(disclosure.citation["seal"].get("inclusionProof"), covered, seal),
        f"inclusion: the leaf is under {seal.name}'s root {seal.root_hash}",
    ):
        return proof
    proof.step(
        None if signed_by(seal, keys) else f"{seal.name} is not signed by a trusted key",
        f"signature: {seal.name} is signed by trusted key {seal.key_id}",
    )
    return proof


def _said(disclosure: Disclosure) -> str:
    return (
        f"version {disclosure.version} ({disclosure.action}) of message "
        f"{disclosure.message_id} in thread {disclosure.thread_id}"
    )


def _named(disclosure: Disclosure, said: str) -> str | None:
    name = disclosure.citation["blob"]
    found = entry(name)
    if not isinstance(found, MessageBlob) or _identity(found) != _identity(disclosure):
        return f"the cited blob {name} is not {said}"
    if disclosure.citation["threadId"] != disclosure.thread_id:
        return f"the citation is of thread {disclosure.citation['threadId']}, not the disclosure's"
    return None


def _document(disclosure: Disclosure, said: str) -> str | None:
    try:
        fields = json.loads(disclosure.document)
        named = (
            fields["threadId"],
            fields["messageId"],
            int(fields["version"]),
            str(fields["action"]),
        )
    except (ValueError, KeyError, TypeError):
        return "the document is not a message version's JSON"
    if named != _identity(disclosure):
        return f"the document is not {said}: it names {named}"
    return None


def _envelope(
    document: bytes,
    enveloped: Enveloped,
    said: str,
    identity: tuple[str, str, int, str],
    proof: DisclosureProof,
) -> None:
    commitment = enveloped.commitment
    proof.step(
        None
        if commitment_holds(document, enveloped.salt, commitment)
        else "SHA-256(salt ‖ document) is not the commitment: the document or the salt changed",
        f"commitment: SHA-256(salt ‖ document) is {commitment}",
    )
    try:
        own = read_commitment(enveloped.envelope, name="the envelope")
        header = read_header(enveloped.envelope, name="the envelope")
    except DamagedArchive as exc:
        proof.problems.append(str(exc))
        return
    proof.step(
        None if own == commitment else f"the envelope's own commitment is {own}, not {commitment}",
        "envelope: its own commitment is the disclosed one",
    )
    named = (header.thread_id, header.message_id, header.version, str(header.action))
    proof.step(
        None if named == identity else f"the envelope's header is not {said}",
        f"header: the envelope's header names {said}",
    )


def _seal(disclosure: Disclosure, proof: DisclosureProof) -> Seal | None:
    sealed: Any = disclosure.citation["seal"]
    if not isinstance(sealed, dict) or not isinstance(sealed.get("name"), str):
        proof.problems.append("the citation names no seal: nothing proves the blob")
        return None
    try:
        seal = parse_seal(disclosure.seal, name=sealed["name"])
    except DamagedArchive as exc:
        proof.problems.append(f"the disclosure's seal: {exc}")
        return None
    sha256 = content_sha256(disclosure.seal)
    if problem := seal_problem(seal, sealed, sha256=sha256, thread_id=disclosure.thread_id):
        proof.problems.append(f"the disclosure's seal: {problem}")
        return None
    proof.proved.append(f"seal: {seal.name}, SHA-256 {sha256}, {len(seal.blobs)} leaves")
    return seal


def _identity(of: MessageBlob | Disclosure) -> tuple[str, str, int, str]:
    return (of.thread_id, of.message_id, of.version, str(of.action))
