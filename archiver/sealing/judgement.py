"""The rules a thread's seals, blobs and rows are judged by. Pure.

Every finding names the thing that was altered (a blob, a seal, a row) once, and only
that: a version blob that was changed is reported as modified, not also as the reason
its row no longer matches; a seal that was replaced fails its signature and is the seal
the chain no longer links to, both said of that one seal.

A chain is append-only: every blob a seal covers is covered again, with the same size
and SHA-256, by every later seal. A blob's sealed bytes are the ones the earliest sound
seal (parsed, linked, signed by a trusted key) covering it says, so history rewritten
between two seals shows as that blob modified or missing, and the first seal that
differs is named for it. Leaves erasure receipts account for: archiver.sealing.erasures.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archiver.core.documents import version_of
from archiver.core.erasure.receipts import Decision
from archiver.core.errors import DamagedArchive
from archiver.core.evidence.seals import Covered, Seal, parse_seal, seal_name
from archiver.core.evidence.signatures import PublicKey
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import LatestRow, content_sha256, latest_row
from archiver.core.threads import ThreadRow
from archiver.core.versions import Stamp
from archiver.sealing.erasures import Erasure
from archiver.storage.ports import StoredBlob


@dataclass(frozen=True, order=True)
class Finding:
    """Something altered: which blob, seal or row (`subject`), how, and the detail."""

    subject: str
    what: str
    detail: str


@dataclass
class Judgement:
    """What was found altered, what is not sealed yet, and how much was checked."""

    altered: list[Finding] = field(default_factory=list)
    unsealed: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    receipts: set[str] = field(default_factory=set)  # the erasure receipts that count
    # What was recorded, by (subject, kind): a thread with every blob altered is judged
    # in time linear in its findings, not quadratic.
    _recorded: set[tuple[str, str]] = field(
        default_factory=set, init=False, repr=False, compare=False
    )

    def add(self, subject: str, what: str, detail: str) -> None:
        """Record a finding, once per subject and kind."""
        if (subject, what) not in self._recorded:
            self._recorded.add((subject, what))
            self.altered.append(Finding(subject, what, detail))


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """Everything read of one thread: its seals, its blobs and what their bytes hash to
    now (None: gone), its rows, the documents the rows point at, its thread row."""

    thread_key: str
    seals: Sequence[tuple[str, bytes]]
    blobs: Sequence[StoredBlob]
    actual: Mapping[str, str | None]
    rows: Sequence[LatestRow]
    documents: Mapping[str, dict[str, Any]]
    thread_row: ThreadRow | None
    erasures: Mapping[str, Erasure] = field(default_factory=dict)  # what receipts say


def judge(evidence: Evidence, keys: Mapping[str, PublicKey]) -> Judgement:
    """Check the chain, the signatures, every sealed blob's bytes and every row."""
    judgement = Judgement()
    chain = _chain(evidence, judgement)
    _signatures(chain, keys, judgement)
    _head(evidence, chain, judgement)
    _history(chain, judgement)
    suspect = {f.subject for f in judgement.altered}
    sealed = first_sealed(seal for name, seal in chain if seal is not None and name not in suspect)
    _blobs(evidence, sealed, judgement)
    _rows(evidence, {name: c.sha256 for name, (c, _) in sealed.items()}, judgement)
    judgement.checked["seals"] += len(chain)
    judgement.checked["blobs"] += len(evidence.blobs)
    judgement.checked["rows"] += len(evidence.rows)
    return judgement


def _chain(evidence: Evidence, judgement: Judgement) -> list[tuple[str, Seal | None]]:
    """Each seal parsed, and every link checked: a seal missing, replaced or inserted."""
    present = {name: content_sha256(content) for name, content in evidence.seals}
    chain: list[tuple[str, Seal | None]] = []
    for index, (name, content) in enumerate(evidence.seals):
        try:
            seal: Seal | None = parse_seal(content, name=name)
        except DamagedArchive as exc:
            judgement.add(name, "seal damaged", str(exc))
            seal = None
        chain.append((name, seal))
        if seal is None:
            continue
        if seal_name(evidence.thread_key, seal.sealed_at) != name:
            judgement.add(name, "seal misplaced", f"it says it is {seal.name}")
        before = evidence.seals[index - 1][0] if index else None
        link = seal.previous
        if link is None:
            if before is not None:
                judgement.add(name, "chain broken", f"it starts a new chain after {before}")
        elif link.name not in present:
            judgement.add(link.name, "seal missing", f"{name} is chained to it")
        elif present[link.name] != link.sha256:
            judgement.add(link.name, "seal replaced", f"it is not the seal {name} is chained to")
        elif link.name != before:
            for other, _ in evidence.seals:
                if link.name < other < name:
                    judgement.add(other, "seal inserted", f"{name} is chained to {link.name}")
    return chain


def _signatures(
    chain: Sequence[tuple[str, Seal | None]], keys: Mapping[str, PublicKey], judgement: Judgement
) -> None:
    for name, seal in chain:
        if seal is None:
            continue
        key = keys.get(seal.key_id)
        if key is None:
            judgement.add(name, "signature fails", f"signed by key {seal.key_id}, not trusted")
        elif not key.verifies(seal.signed_bytes(), seal.signature, seal.algorithm):
            judgement.add(name, "signature fails", f"not a valid signature of key {seal.key_id}")


def _head(
    evidence: Evidence, chain: Sequence[tuple[str, Seal | None]], judgement: Judgement
) -> None:
    """The thread row records the newest seal: removing or replacing it shows there."""
    row = evidence.thread_row
    if row is None or row.seal is None:
        return
    present = {name: content_sha256(content) for name, content in evidence.seals}
    if row.seal not in present:
        judgement.add(row.seal, "seal missing", "the thread row records it as the newest seal")
    elif row.seal_sha256 is not None and present[row.seal] != row.seal_sha256:
        judgement.add(row.seal, "seal replaced", "it is not the seal the thread row recorded")


def chain_findings(
    thread_key: str, seals: Sequence[tuple[str, bytes]], keys: Mapping[str, PublicKey]
) -> list[Finding]:
    """What is wrong with a chain of seals (name, content; in order) by itself: a seal
    damaged, missing, replaced or inserted, not signed by a trusted key, or rewriting
    what the seal before it covered."""
    judgement = Judgement()
    chain = _chain(
        Evidence(
            thread_key=thread_key,
            seals=seals,
            blobs=(),
            actual={},
            rows=(),
            documents={},
            thread_row=None,
        ),
        judgement,
    )
    _signatures(chain, keys, judgement)
    _history(chain, judgement)
    return judgement.altered


def first_sealed(seals: Iterable[Seal]) -> dict[str, tuple[Covered, str]]:
    """Each blob the seals cover, as the earliest of them covering it says, and by which."""
    found: dict[str, tuple[Covered, str]] = {}
    for seal in seals:
        for blob in seal.blobs:
            found.setdefault(blob.name, (blob, seal.name))
    return found


def consistency(earlier: Seal, later: Seal) -> list[tuple[str, str, str]]:
    """What `later` drops or changes of what `earlier` covered: (blob, "missing" or
    "modified", detail); empty when `later` extends `earlier`, as a chain must."""
    now = {blob.name: blob for blob in later.blobs}
    found = []
    for blob in earlier.blobs:
        kept = now.get(blob.name)
        if kept is None:
            found.append(
                (blob.name, "missing", f"sealed by {earlier.name}, left out of {later.name}")
            )
        elif (kept.sha256, kept.size) != (blob.sha256, blob.size):
            found.append(
                (blob.name, "modified", f"sealed by {earlier.name}, changed in {later.name}")
            )
    return found


def _history(chain: Sequence[tuple[str, Seal | None]], judgement: Judgement) -> None:
    """Each seal extends the one before it; the first that does not is named."""
    seals = [seal for _, seal in chain if seal is not None]
    for earlier, later in itertools.pairwise(seals):
        changes = consistency(earlier, later)
        for blob, what, detail in changes:
            judgement.add(blob, what, detail)
        if changes:
            judgement.add(
                later.name,
                "history rewritten",
                f"{len(changes)} blob(s) sealed by {earlier.name} dropped or changed",
            )


def _blobs(
    evidence: Evidence, sealed: Mapping[str, tuple[Covered, str]], judgement: Judgement
) -> None:
    """Every sealed blob is there with its sealed bytes; a blob no sound seal covers is
    unsealed, and must at least hash as recorded when written."""
    for blob, by in sealed.values():
        now = evidence.actual.get(blob.name)
        erased = _accounted(evidence, sealed, blob)
        if erased is not None:
            judgement.checked[f"leaves {erased.decision}"] += 1
            judgement.receipts.add(erased.receipt_id)
            if now is None and erased.decision is Decision.DELETED:
                continue  # gone as its receipt says, its leaf still sealed
        if now is None:
            judgement.add(blob.name, "missing", f"sealed by {by}")
        elif now != blob.sha256:
            judgement.add(blob.name, "modified", f"its bytes differ from {by}")
    for stored in evidence.blobs:
        if stored.name in sealed:
            continue
        judgement.unsealed.append(stored.name)
        now = evidence.actual.get(stored.name)
        if stored.sha256 is not None and now is not None and now != stored.sha256:
            judgement.add(
                stored.name, "modified", "its bytes differ from the SHA-256 recorded at write"
            )


def _accounted(
    evidence: Evidence, sealed: Mapping[str, tuple[Covered, str]], blob: Covered
) -> Erasure | None:
    """What a trusted receipt (signed by a trusted key, or sealed intact) says of it."""
    erased = evidence.erasures.get(blob.name)
    if erased is None or (erased.sha256, erased.size) != (blob.sha256, blob.size):
        return None
    receipt = sealed.get(erased.receipt_blob)
    intact = receipt is not None and evidence.actual.get(erased.receipt_blob) == receipt[0].sha256
    sound = intact and erased.decision is not Decision.DELETED  # a deletion needs a key
    return erased if erased.trusted or sound else None


def _rows(evidence: Evidence, sealed: Mapping[str, str], judgement: Judgement) -> None:
    """Each row is what the blob it points at makes, and points at its message's newest
    sealed version; a message with sealed versions has a row."""
    altered = {f.subject for f in judgement.altered}
    newest: dict[tuple[str, str], tuple[Stamp, str]] = {}
    for name in sealed:
        found = entry(name)
        if isinstance(found, MessageBlob):
            key = (found.thread_id, found.message_id)
            stamp = Stamp.of(found.version, found.action)
            if key not in newest or stamp > newest[key][0]:
                newest[key] = (stamp, name)
    for row in evidence.rows:
        subject = f"ChatMessages row {row.thread_id} / {row.message_id}"
        target = row.blob_name
        top = newest.pop((row.thread_id, row.message_id), None)
        if top is not None and top[1] not in altered and top[0] > row.stamp:
            judgement.add(subject, "row rewritten", f"older than its sealed {top[1]}")
            continue
        if target in altered or target not in evidence.documents:
            continue
        digest = evidence.actual.get(target)
        try:
            expected = latest_row(
                version_of(evidence.documents[target], name=target),
                sha256=digest if row.sha256 is not None else None,
            )
        except DamagedArchive as exc:
            judgement.add(subject, "row rewritten", str(exc))
            continue
        if expected != row:
            fields = [f for f in vars(row) if getattr(row, f) != getattr(expected, f)]
            judgement.add(subject, "row rewritten", f"differs from {target} in {', '.join(fields)}")
    for (thread_id, message_id), (_, name) in newest.items():
        if name not in altered:
            judgement.add(
                f"ChatMessages row {thread_id} / {message_id}", "row missing", f"{name} is sealed"
            )
