"""The conversation windows' index in Azure AI Search: the knowledge source an Azure
OpenAI or Foundry agent grounds its answers on (docs: Search in Azure).

`rewindow` replaces a thread's windows with those its versions make now
(archiver.core.search.windows): each window is uploaded whole under its key (the
thread and its place), then the thread's windows past the new last one are deleted, so
a thread is never without windows while it is rewritten. With an embedding deployment,
each window carries the vector the app had it embedded with (archiver.search.azure.embeddings);
without one, the index has no vector field and keyword and semantic ranking still work.
`rewindow_threads` reads the threads from the archive first, for a job that has only
their keys. The windows hold current text only; the messages' index is what
investigators search, every version of it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from archiver.core.documents import version_of
from archiver.core.errors import DamagedArchive, Erased, NotFound
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import MESSAGES_PREFIX, content_sha256, message_blob_name
from archiver.core.search.documents import SearchDocument, document_of
from archiver.core.search.windows import windows
from archiver.core.searchsettings import EmbeddingSettings, SearchSettings
from archiver.search.azure.embeddings import Embedder
from archiver.search.azure.query import literal
from archiver.search.azure.schema import window_fields, windows_index
from archiver.search.azure.service import ServiceIndex
from archiver.storage.ports import Storage


class WindowIndex:
    """The windows' index `name` at `endpoint`, as `credential`; vectors from `embedder`
    when `embedding` is set (closed with the index when `owns_credential`)."""

    def __init__(
        self,
        endpoint: str,
        name: str,
        *,
        credential: Any,
        embedding: EmbeddingSettings | None = None,
        embedder: Embedder | None = None,
        owns_credential: bool = False,
        **client_options: Any,
    ) -> None:
        if (embedding is None) != (embedder is None):
            raise ValueError("an embedding deployment and its embedder go together")
        self._service = ServiceIndex(endpoint, name, credential=credential, **client_options)
        self._embedding = embedding
        self._embedder = embedder
        self._credential = credential if owns_credential else None

    @classmethod
    def of(cls, search: SearchSettings, *, credential: Any, **client_options: Any) -> WindowIndex:
        """The windows' index beside ARCHIVE_SEARCH_INDEX, embedded as ARCHIVE_SEARCH_EMBEDDING_*
        say (the credential is the app's identity, and the index's to close)."""
        if search.endpoint is None:
            raise AssertionError("aisearch settings carry ARCHIVE_SEARCH_ENDPOINT")
        embedding = search.embedding
        embedder = None if embedding is None else Embedder(embedding, credential=credential)
        return cls(
            search.endpoint,
            search.windows_index_name,
            credential=credential,
            embedding=embedding,
            embedder=embedder,
            owns_credential=True,
            **client_options,
        )

    async def prepare(self) -> None:
        """Create the index or bring it to this definition (idempotent)."""
        await self._service.define(windows_index(self._service.name, self._embedding))

    async def rewindow(self, thread_key: str, documents: Iterable[SearchDocument]) -> int:
        """Replace the windows of thread `thread_key` with those of its `documents` (every
        version the archive holds of it); the number of windows it has now."""
        made = windows(d for d in documents if d.thread_key == thread_key)
        vectors: list[list[float] | None] = [None] * len(made)
        if self._embedder is not None and made:
            vectors = list(await self._embedder.embed([w.text for w in made]))
        await self._service.write(
            "upload", [window_fields(w, v) for w, v in zip(made, vectors, strict=True)]
        )
        kept = {w.key for w in made}
        held = [
            hit["key"] async for hit in self._service.keys(f"threadKey eq {literal(thread_key)}")
        ]
        await self._service.delete([key for key in held if key not in kept])
        return len(made)

    async def rewindow_threads(self, storage: Storage, thread_keys: Iterable[str]) -> int:
        """Read each thread's versions from the archive and rewindow it (a thread the
        archive no longer holds loses its windows); the windows written."""
        written = 0
        for thread_key in thread_keys:
            written += await self.rewindow(thread_key, await _documents(storage, thread_key))
        return written

    async def forget_threads(self, thread_keys: Collection[str]) -> None:
        """Remove every window of these threads (disposed of, or erased)."""
        for thread_key in sorted(thread_keys):
            held = [
                hit["key"]
                async for hit in self._service.keys(f"threadKey eq {literal(thread_key)}")
            ]
            await self._service.delete(held)

    async def close(self) -> None:
        await self._service.close()
        if self._embedder is not None:
            await self._embedder.close()
        if self._credential is not None:
            credential, self._credential = self._credential, None
            await credential.close()


async def _documents(storage: Storage, thread_key: str) -> list[SearchDocument]:
    """The search documents of a thread's version blobs (one that does not read as its
    name says is left out: verify names it)."""
    found = []
    async for name in storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
        if not isinstance(entry(name), MessageBlob):
            continue
        try:
            stored, content = await storage.versions.both(name)
            version = version_of(json.loads(content), name=name)
        except (NotFound, ValueError, DamagedArchive, TypeError, Erased):
            continue
        if message_blob_name(version) == name:
            found.append(
                document_of(version, name=name, sha256=content_sha256(stored), size=len(stored))
            )
    return found
