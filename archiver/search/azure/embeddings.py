"""Embeddings of conversation windows from an Azure OpenAI deployment, as the app's
Microsoft Entra identity (the role 'Cognitive Services OpenAI User'; no API key).

The app embeds the windows itself because they are pushed: Azure AI Search embeds
documents only through an indexer's skillset, while its `azureOpenAI` vectorizer embeds
queries, with the same deployment, so windows and queries share one vector space. The
call is the data plane's `POST /openai/deployments/{deployment}/embeddings` through
azure-core's pipeline (bearer token, bounded retries), a few windows a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core import AsyncPipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncRetryPolicy,
    HeadersPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest

from archiver.core.errors import ConfigurationError, SearchUnavailable
from archiver.core.searchsettings import EmbeddingSettings

API_VERSION = "2024-10-21"  # the Azure OpenAI data plane's generally available version
SCOPE = "https://cognitiveservices.azure.com/.default"
PER_REQUEST = 16  # windows embedded per request: well within the deployment's token limit
EMBEDDED_CHARACTERS = 8000  # of a window's text: about 2,000 tokens, under the model's 8,191
ROLE = "Cognitive Services OpenAI User"


class Embedder:
    """Embeds texts with the deployment `embedding` names, as `credential`."""

    def __init__(self, embedding: EmbeddingSettings, *, credential: Any, **options: Any) -> None:
        """`options` go to the pipeline client (a transport)."""
        self._embedding = embedding
        self._client: AsyncPipelineClient[Any, Any] = AsyncPipelineClient(
            base_url=embedding.endpoint,
            policies=[
                HeadersPolicy(),
                UserAgentPolicy(sdk_moniker="acs-chat-archiver"),
                AsyncRetryPolicy(retry_total=3, retry_backoff_max=4),
                AsyncBearerTokenCredentialPolicy(credential, SCOPE),
            ],
            **options,
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (each text cut to EMBEDDED_CHARACTERS)."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), PER_REQUEST):
            vectors += await self._request(
                [t[:EMBEDDED_CHARACTERS] for t in texts[start : start + PER_REQUEST]]
            )
        return vectors

    async def close(self) -> None:
        await self._client.close()

    async def _request(self, texts: list[str]) -> list[list[float]]:
        e = self._embedding
        body: dict[str, Any] = {"input": texts}
        if e.model != "text-embedding-ada-002":  # ada-002 has one size and refuses the field
            body["dimensions"] = e.dimensions
        request = HttpRequest(
            "POST",
            f"{e.endpoint}/openai/deployments/{e.deployment}/embeddings",
            params={"api-version": API_VERSION},
            json=body,
        )
        try:
            response = await self._client.send_request(request)
        except AzureError as exc:
            raise SearchUnavailable(f"Azure OpenAI did not answer ({exc})") from exc
        status = response.status_code
        if status in (401, 403):
            raise ConfigurationError(
                f"Azure OpenAI refused the app's identity ({status}): grant it the role '{ROLE}' "
                "on the account AZURE_OPENAI_ENDPOINT names"
            )
        if status == 404:
            raise ConfigurationError(
                f"Azure OpenAI has no deployment {e.deployment!r} "
                "(ARCHIVE_SEARCH_EMBEDDING_DEPLOYMENT) at AZURE_OPENAI_ENDPOINT"
            )
        if status == 429 or status >= 500:
            raise SearchUnavailable(f"Azure OpenAI did not embed the windows ({status})")
        if status != 200:
            raise ConfigurationError(
                f"Azure OpenAI refused the embedding request ({status}): {response.text()[:300]} "
                "(check ARCHIVE_SEARCH_EMBEDDING_MODEL and ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS)"
            )
        found = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = [list(map(float, item["embedding"])) for item in found]
        if len(vectors) != len(texts) or any(len(v) != e.dimensions for v in vectors):
            raise ConfigurationError(
                f"Azure OpenAI answered {len(vectors)} vectors for {len(texts)} windows, not all "
                f"of {e.dimensions} dimensions (ARCHIVE_SEARCH_EMBEDDING_DIMENSIONS)"
            )
        return vectors
