"""The index in Azure: an Azure AI Search index of every message version, written by push
(no indexer: the blob indexer runs every 5 minutes at best and knows nothing of
versions), so new text is searchable within seconds of its archiving.

Each version blob is one document, keyed by its name (archiver.search.azure.schema),
written with mergeOrUpload: a version written again stays the same document and keeps
its standing, which only `restand` writes (a merge of `current` and `deleted`; a version
not in the index yet is skipped, and gets its standing when its own chunk is written).
A thread's documents are found by a filtered search and deleted; `known` pages names in
order. `search` asks in the simple syntax with searchMode `all`, every word quoted
(archiver.search.azure.query), the filters in OData, `text` highlighted with the local
index's marks, best first. Everything the service answers is translated in
archiver.search.azure.service.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from archiver.core.search.citations import Hit
from archiver.core.search.documents import SearchDocument, Standing, search_key
from archiver.core.search.queries import Query
from archiver.search.azure.query import literal, odata_filter, search_text
from archiver.search.azure.schema import message_fields, message_of, messages_index
from archiver.search.azure.service import PAGE, ServiceIndex
from archiver.search.localindex import MARK

SNIPPET_FRAGMENTS = 2
SNIPPET_CHARACTERS = 200  # of the text, when the service highlighted nothing
_FIELDS = [
    "name", "sha256", "size", "threadId", "threadKey", "messageId", "messageKey", "version",
    "action", "time", "senderId", "senderName", "senderKind", "text", "current", "deleted",
]  # fmt: skip


class AiSearchIndex:
    """A SearchIndex in the Azure AI Search index `name` at `endpoint`, as `credential`
    (the app's identity; closed with the index when `owns_credential`)."""

    def __init__(
        self,
        endpoint: str,
        name: str,
        *,
        credential: Any,
        owns_credential: bool = False,
        **client_options: Any,
    ) -> None:
        self._service = ServiceIndex(endpoint, name, credential=credential, **client_options)
        self._credential = credential if owns_credential else None

    async def prepare(self) -> None:
        await self._service.define(messages_index(self._service.name))

    async def put(self, documents: Sequence[SearchDocument]) -> None:
        await self._service.write("mergeOrUpload", [message_fields(d) for d in documents])

    async def restand(self, messages: Sequence[tuple[Collection[str], Standing]]) -> None:
        merged = [
            {"key": search_key(n), "current": n == standing.current, "deleted": standing.deleted}
            for names, standing in messages
            for n in sorted(names)
        ]
        await self._service.write("merge", merged, missing_ok=True)

    async def forget_threads(self, thread_keys: Collection[str]) -> None:
        for thread_key in sorted(thread_keys):
            found = [
                hit["key"]
                async for hit in self._service.keys(f"threadKey eq {literal(thread_key)}")
            ]
            await self._service.delete(found)

    async def forget(self, names: Collection[str]) -> None:
        await self._service.delete([search_key(name) for name in sorted(names)])

    async def known(self) -> set[str]:
        names: set[str] = set()
        last: str | None = None
        while True:
            async with self._service.faults("listing document names"):
                found = [
                    hit["name"]
                    async for hit in await self._service.documents.search(
                        search_text="*",
                        filter=None if last is None else f"name gt {literal(last)}",
                        order_by=["name asc"],
                        select=["name"],
                        top=PAGE,
                    )
                ]
            names.update(found)
            if len(found) < PAGE:
                return names
            last = found[-1]

    async def search(self, query: Query) -> list[Hit]:
        async with self._service.faults("searching", query=True):
            found = [
                hit
                async for hit in await self._service.documents.search(
                    search_text=search_text(query.terms),
                    query_type="simple",
                    search_mode="all",
                    search_fields=["text"],
                    filter=odata_filter(query),
                    highlight_fields="text",
                    highlight_pre_tag=MARK[0],
                    highlight_post_tag=MARK[1],
                    select=_FIELDS,
                    order_by=["search.score() desc", "name asc"],
                    top=query.limit,
                )
            ]
        return [_hit(found_hit) for found_hit in found]

    async def close(self) -> None:
        await self._service.close()
        if self._credential is not None:
            credential, self._credential = self._credential, None
            await credential.close()


def _hit(found: dict[str, Any]) -> Hit:
    document = message_of(found)
    highlights = (found.get("@search.highlights") or {}).get("text") or []
    snippet = " … ".join(highlights[:SNIPPET_FRAGMENTS]) or document.text[:SNIPPET_CHARACTERS]
    return Hit(document=document, snippet=snippet, score=float(found.get("@search.score") or 0.0))
