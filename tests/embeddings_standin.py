"""Azure OpenAI's embeddings operation on 127.0.0.1 over https (tests.tls), written from
Microsoft's Azure OpenAI data-plane reference (`POST /openai/deployments/{deployment-id}/
embeddings`, api-version 2024-10-21): it checks the bearer token (401 without the test
credential's; an `api-key` header is refused and counted), the api-version, the
deployment, `input` (a list of strings, at most 2,048) and `dimensions`, and answers
`{"data": [{"embedding", "index"}], "model", "usage"}`.

Its vectors are not a model's: each is a bag of the text's lower-cased words hashed into
`dimensions` buckets and normalised, so texts sharing words point the same way and a
spec can tell which window a vector was made from. Not implemented: base64 encoding,
token arrays as input, token limits, throttling.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.standin import RecordingCredential, Standin

TOKEN = "azure-openai-test-token"
API_VERSIONS = {"2024-10-21", "2025-04-01-preview"}


class OpenAiCredential(RecordingCredential):
    """The embeddings account's credential: TOKEN."""

    def __init__(self) -> None:
        super().__init__(TOKEN)


def vector(text: str, dimensions: int) -> list[float]:
    """The stand-in's embedding of `text`."""
    buckets = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        buckets[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dimensions] += 1
    norm = math.sqrt(sum(b * b for b in buckets)) or 1.0
    return [b / norm for b in buckets]


@dataclass
class EmbeddingsStandin(Standin):
    """An Azure OpenAI account with embedding deployments by name: {deployment: model}."""

    deployments: dict[str, str] = field(
        default_factory=lambda: {"embeddings": "text-embedding-3-small"}
    )
    inputs: list[list[str]] = field(default_factory=list)  # what each request embedded
    api_keys: int = 0

    @property
    def endpoint(self) -> str:
        return f"https://localhost:{self.port}"

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._checks])
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._embed)
        return app

    @web.middleware
    async def _checks(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if "api-key" in request.headers:
            self.api_keys += 1
            return _error(
                403, "AuthenticationTypeDisabled", "Key based authentication is disabled."
            )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "PermissionDenied", "Access token is missing or invalid.")
        if request.query.get("api-version") not in API_VERSIONS:
            return _error(404, "404", "Resource not found")  # as the service answers it
        return await handler(request)

    async def _embed(self, request: web.Request) -> web.Response:
        deployment = request.match_info["deployment"]
        if deployment not in self.deployments:
            return _error(
                404, "DeploymentNotFound", f"The API deployment {deployment} does not exist."
            )
        asked = await request.json()
        texts = asked.get("input")
        if (
            not isinstance(texts, list)
            or not texts
            or len(texts) > 2048
            or not all(isinstance(t, str) and t for t in texts)
        ):
            return _error(
                400, "invalid_request_error", "'input' must be 1 to 2048 non-empty strings."
            )
        model = self.deployments[deployment]
        dimensions = asked.get("dimensions", 1536 if model != "text-embedding-3-large" else 3072)
        if model == "text-embedding-ada-002" and "dimensions" in asked:
            return _error(400, "invalid_request_error", "This model does not support 'dimensions'.")
        if not isinstance(dimensions, int) or not 1 <= dimensions <= 3072:
            return _error(400, "invalid_request_error", "'dimensions' is out of range.")
        self.inputs.append(texts)
        data = [{"object": "embedding", "index": i, "embedding": vector(t, dimensions)}
                for i, t in enumerate(texts)]  # fmt: skip
        words = sum(len(t.split()) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
        )


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
