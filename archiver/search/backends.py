"""The index ARCHIVE_SEARCH names, built: the local SQLite file, or Azure AI Search."""

from __future__ import annotations

from pathlib import Path

from archiver.core.errors import ConfigurationError
from archiver.core.searchsettings import Backend, SearchSettings
from archiver.search.indexes import Indexes
from archiver.search.localindex import LocalIndex
from archiver.search.ports import SearchIndex
from archiver.storage.clients import credential_for


def index_for(
    search: SearchSettings,
    *,
    origin: str,
    index_file: Path | None = None,
    client_id: str | None = None,
) -> SearchIndex:
    """The index of `search` (a local file when `index_file` is given: the CLI's
    --index), Azure AI Search as the identity `client_id` (ARCHIVE_STORAGE__clientId;
    None: DefaultAzureCredential); raise ConfigurationError when search is off."""
    if index_file is not None or search.backend == Backend.LOCAL:
        return LocalIndex(index_file or search.index_file, origin=origin)
    if search.backend == Backend.AISEARCH and search.endpoint is not None:
        # Imported here: azure-search-documents is only needed with Azure AI Search.
        from archiver.search.azure.index import AiSearchIndex

        return AiSearchIndex(
            search.endpoint,
            search.index_name,
            credential=credential_for(client_id),
            owns_credential=True,
        )
    raise ConfigurationError(
        "search is off (ARCHIVE_SEARCH=off): set ARCHIVE_SEARCH=local, or =aisearch with "
        "ARCHIVE_SEARCH_ENDPOINT, or give `archiver search` an --index file"
    )


def indexes_for(search: SearchSettings, *, origin: str, client_id: str | None) -> Indexes | None:
    """The indexes the app keeps for ARCHIVE_SEARCH (None when it is off): with Azure AI
    Search, the conversation windows' index too."""
    if search.backend == Backend.OFF:
        return None
    messages = index_for(search, origin=origin, client_id=client_id)
    if search.backend != Backend.AISEARCH:
        return Indexes(messages)
    from archiver.search.azure.windows import WindowIndex

    return Indexes(messages, WindowIndex.of(search, credential=credential_for(client_id)))
