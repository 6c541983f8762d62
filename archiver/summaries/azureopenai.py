"""Azure OpenAI chat completions through the `openai` SDK: the only module that touches
it. Signed in to with Microsoft Entra ID as the app's identity (a bearer token for
Cognitive Services from azure.identity), never with an API key; every SDK and identity
error becomes a ModelError here.

Each summary opens its own client and credential and closes both: a summary is a daily,
per-thread event, so a long-lived connection would buy nothing and leave something to close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import openai
from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import get_bearer_token_provider
from openai import AsyncAzureOpenAI

from archiver.core.errors import ModelError
from archiver.core.summaries import Completion
from archiver.core.summarysettings import SummarySettings

# The audience of Azure OpenAI's (and every Cognitive Services account's) Entra tokens.
SCOPE = "https://cognitiveservices.azure.com/.default"
RETRIES = 2  # the SDK's own retries of a 408, 409, 429 or 5xx, with backoff
TIMEOUT_SECONDS = 120.0  # a summary of a long thread can take a minute to write
Credential = Callable[[], AbstractAsyncContextManager[Any]]


class AzureOpenAIModel:
    """One Azure OpenAI deployment, asked as the identity `credential` opens."""

    def __init__(
        self,
        settings: SummarySettings,
        *,
        credential: Credential,
        retries: int = RETRIES,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self._settings = settings
        self._credential = credential
        self._retries = retries
        self._timeout = timeout_seconds

    @property
    def deployment(self) -> str:
        """The model deployment that answers (ARCHIVE_SUMMARY_DEPLOYMENT)."""
        return self._settings.deployment

    async def complete(
        self, messages: Sequence[Mapping[str, str]], response_format: Mapping[str, Any]
    ) -> Completion:
        """The deployment's answer; raise ModelError when there is none to be had."""
        try:
            async with self._credential() as credential:
                client = AsyncAzureOpenAI(
                    azure_endpoint=self._settings.endpoint,
                    api_version=self._settings.api_version,
                    azure_ad_token_provider=get_bearer_token_provider(credential, SCOPE),
                    max_retries=self._retries,
                    timeout=self._timeout,
                )
                async with client:
                    response = await client.chat.completions.create(
                        model=self._settings.deployment,
                        messages=cast(Any, [dict(message) for message in messages]),
                        response_format=cast(Any, dict(response_format)),
                    )
        except openai.APIStatusError as exc:
            raise ModelError(
                f"Azure OpenAI answered {exc.status_code}{_code(exc)} for deployment "
                f"{self._settings.deployment!r}"
            ) from exc
        except openai.APIError as exc:  # no answer: refused connection, timeout
            raise ModelError(f"Azure OpenAI could not be reached: {exc.message}") from exc
        except ClientAuthenticationError as exc:
            raise ModelError(
                f"no Microsoft Entra token for Azure OpenAI as the app's identity: {exc.message}"
            ) from exc
        if not response.choices:
            return Completion(content=None, model=response.model)
        choice = response.choices[0]
        return Completion(
            content=choice.message.content,
            model=response.model,
            refusal=choice.message.refusal,
            finish=choice.finish_reason,
        )


def _code(error: openai.APIStatusError) -> str:
    """` (DeploymentNotFound)`: the error code Azure gives, never its message, which may
    quote the request."""
    return f" ({error.code})" if error.code else ""
