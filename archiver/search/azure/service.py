"""One index of an Azure AI Search service, through the azure-search-documents SDK, as
the app's Microsoft Entra identity (no API keys: the service has local auth off).

Writes go in batches within the service's push limits (1,000 documents, 16 MB a
request; here at most 1 MiB, below which aiohttp sends a body without holding up the
event loop) and each document's own status is checked; keys are paged by `$filter key gt
last` and `$orderby key`, never `$skip` (capped at 100,000). The SDK's errors are
translated here, once, into archiver.core.errors: 401/403 is a ConfigurationError that
names the role to grant, a missing index one that names ARCHIVE_SEARCH_INDEX, a refused
query an InvalidQuery (400: never a 5xx for what a user asked), throttling, 5xx and
timeouts SearchUnavailable (503).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
from azure.search.documents.aio import SearchClient
from azure.search.documents.indexes.aio import SearchIndexClient
from azure.search.documents.indexes.models import SearchIndex
from azure.search.documents.models import IndexAction, IndexDocumentsBatch

from archiver.core.errors import ConfigurationError, InvalidQuery, SearchUnavailable
from archiver.search.azure.query import literal

MAX_BATCH_DOCUMENTS = 1000
# The service takes 16 MB a request; aiohttp sends a body over 1 MiB only with a warning
# that it may hold up the event loop, so a batch stays under that (an ACS message is at
# most 28 KB: a batch of 1,000 chat messages is rarely larger).
MAX_BATCH_BYTES = 1024 * 1024 - 16 * 1024
PAGE = 1000  # keys listed per request: the most a search returns at once
CONTRIBUTOR = "Search Index Data Contributor"
# Bounded retries: a search is a user waiting, a write a job that is delivered again.
CLIENT_OPTIONS = {"retry_total": 3, "retry_backoff_max": 4, "connection_timeout": 5,
                  "read_timeout": 30}  # fmt: skip


class ServiceIndex:
    """The index `name` of the search service at `endpoint`."""

    def __init__(self, endpoint: str, name: str, *, credential: Any, **client_options: Any):
        """`client_options` go to the SDK's clients as they are (a transport, retries)."""
        self.endpoint = endpoint.rstrip("/")
        self.name = name
        self._credential = credential
        self._options = CLIENT_OPTIONS | client_options
        self._documents: SearchClient | None = None

    @property
    def documents(self) -> SearchClient:
        """The SDK's client of this index's documents, made once."""
        if self._documents is None:
            self._documents = SearchClient(
                self.endpoint, self.name, self._credential, **self._options
            )
        return self._documents

    async def define(self, index: SearchIndex) -> None:
        """Create the index, or update it to this definition (adding fields only)."""
        admin = SearchIndexClient(self.endpoint, self._credential, **self._options)
        async with admin, self.faults("defining the index", role="Search Service Contributor"):
            await admin.create_or_update_index(index)

    async def write(
        self, action: str, documents: Sequence[dict[str, Any]], *, missing_ok: bool = False
    ) -> None:
        """Apply `action` (mergeOrUpload, merge, delete) to the documents, in batches;
        a merge of a document the index does not hold is skipped when `missing_ok`."""
        for batch in batches(documents):
            actions = [IndexAction({"@search.action": action, **document}) for document in batch]
            async with self.faults(f"writing documents ({action})"):
                results = await self.documents.index_documents(IndexDocumentsBatch(actions=actions))
            failed = [
                r for r in results if not r.succeeded and not (missing_ok and r.status_code == 404)
            ]
            if failed:
                first = failed[0]
                error = SearchUnavailable if first.status_code in (429, 503) else ConfigurationError
                raise error(
                    f"Azure AI Search refused {len(failed)} of {len(actions)} documents of index "
                    f"{self.name!r} ({first.status_code}: {first.error_message})"
                )

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete these documents (a key the index does not hold is no error)."""
        await self.write("delete", [{"key": key} for key in keys])

    async def keys(self, where: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every document `where` admits, in key order, with its key and name fields."""
        last: str | None = None
        while True:
            clauses = [c for c in (where, None if last is None else f"key gt {literal(last)}") if c]
            async with self.faults("listing documents"):
                found = [
                    hit
                    async for hit in await self.documents.search(
                        search_text="*",
                        filter=" and ".join(clauses) or None,
                        order_by=["key asc"],
                        select=["key"],
                        top=PAGE,
                    )
                ]
            for hit in found:
                yield hit
            if len(found) < PAGE:
                return
            last = found[-1]["key"]

    async def close(self) -> None:
        """Close the documents' client (the credential is its owner's)."""
        if self._documents is not None:
            documents, self._documents = self._documents, None
            await documents.close()

    @asynccontextmanager
    async def faults(
        self, doing: str, *, query: bool = False, role: str = CONTRIBUTOR
    ) -> AsyncIterator[None]:
        """Translate what the SDK raises while `doing` into archiver.core.errors."""
        try:
            yield
        except AzureError as exc:
            raise translated(
                exc, doing=f"{doing} in index {self.name!r}", query=query, role=role
            ) from exc


def translated(exc: AzureError, *, doing: str, query: bool, role: str) -> Exception:
    """The archiver's error for an SDK error."""
    status = exc.status_code if isinstance(exc, HttpResponseError) else None
    message = _message(exc)
    if status in (401, 403) or (status is None and isinstance(exc, ClientAuthenticationError)):
        return ConfigurationError(
            f"Azure AI Search refused the app's identity ({status or 'no token'}) {doing}: "
            f"grant it the role '{role}' on the search service (API keys are off: the "
            f"service accepts Microsoft Entra ID only). {message}"
        )
    if status == 404:
        return ConfigurationError(
            f"Azure AI Search has no such index ({doing}): check ARCHIVE_SEARCH_ENDPOINT and "
            f"ARCHIVE_SEARCH_INDEX; the app creates the index when it prepares. {message}"
        )
    if status is not None and 400 <= status < 500 and status != 429:
        if query:
            return InvalidQuery(f"the search service refused the query ({status}): {message}")
        return ConfigurationError(
            f"Azure AI Search refused {doing} ({status}): {message} (is ARCHIVE_SEARCH_INDEX "
            "an index this archiver made?)"
        )
    return SearchUnavailable(f"Azure AI Search did not answer {doing} ({status or exc}): {message}")


def batches(documents: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The documents in batches of at most MAX_BATCH_DOCUMENTS and MAX_BATCH_BYTES."""
    batch: list[dict[str, Any]] = []
    size = 0
    for document in documents:
        weight = len(json.dumps(document, ensure_ascii=False).encode("utf-8")) + 64
        if batch and (len(batch) == MAX_BATCH_DOCUMENTS or size + weight > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(document)
        size += weight
    if batch:
        yield batch


def _message(exc: AzureError) -> str:
    error = getattr(exc, "error", None)
    found = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    return str(found).splitlines()[0][:300]
