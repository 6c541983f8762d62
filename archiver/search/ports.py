"""The port every search index implements: the local SQLite FTS5 file and Azure AI
Search both pass tests/search/test_index_contract.py.

Documents are keyed by their blob's name and written whole (`put` again is the same
document: versions are immutable); a message's standing is written onto the documents
named (`restand`); threads and single versions leave by name (`forget_threads`,
`forget`). `search` answers a checked Query with hits best first, at most its limit,
without citations (archiver.search.citing adds them from the archive).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

from archiver.core.search.citations import Hit
from archiver.core.search.documents import SearchDocument, Standing
from archiver.core.search.queries import Query


class SearchIndex(Protocol):
    """An index of message versions."""

    async def prepare(self) -> None:
        """Create the index if it is not there yet (idempotent)."""
        ...

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        """Add these documents, or write them again over themselves."""
        ...

    async def restand(self, messages: Sequence[tuple[Collection[str], Standing]]) -> None:
        """Write each message's standing onto its documents (the names of all its
        versions), all in one go."""
        ...

    async def forget_threads(self, thread_keys: Collection[str]) -> None:
        """Remove every document of these threads (disposed of, or erased)."""
        ...

    async def forget(self, names: Collection[str]) -> None:
        """Remove these documents (versions no longer readable)."""
        ...

    async def known(self) -> set[str]:
        """The name of every document the index holds (what an update need not read)."""
        ...

    async def search(self, query: Query) -> list[Hit]:
        """The documents `query` finds, best first."""
        ...

    async def close(self) -> None:
        """Release what the index holds open."""
        ...


@runtime_checkable
class Marked(SearchIndex, Protocol):
    """An index that keeps marks of its own (where its last update stopped): one that an
    update can bring up to date from what changed since, not from a listing of all."""

    async def mark(self, name: str) -> str | None:
        """The mark `name` (None before it is first set)."""
        ...

    async def set_mark(self, name: str, value: str) -> None:
        """Set the mark `name`, in the same file as the documents."""
        ...
