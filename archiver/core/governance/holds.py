"""Legal holds, one per matter and scope: a matter (case id) holds a thread, or a
participant (a custodian: every thread they are in or were in, later ones included).

A thread is held while any matter holds it, directly or through a custodian, and each
matter releases only its own hold. Each hold is its own `ChatHolds` row, keyed by its
scope and matter (`scope_key`, `matter_key`), so two matters never share or overwrite a
row. A participant's key begins with `~participant:`, which no thread key can: every `~`
in a key made by archiver.core.keys begins an `~XX` escape of two hexadecimal digits.
A hold an older archiver wrote (one row per thread, no matter named) reads as the hold
of the legacy matter (`matter` None). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from archiver.core.errors import InvalidEvent, InvalidQuery
from archiver.core.inventory import ThreadBlob, entry
from archiver.core.keys import MAX_KEY_LENGTH, encode_key
from archiver.core.threads import ThreadRow

MAX_REASON = 1000
PARTICIPANT_SCOPE = "~participant:"


class Scope(StrEnum):
    """What a hold holds: one thread, or every thread of one participant."""

    THREAD = "thread"
    PARTICIPANT = "participant"


@dataclass(frozen=True, kw_only=True)
class Hold:
    """One matter's hold on one thread or participant, as placed and perhaps released."""

    scope: Scope
    target: str  # the thread id, or the participant's raw id
    matter: str | None  # the case id; None for the legacy hold of an older archiver
    held: bool = True
    reason: str | None = None
    case: str | None = None  # the case a legacy hold named, if any
    placed_by: str | None = None
    placed_at: datetime | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None

    @property
    def scope_key(self) -> str:
        """The row's partition: the thread's key, or `~participant:` and the participant's."""
        return scope_key(self.scope, self.target)

    @property
    def matter_key(self) -> str:
        """The row's key within its scope ("" for the legacy hold, kept in the thread's row)."""
        return "" if self.matter is None else key_of(self.matter, "matter")

    @property
    def label(self) -> str:
        """How the hold is named in answers: its matter, and the custodian it holds."""
        matter = self.matter if self.matter is not None else "legacy hold"
        return f"{matter} (custodian {self.target})" if self.scope is Scope.PARTICIPANT else matter


def key_of(value: str, name: str) -> str:
    """The key of an id a hold request names; raise InvalidQuery naming `name` when it
    is empty or too long to be a key."""
    if not value:
        raise InvalidQuery(f"{name} is empty")
    try:
        return encode_key(value, field=name)
    except InvalidEvent:
        raise InvalidQuery(
            f"{name} is too long to be a storage key "
            f"(at most {MAX_KEY_LENGTH} characters once encoded)"
        ) from None


def scope_key(scope: Scope, target: str) -> str:
    """The partition of a hold of `scope` on `target` (thread id or participant raw id)."""
    if scope is Scope.THREAD:
        return key_of(target, "threadId")
    return PARTICIPANT_SCOPE + key_of(target, "participant")


def placed(
    current: Hold | None,
    *,
    scope: Scope,
    target: str,
    matter: str,
    reason: str,
    by: str,
    at: datetime,
) -> Hold:
    """The hold of `matter` on `target`, placed (again) now; raise InvalidQuery for an
    empty or over-long matter, reason or target."""
    checked(scope=scope, target=target, matter=matter, reason=reason)
    base = current or Hold(scope=scope, target=target, matter=matter)
    return replace(
        base,
        held=True,
        reason=reason,
        placed_by=by,
        placed_at=at,
        released_by=None,
        released_at=None,
        release_reason=None,
    )


def released(current: Hold | None, *, reason: str, by: str, at: datetime) -> Hold:
    """The hold, released; raise InvalidQuery when that matter does not hold it."""
    _text(reason, "reason")
    if current is None or not current.held:
        raise InvalidQuery("not on hold for that matter")
    return replace(current, held=False, released_by=by, released_at=at, release_reason=reason)


def checked(*, scope: Scope, target: str, matter: str | None, reason: str) -> None:
    """Raise InvalidQuery, naming what is wrong, unless the request can be a hold."""
    scope_key(scope, target)
    if matter is not None:
        _text(matter, "matter")
        key_of(matter, "matter")
    _text(reason, "reason")


def not_held(scope: Scope, target: str, matter: str | None, in_force: Iterable[Hold]) -> str:
    """Why a release of `matter`'s hold on `target` is refused, naming the matters that
    do hold it (None: the legacy hold)."""
    what = f"{scope} {target!r}"
    named = sorted(h.matter for h in in_force if h.matter is not None)
    if any(h.matter is None for h in in_force):
        named.append("the legacy hold (released by naming no matter)")
    if not named:
        return f"{what} is not on hold"
    if matter is None:
        return f"name the matter to release: {what} is on hold for {', '.join(named)}"
    return f"{what} is not on hold for matter {matter!r} (it is for {', '.join(named)})"


def holding(
    holds: Iterable[Hold], *, thread_id: str, participants: Iterable[str]
) -> tuple[Hold, ...]:
    """The holds in force on the thread: its own, and its participants' (custodians')."""
    people = frozenset(participants)
    return tuple(
        hold
        for hold in holds
        if hold.held
        and (
            (hold.scope is Scope.THREAD and hold.target == thread_id)
            or (hold.scope is Scope.PARTICIPANT and hold.target in people)
        )
    )


def participants_of(
    row: ThreadRow | None, *, names: Iterable[str] = (), senders: Iterable[str | None] = ()
) -> frozenset[str]:
    """Everyone the archive knows was ever in the thread: the row's current and former
    participants, whoever a participant-change blob names, and the messages' senders."""
    found = {member.raw_id for member in row.members} if row is not None else set()
    for name in names:
        blob = entry(name)
        if isinstance(blob, ThreadBlob) and blob.participant_id is not None:
            found.add(blob.participant_id)
    found.update(sender for sender in senders if sender)
    return frozenset(found)


def _text(text: str, name: str) -> None:
    if not text.strip():
        raise InvalidQuery(f"a hold needs a {name}")
    if len(text) > MAX_REASON:
        raise InvalidQuery(f"the {name} is longer than {MAX_REASON} characters")
