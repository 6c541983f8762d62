"""The conversation windows' index, the knowledge source for Azure OpenAI and Foundry
agents: its definition has a vector field and an azureOpenAI vectorizer exactly when an
embedding deployment is set; a thread's windows are replaced whole, embedded by the
app's identity with that deployment (never with a key), and leave with the thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.errors import ConfigurationError
from archiver.core.events import classify
from archiver.core.keys import encode_key
from archiver.core.searchsettings import EmbeddingSettings
from archiver.search.azure.embeddings import Embedder
from archiver.search.azure.schema import SEMANTIC, VECTOR_PROFILE, windows_index
from archiver.search.azure.windows import WindowIndex
from archiver.storage.ports import Storage
from tests.aisearch_standin import AiSearchStandin, StandinCredential
from tests.builders import ALICE, BOB, message_event
from tests.embeddings_standin import EmbeddingsStandin, OpenAiCredential, vector
from tests.search.test_index_contract import version

NAME = "chat-messages-windows"
THREAD = "19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2"


def embedding(endpoint: str, **overrides: Any) -> EmbeddingSettings:
    return EmbeddingSettings(endpoint=endpoint, deployment="embeddings", dimensions=64, **overrides)


@pytest.fixture
async def services() -> AsyncIterator[tuple[AiSearchStandin, EmbeddingsStandin]]:
    async with AiSearchStandin() as search, EmbeddingsStandin() as openai:
        yield search, openai


def as_rest(index: Any) -> dict[str, Any]:
    return dict(index.as_dict())


def test_the_definition_has_a_vectorizer_only_when_an_embedding_deployment_is_set():
    plain = as_rest(windows_index(NAME, None))
    vectored = as_rest(windows_index(NAME, embedding("https://acct.openai.azure.com")))

    assert "vectorSearch" not in plain
    assert "contentVector" not in {f["name"] for f in plain["fields"]}
    assert plain["semantic"]["configurations"][0]["name"] == SEMANTIC
    [field] = [f for f in vectored["fields"] if f["name"] == "contentVector"]
    assert (field["dimensions"], field["vectorSearchProfile"]) == (64, VECTOR_PROFILE)
    [vectorizer] = vectored["vectorSearch"]["vectorizers"]
    assert vectorizer["kind"] == "azureOpenAI"
    assert vectorizer["azureOpenAIParameters"] == {
        "resourceUri": "https://acct.openai.azure.com",
        "deploymentId": "embeddings",
        "modelName": "text-embedding-3-small",
    }  # no apiKey, no authIdentity: the search service's own identity
    [profile] = vectored["vectorSearch"]["profiles"]
    assert profile["vectorizer"] == vectorizer["name"]


async def test_a_threads_windows_are_embedded_by_the_app_and_replaced_whole(services):
    search, openai = services
    openai_credential = OpenAiCredential()
    settings = embedding(openai.endpoint)
    windows = WindowIndex(
        search.endpoint, NAME, credential=StandinCredential(), embedding=settings,
        embedder=Embedder(settings, credential=openai_credential),
    )  # fmt: skip
    await windows.prepare()
    long = [
        version("t", f"m{n:02d}", n, "received", f"line {n} about refunds") for n in range(1, 21)
    ]

    written = await windows.rewindow("t", long)
    stored = search.indexes[NAME].documents
    shorter = await windows.rewindow("t", long[:3])
    await windows.close()

    assert written > 1
    assert len(stored) == shorter == 1
    [window] = stored.values()
    assert window["contentVector"] == vector(window["text"], 64)
    assert [text for request in openai.inputs for text in request][-1] == window["text"]
    assert window["messageIds"] == ["m01", "m02", "m03"]
    assert openai.api_keys == search.api_keys == 0
    assert set(openai_credential.scopes) == {("https://cognitiveservices.azure.com/.default",)}


async def test_windows_without_an_embedding_deployment_carry_no_vector(services):
    search, _ = services
    windows = WindowIndex(search.endpoint, NAME, credential=StandinCredential())
    await windows.prepare()

    await windows.rewindow("t", [version("t", "m1", 1, "received", "hello")])
    await windows.close()

    [window] = search.indexes[NAME].documents.values()
    assert "contentVector" not in window
    assert window["text"].endswith("Alice Example: hello")


async def test_a_deployment_that_is_not_there_is_a_configuration_error(services):
    search, openai = services
    settings = EmbeddingSettings(endpoint=openai.endpoint, deployment="gone", dimensions=64)
    windows = WindowIndex(
        search.endpoint, NAME, credential=StandinCredential(), embedding=settings,
        embedder=Embedder(settings, credential=OpenAiCredential()),
    )  # fmt: skip
    await windows.prepare()

    with pytest.raises(ConfigurationError, match="ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT"):
        await windows.rewindow("t", [version("t", "m1", 1, "received", "hello")])
    await windows.close()


async def test_windows_are_read_from_the_archive_and_leave_with_their_thread(
    services, storage: Storage
):
    search, _ = services
    events = [
        message_event("received", thread_id=THREAD, message_id="1700000000001", sender=ALICE,
                      body="Please refund order ALPHA", time="2026-11-02T09:00:00Z"),
        message_event("edited", thread_id=THREAD, message_id="1700000000001", sender=ALICE,
                      body="Please refund order BRAVO", time="2026-11-02T09:01:00Z"),
        message_event("received", thread_id=THREAD, message_id="1700000000002", sender=BOB,
                      body="<p>Refund <b>issued</b></p>", message_type="html",
                      time="2026-11-02T09:04:00Z"),
    ]  # fmt: skip
    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in events]
    )
    windows = WindowIndex(search.endpoint, NAME, credential=StandinCredential())
    await windows.prepare()

    thread_key = encode_key(THREAD, field="threadId")

    written = await windows.rewindow_threads(storage, [thread_key])
    [window] = search.indexes[NAME].documents.values()
    await windows.forget_threads([thread_key])
    await windows.close()

    assert written == 1
    assert window["threadId"] == THREAD
    assert "Please refund order BRAVO" in window["text"]
    assert "Refund issued" in window["text"]
    assert "ALPHA" not in window["text"]
    for blob in window["blobs"]:  # each line cites a version blob the archive holds
        assert await storage.blobs.read(blob)
    assert search.indexes[NAME].documents == {}
