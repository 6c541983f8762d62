"""A spool: pages of transcript entries on disk, read back last page first.

ACS lists a thread newest first; a transcript reads oldest first. Pages go to a
temporary file as they arrive and are read back in reverse, each reversed, so a thread
of any length is turned around in the memory of one page.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import IO, Any


class Spool:
    """Pages of entries, newest first in, oldest first out; use with `with`."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._offsets: list[int] = []

    def __enter__(self) -> Spool:
        self._file = tempfile.TemporaryFile()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, entries: list[dict[str, Any]]) -> None:
        """Keep one page, newest entry first."""
        spool = self._opened()
        spool.seek(0, 2)
        self._offsets.append(spool.tell())
        spool.write(json.dumps(entries).encode() + b"\n")

    async def oldest_first(self) -> AsyncIterator[dict[str, Any]]:
        """Every entry kept, oldest first; can be read again."""
        for page in self._pages():
            for item in reversed(page):
                yield item

    def _pages(self) -> Iterator[list[dict[str, Any]]]:
        spool = self._opened()
        for offset in reversed(self._offsets):
            spool.seek(offset)
            page: list[dict[str, Any]] = json.loads(spool.readline())
            yield page

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            raise RuntimeError("a spool is used inside `with`")
        return self._file
