"""What this process already knows storage holds, so repeats cost no storage requests.

Per-user fan-out and redelivery send the same version many times, mostly within
seconds. Two facts about the archive never stop being true once seen: a blob, once
stored, stays (the archive is append-only), and a latest row only moves to newer
versions. So the archiver remembers, in a bounded memory per process:

- the blob names it has seen archived (the blob stored and, for a message version,
  the row advanced to that version or beyond): a repeat of one needs no request;
- the last stamp and ETag it saw for each row: the row is at least that new, and the
  ETag lets the next version replace it without reading it first. If another writer
  moved the row on meanwhile, the conditional replace fails and the archiver reads.
- the last thread row and ETag it saw for each thread: thread rows only ever gain
  facts (archiver.core.threads), so what it knows is at most out of date, never wrong, and
  a message that adds nothing new to its thread costs no thread request.
- the threads whose activity this hour is recorded (archiver.core.activity): only the
  first delivery to a thread in an hour records it.

A fact is recorded only after storage confirmed it, so a crash or a failed request
leaves nothing behind that a redelivery would wrongly skip. Pure data, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from archiver.storage.ports import Current, Known

# ~200 bytes an entry: a few MiB per process, far more than the repeats of one minute.
DEFAULT_CAPACITY = 20_000
# A thread row can hold hundreds of participants; fewer of them are kept.
DEFAULT_THREAD_CAPACITY = 1_000


class Ledger:
    """Bounded memories of archived blob names and of row states, newest kept."""

    def __init__(
        self, *, capacity: int = DEFAULT_CAPACITY, thread_capacity: int = DEFAULT_THREAD_CAPACITY
    ) -> None:
        self._capacity = capacity
        self._thread_capacity = thread_capacity
        self._archived: OrderedDict[str, None] = OrderedDict()
        self._rows: OrderedDict[tuple[str, str], Current] = OrderedDict()
        self._threads: OrderedDict[str, Known] = OrderedDict()
        self._hour = ""
        self._active: set[str] = set()

    def archived(self, name: str) -> bool:
        """True when the blob `name` is known stored (with its row advanced)."""
        if name in self._archived:
            self._archived.move_to_end(name)
            return True
        return False

    def note_archived(self, names: Iterable[str]) -> None:
        """Remember that storage confirmed these blobs (and their rows)."""
        for name in names:
            self._archived[name] = None
            self._archived.move_to_end(name)
        _trim(self._archived, self._capacity)

    def row(self, thread_key: str, message_key: str) -> Current | None:
        """The row's last seen stamp and ETag, or None when not known."""
        key = (thread_key, message_key)
        found = self._rows.get(key)
        if found is not None:
            self._rows.move_to_end(key)
        return found

    def note_row(self, thread_key: str, message_key: str, current: Current) -> None:
        """Remember a row state storage just reported or accepted."""
        key = (thread_key, message_key)
        self._rows[key] = current
        self._rows.move_to_end(key)
        _trim(self._rows, self._capacity)

    def forget_row(self, thread_key: str, message_key: str) -> None:
        """Drop what is known of a row (its ETag turned out stale or unknown)."""
        self._rows.pop((thread_key, message_key), None)

    def unrecorded(self, hour: str, thread_keys: Iterable[str]) -> set[str]:
        """Which of these threads have no activity recorded in `hour` by this process."""
        known = self._active if hour == self._hour else set()
        return {key for key in thread_keys if key not in known}

    def note_active(self, hour: str, thread_keys: Iterable[str]) -> None:
        """Remember that storage recorded these threads' activity in `hour` (only the
        newest hour is kept: a thread a process saw last hour is recorded again)."""
        if hour > self._hour:
            self._hour, self._active = hour, set()
        if hour == self._hour:
            self._active.update(thread_keys)

    def thread(self, thread_key: str) -> Known | None:
        """The thread row and ETag last seen, or None when not known."""
        found = self._threads.get(thread_key)
        if found is not None:
            self._threads.move_to_end(thread_key)
        return found

    def note_thread(self, known: Known) -> None:
        """Remember a thread row storage just returned or accepted."""
        key = known.row.thread_key
        self._threads[key] = known
        self._threads.move_to_end(key)
        _trim(self._threads, self._thread_capacity)

    def forget_thread(self, thread_key: str) -> None:
        """Drop what is known of a thread row (its ETag turned out stale or unknown)."""
        self._threads.pop(thread_key, None)


def _trim(
    memory: OrderedDict[str, None]
    | OrderedDict[tuple[str, str], Current]
    | OrderedDict[str, Known],
    size: int,
) -> None:
    while len(memory) > size:
        memory.popitem(last=False)
