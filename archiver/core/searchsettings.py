"""The settings of search: which index the app keeps and answers `GET /api/search`
from, and where that index is; with Azure AI Search, the Azure OpenAI embedding
deployment that vectorizes its conversation windows (optional)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from archiver.core.errors import ConfigurationError

DEFAULT_INDEX_FILE = Path("chat-search.sqlite3")
DEFAULT_INDEX_NAME = "chat-messages"
# Where the archive account's BlobCreated events for new versions arrive (Event Grid
# delivers them to this queue; the `index_versions` function reads it).
DEFAULT_QUEUE = "chat-index"
_QUEUE_NAME = re.compile(r"^(?=.{3,57}$)[a-z0-9]+(-[a-z0-9]+)*$")  # room for "-poison"
WINDOWS_SUFFIX = "-windows"  # the conversation windows' index: `{ARCHIVE_SEARCH_INDEX}-windows`
# Azure AI Search's azureOpenAI vectorizer knows these models, each with its most
# dimensions (text-embedding-3 models may be shortened; ada-002 is always 1536).
EMBEDDING_MODELS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
_INDEX_NAME = re.compile(r"^(?=.{2,128}$)[a-z0-9][a-z0-9-]*[a-z0-9]$")  # AI Search's rule
# https only: the app's identity sends its bearer token there (a stand-in listens on any host).
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$")


class Backend(StrEnum):
    """Which index the app keeps."""

    OFF = "off"  # none: search with `archiver index` and `archiver search` on a local file
    LOCAL = "local"  # a SQLite FTS5 file (the local host; one machine only)
    AISEARCH = "aisearch"  # an Azure AI Search service, written as versions arrive


@dataclass(frozen=True, kw_only=True)
class EmbeddingSettings:
    """The Azure OpenAI embedding deployment the windows' vectors come from: the app
    embeds each window with it, and the search service embeds each query with it."""

    endpoint: str  # AZURE_OPENAI_ENDPOINT: https://{account}.openai.azure.com
    deployment: str
    model: str = DEFAULT_EMBEDDING_MODEL
    dimensions: int = EMBEDDING_MODELS[DEFAULT_EMBEDDING_MODEL]


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """ARCHIVE_SEARCH and where its index is."""

    backend: Backend = Backend.OFF
    index_file: Path = DEFAULT_INDEX_FILE
    endpoint: str | None = None  # https://{service}.search.windows.net
    index_name: str = DEFAULT_INDEX_NAME
    queue: str = DEFAULT_QUEUE
    embedding: EmbeddingSettings | None = None  # None: windows without vectors

    @property
    def windows_index_name(self) -> str:
        """The index of conversation windows, beside the messages' index."""
        return self.index_name + WINDOWS_SUFFIX


def read_search(values: Mapping[str, str]) -> SearchSettings:
    """ARCHIVE_SEARCH, ARCHIVE_SEARCH_INDEX_FILE, ARCHIVE_SEARCH_ENDPOINT,
    ARCHIVE_SEARCH_INDEX and ARCHIVE_SEARCH_QUEUE; raise ConfigurationError naming the
    setting."""
    text = values.get("ARCHIVE_SEARCH", "").strip().lower() or Backend.OFF
    if text not in set(Backend):
        raise ConfigurationError(
            f"ARCHIVE_SEARCH must be one of {', '.join(Backend)}, got {text!r}"
        )
    backend = Backend(text)
    index_file = Path(values.get("ARCHIVE_SEARCH_INDEX_FILE", "").strip() or DEFAULT_INDEX_FILE)
    name = values.get("ARCHIVE_SEARCH_INDEX", "").strip() or DEFAULT_INDEX_NAME
    if not _INDEX_NAME.match(name + WINDOWS_SUFFIX):
        raise ConfigurationError(
            f"ARCHIVE_SEARCH_INDEX must be 2-{128 - len(WINDOWS_SUFFIX)} lower-case letters, "
            "digits and hyphens (its windows' index adds -windows), "
            f"starting and ending with a letter or digit, got {name!r}"
        )
    endpoint = values.get("ARCHIVE_SEARCH_ENDPOINT", "").strip() or None
    if endpoint is not None and not _HTTPS.match(endpoint):
        raise ConfigurationError(
            "ARCHIVE_SEARCH_ENDPOINT must be the search service's https:// address "
            f"(https://{{service}}.search.windows.net), got {endpoint!r}"
        )
    if backend == Backend.AISEARCH and endpoint is None:
        raise ConfigurationError("ARCHIVE_SEARCH=aisearch needs ARCHIVE_SEARCH_ENDPOINT")
    queue = values.get("ARCHIVE_SEARCH_QUEUE", "").strip() or DEFAULT_QUEUE
    if not _QUEUE_NAME.match(queue):
        raise ConfigurationError(
            "ARCHIVE_SEARCH_QUEUE must be 3-57 lower-case letters, digits and single hyphens, "
            f"got {queue!r}"
        )
    return SearchSettings(
        backend=backend,
        index_file=index_file,
        endpoint=endpoint,
        index_name=name,
        queue=queue,
        embedding=_embedding(values, backend),
    )


def _embedding(values: Mapping[str, str], backend: Backend) -> EmbeddingSettings | None:
    """ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT with AZURE_OPENAI_ENDPOINT,
    ARCHIVE_SEARCH_EMBEDDING_MODEL and ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS."""
    deployment = values.get("ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT", "").strip()
    if not deployment:
        return None
    if backend != Backend.AISEARCH:
        raise ConfigurationError(
            "ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT needs ARCHIVE_SEARCH=aisearch: only Azure AI "
            "Search keeps the conversation windows' vectors"
        )
    endpoint = values.get("AZURE_OPENAI_ENDPOINT", "").strip()
    if not _HTTPS.match(endpoint):
        raise ConfigurationError(
            "ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT needs AZURE_OPENAI_ENDPOINT, the Azure OpenAI "
            f"account's https:// address (https://{{account}}.openai.azure.com), got {endpoint!r}"
        )
    model = values.get("ARCHIVE_SEARCH_EMBEDDING_MODEL", "").strip() or DEFAULT_EMBEDDING_MODEL
    if model not in EMBEDDING_MODELS:
        raise ConfigurationError(
            f"ARCHIVE_SEARCH_EMBEDDING_MODEL must be one of {', '.join(EMBEDDING_MODELS)} "
            f"(the models Azure AI Search vectorizes queries with), got {model!r}"
        )
    most = EMBEDDING_MODELS[model]
    text = values.get("ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS", "").strip() or str(most)
    fixed = model == "text-embedding-ada-002"
    if not text.isdigit() or not (1 <= int(text) <= most) or (fixed and int(text) != most):
        allowed = str(most) if fixed else f"1 to {most}"
        raise ConfigurationError(
            f"ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS must be {allowed} for {model}, got {text!r}"
        )
    return EmbeddingSettings(
        endpoint=endpoint.rstrip("/"), deployment=deployment, model=model, dimensions=int(text)
    )
