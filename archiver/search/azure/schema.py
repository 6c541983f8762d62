"""The two Azure AI Search indexes the archiver keeps, and its records as their documents.

The messages' index holds one document per version blob, keyed by the blob name in
URL-safe base64 (search_key): every field the local index has, the sender's display
name once more in lower case (participants match in any case, and a filterable field
compares exactly), and `text` searched with the standard Lucene analyzer. The windows'
index holds conversation windows (archiver.core.search.windows) for Azure OpenAI and
Foundry agents: `text` searched and ranked semantically (configuration
`windows-semantic`) and, when an embedding deployment is set, `contentVector` with the
vector profile `windows-vector`, whose `azureOpenAI` vectorizer embeds each query with
the same deployment the app embedded each window with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.search.documents.indexes.models import (
    AzureOpenAIVectorizer,
    AzureOpenAIVectorizerParameters,
    HnswAlgorithmConfiguration,
    SearchableField,
    SearchField,
    SearchIndex,
    SemanticConfiguration,
    SemanticField,
    SemanticPrioritizedFields,
    SemanticSearch,
    SimpleField,
    VectorSearch,
    VectorSearchProfile,
)

from archiver.core.search.documents import SearchDocument, search_key
from archiver.core.search.windows import Window
from archiver.core.searchsettings import EmbeddingSettings
from archiver.search.azure.query import moment

ANALYZER = "standard.lucene"
SEMANTIC = "windows-semantic"
VECTOR_PROFILE = "windows-vector"
VECTORIZER = "windows-openai"
_HNSW = "windows-hnsw"
STANDING = ("current", "deleted")  # written by restand only, never by put
_STRING, _INT, _TIME, _BOOL = "Edm.String", "Edm.Int64", "Edm.DateTimeOffset", "Edm.Boolean"
_STRINGS = "Collection(Edm.String)"


def messages_index(name: str) -> SearchIndex:
    """The messages' index definition."""

    def simple(field: str, kind: str = _STRING, **options: bool) -> SearchField:
        return SimpleField(name=field, type=kind, filterable=True, **options)

    return SearchIndex(
        name=name,
        fields=[
            simple("key", key=True, sortable=True),
            simple("name", sortable=True),
            simple("sha256"),
            simple("size", _INT),
            simple("threadId"),
            simple("threadKey"),
            simple("messageId"),
            simple("messageKey"),
            simple("version", _INT, sortable=True),
            simple("action"),
            simple("time", _TIME, sortable=True),
            simple("senderId"),
            simple("senderName"),
            simple("senderNameLower"),
            simple("senderKind"),
            SearchableField(name="text", analyzer_name=ANALYZER),
            simple("current", _BOOL),
            simple("deleted", _BOOL),
        ],
    )


def windows_index(name: str, embedding: EmbeddingSettings | None) -> SearchIndex:
    """The windows' index definition: a vector field and its vectorizer only with an
    embedding deployment."""
    fields = [
        SimpleField(name="key", type=_STRING, key=True, filterable=True, sortable=True),
        SimpleField(name="threadId", type=_STRING, filterable=True),
        SimpleField(name="threadKey", type=_STRING, filterable=True),
        SimpleField(name="ordinal", type=_INT, filterable=True, sortable=True),
        SimpleField(name="start", type=_TIME, filterable=True, sortable=True),
        SimpleField(name="end", type=_TIME, filterable=True, sortable=True),
        SimpleField(name="messageIds", type=_STRINGS, filterable=True),
        SimpleField(name="blobs", type=_STRINGS, filterable=True),
        SimpleField(name="senders", type=_STRINGS, filterable=True),
        SearchableField(name="text", analyzer_name=ANALYZER),
    ]
    semantic = SemanticSearch(
        default_configuration_name=SEMANTIC,
        configurations=[
            SemanticConfiguration(
                name=SEMANTIC,
                prioritized_fields=SemanticPrioritizedFields(
                    content_fields=[SemanticField(field_name="text")]
                ),
            )
        ],
    )
    if embedding is None:
        return SearchIndex(name=name, fields=fields, semantic_search=semantic)
    fields.append(
        SearchField(
            name="contentVector",
            type="Collection(Edm.Single)",
            searchable=True,
            retrievable=False,
            vector_search_dimensions=embedding.dimensions,
            vector_search_profile_name=VECTOR_PROFILE,
        )
    )
    vectors = VectorSearch(
        algorithms=[HnswAlgorithmConfiguration(name=_HNSW)],
        profiles=[
            VectorSearchProfile(
                name=VECTOR_PROFILE, algorithm_configuration_name=_HNSW, vectorizer_name=VECTORIZER
            )
        ],
        vectorizers=[
            AzureOpenAIVectorizer(
                vectorizer_name=VECTORIZER,
                # No key and no identity named: the search service's own identity, which
                # holds 'Cognitive Services OpenAI User' on the account (infra/app/search.bicep).
                parameters=AzureOpenAIVectorizerParameters(
                    resource_url=embedding.endpoint,
                    deployment_name=embedding.deployment,
                    model_name=embedding.model,
                ),
            )
        ],
    )
    return SearchIndex(name=name, fields=fields, semantic_search=semantic, vector_search=vectors)


def message_fields(document: SearchDocument) -> dict[str, Any]:
    """A message version's document, without its standing (restand writes that)."""
    d = document
    return {
        "key": search_key(d.name), "name": d.name, "sha256": d.sha256, "size": d.size,
        "threadId": d.thread_id, "threadKey": d.thread_key, "messageId": d.message_id,
        "messageKey": d.message_key, "version": d.version, "action": d.action,
        "time": None if d.time is None else moment(d.time), "senderId": d.sender_id,
        "senderName": d.sender_name,
        "senderNameLower": None if d.sender_name is None else d.sender_name.lower(),
        "senderKind": d.sender_kind, "text": d.text,
    }  # fmt: skip


def message_of(found: dict[str, Any]) -> SearchDocument:
    """The message version a search result holds."""
    time = found.get("time")
    return SearchDocument(
        name=found["name"], sha256=found["sha256"], size=int(found["size"]),
        thread_id=found["threadId"], thread_key=found["threadKey"],
        message_id=found["messageId"], message_key=found["messageKey"],
        version=int(found["version"]), action=found["action"],
        time=None if time is None else datetime.fromisoformat(time),
        sender_id=found.get("senderId"), sender_name=found.get("senderName"),
        sender_kind=found["senderKind"], text=found.get("text") or "",
        current=found.get("current") is True, deleted=found.get("deleted") is True,
    )  # fmt: skip


def window_fields(window: Window, vector: list[float] | None) -> dict[str, Any]:
    """A conversation window's document (its vector, when there is one)."""
    fields: dict[str, Any] = {
        "key": window.key, "threadId": window.thread_id, "threadKey": window.thread_key,
        "ordinal": window.ordinal,
        "start": None if window.start is None else moment(window.start),
        "end": None if window.end is None else moment(window.end),
        "messageIds": list(window.message_ids), "blobs": list(window.blobs),
        "senders": list(window.senders), "text": window.text,
    }  # fmt: skip
    if vector is not None:
        fields["contentVector"] = vector
    return fields
