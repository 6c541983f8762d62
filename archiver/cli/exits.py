"""The exit codes of `python -m archiver`, the same for every command, for scripts to trust.

- 0: done.
- 1: done, but something needs attention: verify found problems, events were
  dead-lettered, a thread could not be archived, a blob was left unreplayed.
- 2: a bad argument or setting (missing, invalid). Nothing was done.
- 3: not found: the thread, message or container does not exist.
- 4: a service (storage or ACS) was unavailable; nothing was lost, run it again later.
- 5: untrusted: seals were checked only against keys found in the archive, which anyone
  who can write to it could have put there; nothing altered was found, nothing is proved.
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    """How a command ended."""

    OK = 0
    PROBLEM = 1
    USAGE = 2
    NOT_FOUND = 3
    UNAVAILABLE = 4
    UNTRUSTED = 5
    INTERRUPTED = 130
