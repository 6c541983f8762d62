"""Checkpoints: signed statements of every thread's newest seal and of the audit trail,
kept in a container of their own that the archive's writers cannot rewrite.

A checkpoint is a signed note, in the spirit of Certificate Transparency's signed tree
heads and C2SP's signed notes: a few lines of text a witness can keep. It names the
archive (its origin), its number, the RFC 6962 tree heads over the thread heads (each
thread's newest seal by name and SHA-256, in thread-key order) and over the audit trail
(every record by name, size and SHA-256, in the order checkpoints took them), the
SHA-256 of the previous checkpoint's note, and the SHA-256 of its increment: what
changed since the previous checkpoint (heads new or moved, threads disposed of with the
receipt that says so, audit records new). The blob holds the note and the increment, so
replaying the increments from the first checkpoint gives every tree and each note can be
checked against them. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import rfc8785

from archiver.core.errors import DamagedArchive
from archiver.core.evidence.merkle import leaf_hash, root_of
from archiver.core.evidence.notes import Note, Tree, parse_note
from archiver.core.evidence.seals import Covered
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.layout import content_sha256

FORMAT = "acs-chat-archiver/checkpoint@1"
CHECKPOINTS_PREFIX = "checkpoints/"


def checkpoint_name(number: int) -> str:
    """`checkpoints/{number:020d}.json`: names sort in the chain's order."""
    return f"{CHECKPOINTS_PREFIX}{number:020d}.json"


@dataclass(frozen=True, kw_only=True, order=True)
class Head:
    """A thread's newest seal, as a checkpoint records it."""

    thread_key: str
    thread_id: str
    seal: str
    sha256: str

    def as_json(self) -> dict[str, str]:
        """The head as an increment holds it."""
        return {
            "threadKey": self.thread_key,
            "threadId": self.thread_id,
            "seal": self.seal,
            "sha256": self.sha256,
        }

    def leaf(self) -> bytes:
        """The Merkle leaf: the canonical JSON of the head."""
        return rfc8785.dumps(self.as_json())


@dataclass(frozen=True, kw_only=True)
class Increment:
    """What changed since the previous checkpoint: heads new or moved, threads disposed
    of (thread key and receipt name), audit records new (in name order), and the time
    before which every audit record is now covered."""

    heads: tuple[Head, ...] = ()
    disposed: tuple[tuple[str, str], ...] = ()
    audit: tuple[Covered, ...] = ()
    audit_until: datetime

    def as_json(self) -> dict[str, Any]:
        """The increment as the checkpoint blob holds it."""
        return {
            "heads": [head.as_json() for head in self.heads],
            "disposed": [{"threadKey": key, "receipt": name} for key, name in self.disposed],
            "audit": [record.as_json() for record in self.audit],
            "auditUntil": str(format_timestamp(self.audit_until)),
        }

    def digest(self) -> str:
        """The SHA-256 of the increment's canonical JSON, which the note signs."""
        return content_sha256(rfc8785.dumps(self.as_json()))


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A checkpoint blob: the signed note and the increment it signs."""

    note: Note
    increment: Increment

    @property
    def name(self) -> str:
        """Where it is stored in the checkpoints container."""
        return checkpoint_name(self.note.number)

    def document(self) -> bytes:
        """The blob's bytes: canonical JSON of the note's text and the increment."""
        return rfc8785.dumps(
            {"format": FORMAT, "note": self.note.text(), "increment": self.increment.as_json()}
        )


def parse_checkpoint(content: bytes, *, name: str) -> Checkpoint:
    """The checkpoint a blob holds; raise DamagedArchive when it is not one, or when its
    increment is not the one its note signs."""
    try:
        document = _document(content)
        note = parse_note(document["note"], source=name)
        increment = _increment(document["increment"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DamagedArchive(f"{name} is not a checkpoint ({exc})") from None
    if increment.digest() != note.increment:
        raise DamagedArchive(f"{name}: its increment is not the one its note signs")
    return Checkpoint(note=note, increment=increment)


@dataclass(frozen=True, kw_only=True)
class State:
    """What the checkpoints so far say: every thread's head, every audit record in the
    order they were taken, and the last note (None before the first checkpoint)."""

    heads: dict[str, Head] = field(default_factory=dict)
    audit: tuple[Covered, ...] = ()
    audit_leaves: tuple[bytes, ...] = ()  # the leaf hashes of `audit`
    audit_until: datetime | None = None
    last: Note | None = None

    @property
    def number(self) -> int:
        """The number the next checkpoint takes."""
        return 0 if self.last is None else self.last.number + 1

    def threads_tree(self) -> Tree:
        """The tree head over the thread heads, in thread-key order."""
        leaves = [leaf_hash(self.heads[key].leaf()) for key in sorted(self.heads)]
        return Tree(size=len(leaves), root=root_of(leaves).hex())

    def audit_tree(self) -> Tree:
        """The tree head over the audit records, in the order they were taken."""
        return Tree(size=len(self.audit_leaves), root=root_of(self.audit_leaves).hex())

    def applied(self, increment: Increment, note: Note) -> State:
        """The state once `increment` (signed by `note`) is applied."""
        heads = dict(self.heads)
        for thread_key, _ in increment.disposed:
            heads.pop(thread_key, None)
        for head in increment.heads:
            heads[head.thread_key] = head
        return replace(
            self,
            heads=heads,
            audit=self.audit + increment.audit,
            audit_leaves=self.audit_leaves
            + tuple(leaf_hash(record.leaf()) for record in increment.audit),
            audit_until=increment.audit_until,
            last=note,
        )


def replay(checkpoints: Sequence[Checkpoint]) -> tuple[State, list[tuple[str, str]]]:
    """The state the chain gives, and what is wrong with it: (checkpoint, problem) for a
    number out of sequence, a broken link, or a note whose trees its increments do not
    give. Signatures are checked by the caller, who knows the trusted keys."""
    state = State()
    problems: list[tuple[str, str]] = []
    for checkpoint in checkpoints:
        note = checkpoint.note
        if note.number != state.number:
            problems.append((checkpoint.name, f"numbered {note.number}, not {state.number}"))
        expected = None if state.last is None else state.last.sha256()
        if note.previous != expected:
            problems.append((checkpoint.name, "it is not chained to the checkpoint before it"))
        state = state.applied(checkpoint.increment, note)
        if (note.threads, note.audit) != (state.threads_tree(), state.audit_tree()):
            problems.append((checkpoint.name, "its tree heads are not what its increments give"))
    return state, problems


def next_note(
    state: State, increment: Increment, *, origin: str, made_at: datetime, key_id: str
) -> tuple[Note, State]:
    """The unsigned note that follows `state` with `increment`, and the state after it."""
    if "\n" in origin or not origin.strip():
        raise ValueError("a checkpoint origin is one line of text")
    draft = Note(
        origin=origin,
        number=state.number,
        made_at=made_at.replace(microsecond=0),
        threads=Tree(size=0, root=""),
        audit=Tree(size=0, root=""),
        previous=None if state.last is None else state.last.sha256(),
        increment=increment.digest(),
        key_id=key_id,
    )
    after = state.applied(increment, draft)
    note = replace(draft, threads=after.threads_tree(), audit=after.audit_tree())
    return note, replace(after, last=note)


def _document(content: bytes) -> dict[str, Any]:
    document = json.loads(content)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"format is not {FORMAT}")
    return document


def _increment(document: dict[str, Any]) -> Increment:
    return Increment(
        heads=tuple(
            Head(
                thread_key=str(h["threadKey"]),
                thread_id=str(h["threadId"]),
                seal=str(h["seal"]),
                sha256=str(h["sha256"]),
            )
            for h in document["heads"]
        ),
        disposed=tuple((str(d["threadKey"]), str(d["receipt"])) for d in document["disposed"]),
        audit=tuple(
            Covered(name=str(a["name"]), size=int(a["size"]), sha256=str(a["sha256"]))
            for a in document["audit"]
        ),
        audit_until=parse_timestamp(document["auditUntil"]),
    )
