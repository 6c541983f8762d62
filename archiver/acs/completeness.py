"""Whether the archive held every message ACS shows: the gaps one ListMessages run finds.

ACS numbers the messages of a thread, its own system messages included, with a
`sequenceId` from 1, and keeps a deleted message listed (with `deletedOn`). So against a
full listing, three things can be missing, each named exactly:

- `missing`: sequence ids of messages ACS shows of which the archive held no version
  (the events never arrived; archive-thread then stores ACS's current version);
- `unlisted`: sequence ids below ACS's highest that ACS does not show at all;
- `gone`: message ids the archive holds that ACS no longer shows.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from archiver.core.jsontext import dumps

SHOWN_AT_MOST = 200  # ids kept per kind in the thread row; the counts are always exact


@dataclass(frozen=True)
class Gaps:
    """What one check against ACS found missing, by kind."""

    missing: tuple[int, ...] = ()
    unlisted: tuple[int, ...] = ()
    gone: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """True when the archive held every message ACS shows, and ACS shows them all."""
        return not (self.missing or self.unlisted or self.gone)

    def as_json(self) -> str:
        """The gaps for the thread row: counts, and up to SHOWN_AT_MOST ids of each kind."""
        return dumps(
            {
                kind: {"count": len(ids), "ids": list(ids[:SHOWN_AT_MOST])}
                for kind, ids in (
                    ("missing", self.missing),
                    ("unlisted", self.unlisted),
                    ("gone", self.gone),
                )
                if ids
            }
        )


class Listing:
    """What one ListMessages run of a thread showed, gathered a page at a time."""

    def __init__(self) -> None:
        self._shown: list[tuple[int, str | None]] = []

    def add(self, items: Sequence[Any], system: Sequence[bool]) -> None:
        """A page of raw ListMessages items, and which of them are system messages."""
        for item, is_system in zip(items, system, strict=True):
            sequence = sequence_of(item)
            if sequence is not None:
                self._shown.append((sequence, None if is_system else str(item.get("id"))))

    def against(self, archived: Collection[str]) -> Gaps:
        """The gaps between this listing and the message ids the archive held."""
        return gaps(self._shown, archived)


def sequence_of(item: Any) -> int | None:
    """A listed message's sequenceId (ACS sends it as a string), or None."""
    value = item.get("sequenceId") if isinstance(item, dict) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def gaps(listed: Iterable[tuple[int, str | None]], archived: Collection[str]) -> Gaps:
    """The gaps between what ACS listed, `(sequenceId, messageId)` with None for a system
    message, and the message ids the archive held before the run."""
    shown: dict[int, str | None] = dict(listed)
    acs_messages = {message for message in shown.values() if message is not None}
    highest = max(shown, default=0)
    return Gaps(
        missing=tuple(
            sorted(
                s for s, message in shown.items() if message is not None and message not in archived
            )
        ),
        unlisted=tuple(s for s in range(1, highest + 1) if s not in shown),
        gone=tuple(sorted(set(archived) - acs_messages)),
    )
