"""The embedding deployment behind the conversation windows' vectors: optional, only with
Azure AI Search, and every wrong value refused at start naming its setting."""

from __future__ import annotations

import pytest

from archiver.core.errors import ConfigurationError
from archiver.core.searchsettings import EMBEDDING_MODELS, read_search

AISEARCH = {"ARCHIVE_SEARCH": "aisearch", "ARCHIVE_SEARCH_ENDPOINT": "https://s.search.windows.net"}
DEPLOYMENT = {"ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT": "embeddings",
              "AZURE_OPENAI_ENDPOINT": "https://acct.openai.azure.com/"}  # fmt: skip


def test_without_a_deployment_the_windows_have_no_vectors():
    assert read_search(AISEARCH).embedding is None
    assert read_search(AISEARCH).windows_index_name == "chat-messages-windows"


def test_a_deployment_takes_the_default_model_at_its_full_size():
    embedding = read_search(AISEARCH | DEPLOYMENT).embedding

    assert embedding is not None
    assert (embedding.endpoint, embedding.deployment) == (
        "https://acct.openai.azure.com",
        "embeddings",
    )
    assert (embedding.model, embedding.dimensions) == ("text-embedding-3-small", 1536)


def test_a_text_embedding_3_model_may_be_shortened():
    values = AISEARCH | DEPLOYMENT | {"ARCHIVE_SEARCH_EMBEDDING_MODEL": "text-embedding-3-large",
                                      "ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS": "1024"}  # fmt: skip
    embedding = read_search(values).embedding

    assert embedding is not None
    assert (embedding.model, embedding.dimensions) == (
        "text-embedding-3-large",
        1024,
    )


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (DEPLOYMENT | {"ARCHIVE_SEARCH": "local"}, "needs ARCHIVE_SEARCH=aisearch"),
        (AISEARCH | {"ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT": "e"}, "AZURE_OPENAI_ENDPOINT"),
        (AISEARCH | DEPLOYMENT | {"AZURE_OPENAI_ENDPOINT": "http://acct"}, "AZURE_OPENAI_ENDPOINT"),
        (AISEARCH | DEPLOYMENT | {"ARCHIVE_SEARCH_EMBEDDING_MODEL": "gpt-4o"},
         "ARCHIVE_SEARCH_EMBEDDING_MODEL"),
        (AISEARCH | DEPLOYMENT | {"ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS": "0"},
         "ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS"),
        (AISEARCH | DEPLOYMENT | {"ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS": "1537"},
         "ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS"),
        (AISEARCH | DEPLOYMENT | {"ARCHIVE_SEARCH_EMBEDDING_MODEL": "text-embedding-ada-002",
                                  "ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS": "512"},
         "must be 1536 for text-embedding-ada-002"),
        (AISEARCH | {"ARCHIVE_SEARCH_INDEX": "x" * 121}, "ARCHIVE_SEARCH_INDEX"),
    ],
)  # fmt: skip
def test_a_wrong_value_is_refused_naming_its_setting(values, named):
    with pytest.raises(ConfigurationError, match=named):
        read_search(values)


def test_every_model_the_vectorizer_knows_is_offered():
    assert set(EMBEDDING_MODELS) == {
        "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
    }  # fmt: skip
