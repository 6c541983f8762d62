"""A local stand-in for Azure OpenAI's chat completions, spoken to by the real `openai` SDK.

`OpenAIStandin` serves https on 127.0.0.1 (a certificate of the test session's own CA:
tests/tls.py) `POST /openai/deployments/{deployment}/chat/completions?api-version=...`,
the deployments shape of the Azure OpenAI inference REST API, and checks what is sent:

* a Microsoft Entra bearer token it issued (`Credential` hands them out, for the scope
  `https://cognitiveservices.azure.com/.default` only); no token, another one, or an
  `api-key` header answers 401 (this account has local authentication off);
* a deployment it has (404 `DeploymentNotFound` otherwise) and an api-version it knows
  (404 `Resource not found` otherwise); `json_schema` answers only from 2024-08-01-preview;
* a body of `messages` (role and text content) and, when asked for, a structured-output
  `response_format` whose schema is strict: every property required, no other allowed
  (400 `BadRequest` otherwise, as the service answers).

The answer is built from the request, so a test can tell it was used: each string the
schema asks for says how many messages and characters were sent and the SHA-256 of their
text; each enum takes a value picked by that SHA-256; each array holds one string.
`reply` queues answers of its own (any content, finish reason or refusal) and `fail`
statuses (429 with `retry-after-ms`, 500, ...) for the next requests. Every request is
kept in `served`, in arrival order.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from azure.core.credentials import AccessToken

from tests.standin import Standin

SCOPE = "https://cognitiveservices.azure.com/.default"
API_VERSIONS = frozenset(
    {"2024-06-01", "2024-08-01-preview", "2024-10-21", "2025-01-01-preview", "2025-04-01-preview"}
)
SCHEMA_FROM = "2024-08-01-preview"  # json_schema response formats from this version on
MODEL = "gpt-4o-mini-2024-07-18"  # what the deployment runs, as the answers name it
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MISSING = object()


@dataclass(frozen=True, kw_only=True)
class Asked:
    """One request the stand-in answered, as it was sent, and the status it got."""

    deployment: str
    api_version: str | None
    token: str | None
    body: dict[str, Any]
    status: int

    @property
    def text(self) -> str:
        """Every message's text, joined: what the model was shown."""
        return "\n".join(str(m.get("content")) for m in self.body.get("messages", ()))


@dataclass(frozen=True, kw_only=True)
class Reply:
    """An answer of the test's own for the next request."""

    content: str | None
    finish: str = "stop"
    refusal: str | None = None


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def response(self) -> web.Response:
        body = {"error": {"code": self.code, "message": self.message}}
        return web.json_response(body, status=self.status, headers=self.headers)


class OpenAIStandin(Standin):
    """Azure OpenAI on 127.0.0.1, answering the `openai` SDK as the service would."""

    def __init__(self, *, deployments: frozenset[str] = frozenset({"summaries"})) -> None:
        self.deployments = deployments
        self.tokens: set[str] = set()
        self.scopes: list[tuple[str, ...]] = []  # what each token was asked for
        self.served: list[Asked] = []
        self._replies: deque[Reply | _Refusal] = deque()

    @property
    def endpoint(self) -> str:
        """`https://127.0.0.1:PORT`: AZURE_OPENAI_ENDPOINT for this account."""
        return f"https://127.0.0.1:{self.port}"

    def issue(self, *scopes: str) -> str:
        """A token for `scopes`; it is accepted only when they are Cognitive Services'."""
        self.scopes.append(scopes)
        token = secrets.token_urlsafe(32)
        if scopes == (SCOPE,):
            self.tokens.add(token)
        return token

    def reply(self, content: str | None, *, finish: str = "stop", refusal: str | None = None):
        """Answer the next request with `content` (and `finish`, `refusal`) instead."""
        self._replies.append(Reply(content=content, finish=finish, refusal=refusal))

    def fail(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with `status`, as a throttled or failing service."""
        codes = {429: "429", 500: "InternalServerError", 503: "ServiceUnavailable"}
        for _ in range(times):
            self._replies.append(
                _Refusal(
                    status, codes.get(status, str(status)), "failed", **{"retry-after-ms": "5"}
                )
            )

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._complete)
        return app

    async def _complete(self, request: web.Request) -> web.Response:
        deployment = request.match_info["deployment"]
        version = request.query.get("api-version")
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        try:
            body = await request.json()
        except ValueError:
            body = _MISSING
        try:
            answer = self._answer(request, deployment, version, token, body)
        except _Refusal as refusal:
            answer = refusal.response()
        self.served.append(
            Asked(
                deployment=deployment,
                api_version=version,
                token=token,
                body=body if isinstance(body, dict) else {},
                status=answer.status,
            )
        )
        return answer

    def _answer(
        self,
        request: web.Request,
        deployment: str,
        version: str | None,
        token: str | None,
        body: Any,
    ) -> web.Response:
        if "api-key" in request.headers or token not in self.tokens:
            raise _Refusal(
                401,
                "401",
                "Unauthorized. Access token is missing, invalid, audience is incorrect "
                "(https://cognitiveservices.azure.com), or have expired.",
            )
        if version not in API_VERSIONS:
            raise _Refusal(404, "404", "Resource not found")
        if deployment not in self.deployments:
            raise _Refusal(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
            )
        if not isinstance(body, dict) or not _messages(body.get("messages")):
            raise _Refusal(400, "BadRequest", "'messages' must be a list of role and content")
        schema = _schema(body.get("response_format"), version)
        if self._replies:
            queued = self._replies.popleft()
            if isinstance(queued, _Refusal):
                raise queued
            return _completion(queued)
        text = "\n".join(m["content"] for m in body["messages"])
        return _completion(Reply(content=json.dumps(_made(schema, body["messages"], text))))


def _messages(messages: Any) -> bool:
    return (
        isinstance(messages, list)
        and bool(messages)
        and all(
            isinstance(m, dict)
            and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            for m in messages
        )
    )


def _schema(response_format: Any, version: str) -> dict[str, Any] | None:
    """The strict JSON schema the answer must follow, or None for free text."""
    if response_format is None:
        return None
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        raise _Refusal(400, "BadRequest", "response_format must be of type json_schema here")
    if version < SCHEMA_FROM:
        raise _Refusal(
            400,
            "BadRequest",
            f"response_format value as json_schema is enabled only for api versions "
            f"{SCHEMA_FROM} and later",
        )
    wanted = response_format.get("json_schema") or {}
    schema = wanted.get("schema")
    if not _SCHEMA_NAME.match(str(wanted.get("name"))) or not isinstance(schema, dict):
        raise _Refusal(400, "BadRequest", "json_schema needs a name and a schema")
    if wanted.get("strict") is not True:
        raise _Refusal(400, "BadRequest", "this stand-in answers strict schemas only")
    _strict(schema, "()")
    return schema


def _strict(schema: dict[str, Any], where: str) -> None:
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            raise _Refusal(
                400,
                "BadRequest",
                f"Invalid schema for response_format: In context={where}, "
                "'additionalProperties' is required to be supplied and to be false",
            )
        if sorted(schema.get("required", [])) != sorted(properties):
            raise _Refusal(
                400,
                "BadRequest",
                f"Invalid schema for response_format: In context={where}, 'required' is "
                "required to be supplied and to be an array including every key in properties",
            )
        for name, inner in properties.items():
            _strict(inner, f"{where}.{name}")
    elif schema.get("type") == "array":
        _strict(schema.get("items", {}), f"{where}[]")


def _made(schema: dict[str, Any] | None, messages: list[dict[str, str]], text: str) -> Any:
    """An answer that follows `schema`, derived from what was sent."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    said = f"{len(messages)} messages, {len(text)} characters, sha256 {digest}"

    def value(part: dict[str, Any]) -> Any:
        if "enum" in part:
            return part["enum"][int(digest, 16) % len(part["enum"])]
        if part.get("type") == "object":
            return {name: value(inner) for name, inner in part["properties"].items()}
        if part.get("type") == "array":
            return [value(part["items"])]
        return said

    return said if schema is None else value(schema)


def _completion(reply: Reply) -> web.Response:
    return web.json_response(
        {
            "id": f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "system_fingerprint": "fp_standin",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": reply.finish,
                    "logprobs": None,
                    "message": {
                        "role": "assistant",
                        "content": reply.content,
                        "refusal": reply.refusal,
                    },
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


@dataclass
class Credential:
    """A Microsoft Entra credential as azure.identity's are (async, closable), whose
    tokens come from the stand-in: what the app's managed identity would be in Azure."""

    standin: OpenAIStandin
    closed: bool = field(default=False)

    async def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        return AccessToken(self.standin.issue(*scopes), int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> Credential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
