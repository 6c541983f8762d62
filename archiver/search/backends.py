"""The index ARCHIVE_SEARCH names, built: the local SQLite file, or Azure AI Search."""

from __future__ import annotations

from pathlib import Path

from archiver.core.errors import ConfigurationError
from archiver.core.searchsettings import Backend, SearchSettings
from archiver.search.localindex import LocalIndex
from archiver.search.ports import SearchIndex


def index_for(
    search: SearchSettings, *, origin: str, index_file: Path | None = None
) -> SearchIndex:
    """The index of `search` (a local file when `index_file` is given: the CLI's
    --index); raise ConfigurationError when search is off."""
    if index_file is not None or search.backend == Backend.LOCAL:
        return LocalIndex(index_file or search.index_file, origin=origin)
    if search.backend == Backend.AISEARCH:
        raise ConfigurationError("ARCHIVE_SEARCH=aisearch is not available in this build")
    raise ConfigurationError(
        "search is off (ARCHIVE_SEARCH=off): set ARCHIVE_SEARCH=local, or =aisearch with "
        "ARCHIVE_SEARCH_ENDPOINT, or give `archiver search` an --index file"
    )
