"""The order of message versions: which of two versions of a message is newer.

Newer means a higher `version`; at equal versions deleted > edited > received, so a
deletion is never undone by an edit that carries the same version number.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver.core.records import Action

_RANK = {Action.RECEIVED: 0, Action.EDITED: 1, Action.DELETED: 2}


@dataclass(frozen=True, order=True)
class Stamp:
    """A version's position in the order of its message's versions."""

    version: int
    rank: int

    @classmethod
    def of(cls, version: int, action: Action) -> Stamp:
        """The stamp of `version` with `action`."""
        return cls(version, _RANK[action])


# Below every real stamp: a row that cannot be read back is replaced, not trusted.
UNREADABLE = Stamp(-1, -1)


def supersedes(candidate: Stamp, current: Stamp) -> bool:
    """True when `candidate` is strictly newer than `current`."""
    return candidate > current
