"""`verify --checkpoint`: the archive as it is now, against a checkpoint (the newest in the
checkpoints container, or one a witness kept).

The chain of checkpoints must verify with trusted keys and replay to its notes; a given
checkpoint must be the chain's checkpoint of its number, word for word. Then, for every
thread head it records: that seal is still there with its bytes, the thread's newest
seal descends from it (a chain cut back past it is truncated), and the thread's seals,
blobs and rows pass `verify --seals`'s rules; a head may be gone only with a disposal
receipt signed since the checkpoint. Every audit record it covers is there with its
bytes, and no record named before its cut has appeared since.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from archiver.core.errors import InvalidQuery, NotFound
from archiver.core.evidence.checkpoints import Head, State, parse_checkpoint, replay
from archiver.core.evidence.notes import Note, parse_note
from archiver.core.evidence.signatures import PublicKey
from archiver.core.governance.audit import AUDIT_PREFIX
from archiver.core.layout import content_sha256
from archiver.sealing.checkpointer import audit_time, moved
from archiver.sealing.checkpointlog import CheckpointLog, unsigned
from archiver.sealing.holdings import hashes, seal_names
from archiver.sealing.inspection import evidence
from archiver.sealing.judgement import Finding, judge
from archiver.storage.ports import Storage


@dataclass
class CheckpointReport:
    """What was found altered against the checkpoint, which one it was, and counts."""

    note: Note | None = None
    altered: list[Finding] = field(default_factory=list)
    disposed: list[str] = field(default_factory=list)  # threads gone with a receipt
    checked: Counter[str] = field(default_factory=Counter)

    def add(self, subject: str, what: str, detail: str) -> None:
        """Record a finding, once per subject and kind."""
        if not any(f.subject == subject and f.what == what for f in self.altered):
            self.altered.append(Finding(subject, what, detail))


async def check_checkpoint(
    storage: Storage,
    log: CheckpointLog,
    keys: Mapping[str, PublicKey],
    *,
    given: bytes | None = None,
) -> CheckpointReport:
    """Check the archive against the newest checkpoint, or against `given` (a checkpoint
    blob or its note's text); raise InvalidQuery when there is none to check against."""
    report = CheckpointReport()
    chain = await log.chain(keys)
    for name, why in chain.problems:
        report.add(name, "checkpoint fails", why)
    state = chain.state
    if given is not None:
        note = _given(given, keys, report)
        chosen = [c for c in chain.checkpoints if c.note.number == note.number]
        if not chosen:
            report.add(f"checkpoint {note.number}", "checkpoint missing", "not in the chain")
        elif chosen[0].note.text() != note.text():
            report.add(f"checkpoint {note.number}", "checkpoint forked", "the chain's differs")
        state, _ = replay(chain.checkpoints[: note.number + 1])
        report.note = note
    else:
        report.note = state.last
    if report.note is None:
        raise InvalidQuery("there is no checkpoint to check against: run `archiver checkpoint`")
    report.checked["checkpoints"] = len(chain.checkpoints)
    for head in [state.heads[key] for key in sorted(state.heads)]:
        await _thread(storage, log, keys, report, head)
    await _audit(storage, state, report)
    return report


def _given(content: bytes, keys: Mapping[str, PublicKey], report: CheckpointReport) -> Note:
    """The note of a checkpoint blob or of a note's text, its signature checked."""
    if content.lstrip()[:1] == b"{":
        note = parse_checkpoint(content, name="the checkpoint given").note
    else:
        note = parse_note(content.decode("utf-8", errors="replace"), source="the note given")
    if problem := unsigned(note, keys):
        report.add(f"checkpoint {note.number}", "checkpoint fails", problem)
    return note


async def _thread(
    storage: Storage,
    log: CheckpointLog,
    keys: Mapping[str, PublicKey],
    report: CheckpointReport,
    head: Head,
) -> None:
    note = report.note
    assert note is not None
    names = await seal_names(storage, head.thread_key)
    report.checked["threads"] += 1
    if head.seal not in names:
        receipts = await log.receipts(head.thread_key, keys)
        if any(receipt.disposed_at >= note.made_at for receipt in receipts):
            report.disposed.append(head.thread_id)
            return
        report.add(
            head.seal, "seal deleted", f"checkpoint {note.number} records it as the newest seal"
        )
        if names and names[-1] < head.seal:
            report.add(
                f"thread {head.thread_id}",
                "chain truncated",
                f"its newest seal is {names[-1]}, older than {head.seal}",
            )
        elif names:
            report.add(
                f"thread {head.thread_id}",
                "chain rewritten",
                f"its newest seal {names[-1]} does not descend from {head.seal}",
            )
    else:
        try:
            content = await storage.blobs.read(head.seal)
        except NotFound:
            content = b""
        if content_sha256(content) != head.sha256:
            report.add(head.seal, "seal replaced", f"not the seal checkpoint {note.number} records")
        else:
            _, problem = await moved(storage, head, names, keys)
            if problem is not None:
                report.add(f"thread {head.thread_id}", "chain rewritten", problem)
    judgement = judge(await evidence(storage, head.thread_key, keys=keys), keys)
    for finding in judgement.altered:
        report.add(finding.subject, finding.what, finding.detail)
    report.checked["seals"] += judgement.checked["seals"]
    report.checked["blobs"] += judgement.checked["blobs"]
    report.checked["rows"] += judgement.checked["rows"]


async def _audit(storage: Storage, state: State, report: CheckpointReport) -> None:
    present = {blob.name: blob async for blob in storage.blobs.listing(AUDIT_PREFIX)}
    covered = {record.name: record for record in state.audit}
    there = [name for name in covered if name in present]
    digests = dict(zip(there, await hashes(storage, there), strict=True))
    for name, record in covered.items():
        digest = digests.get(name)
        if digest is None:
            report.add(name, "audit record deleted", "the checkpoint covers it")
        elif (digest, present[name].size) != (record.sha256, record.size):
            report.add(name, "audit record altered", "its bytes differ from the checkpoint's")
    report.checked["audit records"] = len(covered)
    if state.audit_until is None:
        return
    for name in present.keys() - covered.keys():
        when = audit_time(name)
        if when is not None and when < state.audit_until:
            report.add(name, "audit record inserted", "named before the checkpoint, not in it")
