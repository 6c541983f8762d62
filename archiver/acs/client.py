"""The ACS Chat API as the archiver's identity sees it, through the official SDKs.

`azure-communication-identity` mints a chat token for the archiver's identity (with the
resource's access key, or Microsoft Entra ID); `azure-communication-chat` lists a
thread's properties, participants and messages, 200 a page, retrying 429 and 5xx with
backoff as `Retry-After` asks. Each page is taken as the JSON the API sent (the SDK's
raw-response hook), so what is archived is what ACS said, not a re-serialization.
Every SDK, HTTP or socket error is translated here, once, into archiver.core.errors.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from archiver.core.acssettings import AcsSettings
from archiver.core.errors import AcsDenied, AcsUnavailable, ConfigurationError, ThreadNotInAcs

PAGE_SIZE = 200  # the most ListMessages gives in one page
# Throttled or failing requests are retried this often, backing off up to a minute.
_RETRY = {"retry_total": 8, "retry_backoff_factor": 0.8, "retry_backoff_max": 60}


class AcsChat:
    """Lists threads as the archiver's ACS identity; open with `async with`."""

    def __init__(self, settings: AcsSettings | None) -> None:
        if settings is None:
            raise ConfigurationError(
                "ACS_ENDPOINT (or ACS_CONNECTION_STRING) is not set: archiving threads "
                "from ACS lists them through the ACS Chat API"
            )
        if settings.archiver_user_id is None:
            raise ConfigurationError(
                "ACS_ARCHIVER_USER_ID is required to list threads: the ACS identity the "
                "archiver reads as, which must be a participant of every thread it archives "
                "(python -m archiver create-identity makes one)"
            )
        self._settings = settings
        self._user = settings.archiver_user_id
        self._credential: Any = None

    @property
    def user(self) -> str:
        """The archiver's own ACS identity (raw id)."""
        return self._user

    async def __aenter__(self) -> AcsChat:
        from azure.communication.chat.aio import CommunicationTokenCredential

        token = self._settings.archiver_token or await _minted(self._settings, self._user)
        with _translated("reading the archiver's token"):
            self._credential = CommunicationTokenCredential(token)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._credential is not None:
            await self._credential.close()

    async def properties(self, thread_id: str) -> dict[str, Any]:
        """The thread's properties, as the API sent them."""
        pages: list[Any] = []
        async with self._thread(thread_id) as client, _within(thread_id, self._user):
            await client.get_properties(raw_response_hook=_capture(pages))
        return dict(pages[-1])

    async def participants(self, thread_id: str) -> AsyncIterator[dict[str, Any]]:
        """The thread's current participants, as the API sent them."""
        async for page in self._pages(thread_id, "list_participants"):
            for item in page:
                yield item

    async def message_pages(self, thread_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The thread's messages a page at a time, newest first, as the API sent them."""
        async for page in self._pages(thread_id, "list_messages"):
            yield page

    async def _pages(self, thread_id: str, operation: str) -> AsyncIterator[list[dict[str, Any]]]:
        pages: list[Any] = []
        async with self._thread(thread_id) as client, _within(thread_id, self._user):
            listing = getattr(client, operation)(
                results_per_page=PAGE_SIZE, raw_response_hook=_capture(pages)
            )
            async for page in listing.by_page():
                async for _ in page:
                    pass  # the SDK's models; the hook kept the page's JSON
                items = pages.pop().get("value", []) if pages else []
                yield [item for item in items if isinstance(item, dict)]

    @contextlib.asynccontextmanager
    async def _thread(self, thread_id: str) -> AsyncIterator[Any]:
        from azure.communication.chat.aio import ChatThreadClient

        client = ChatThreadClient(self._settings.endpoint, self._credential, thread_id, **_RETRY)
        try:
            yield client
        finally:
            await client.close()


async def create_identity(settings: AcsSettings) -> str:
    """A new ACS identity for the archiver to read as (needs the access key or Entra ID)."""
    async with _identity_client(settings) as client, _identity_errors():
        user = await client.create_user()
    return str(user.raw_id)


async def _minted(settings: AcsSettings, user: str) -> str:
    from azure.communication.identity import CommunicationUserIdentifier

    async with _identity_client(settings) as client, _identity_errors():
        token = await client.get_token(CommunicationUserIdentifier(user), scopes=["chat"])
    return str(token.token)


@contextlib.asynccontextmanager
async def _identity_client(settings: AcsSettings) -> AsyncIterator[Any]:
    from azure.communication.identity.aio import CommunicationIdentityClient
    from azure.core.credentials import AzureKeyCredential

    credential: Any
    if settings.access_key is not None:
        credential = AzureKeyCredential(settings.access_key)
        owned = None
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = owned = DefaultAzureCredential()
    try:
        async with CommunicationIdentityClient(settings.endpoint, credential, **_RETRY) as client:
            yield client
    finally:
        if owned is not None:
            await owned.close()


def _capture(pages: list[Any]) -> Any:
    """A raw-response hook that keeps the JSON of each successful answer."""

    def hook(response: Any) -> None:
        answer = response.http_response
        if answer.status_code == 200:
            try:
                pages.append(json.loads(answer.text()))
            except ValueError:
                pages.append({})

    return hook


@contextlib.asynccontextmanager
async def _within(thread_id: str, user: str) -> AsyncIterator[None]:
    """What a chat call's failure means for this thread, in the archiver's terms."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise ThreadNotInAcs(
            f"ACS has no thread {thread_id!r}: it was deleted (ListMessages cannot return a "
            "deleted thread's history) or never existed"
        ) from exc
    except ClientAuthenticationError as exc:
        raise AcsDenied(
            "ACS refused the archiver's token (401): check ACS_ACCESS_KEY or "
            "ACS_ARCHIVER_TOKEN and ACS_ARCHIVER_USER_ID"
        ) from exc
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise AcsDenied(
                f"the archiver's identity {user} is not a participant of thread {thread_id!r} "
                "(403): only participants can list messages, so add it to the thread"
            ) from exc
        raise AcsUnavailable(f"ACS answered {exc.status_code} for thread {thread_id!r}") from exc
    except AzureError as exc:
        raise AcsUnavailable(f"ACS could not be reached: {type(exc).__name__}") from exc


@contextlib.asynccontextmanager
async def _identity_errors() -> AsyncIterator[None]:
    try:
        yield
    except ClientAuthenticationError as exc:
        raise AcsDenied(
            "ACS refused the access key (401): check ACS_ACCESS_KEY or ACS_CONNECTION_STRING"
        ) from exc
    except ResourceNotFoundError as exc:
        raise AcsDenied("ACS has no identity ACS_ARCHIVER_USER_ID names (404)") from exc
    except HttpResponseError as exc:
        raise AcsUnavailable(f"the ACS Identity API answered {exc.status_code}") from exc
    except AzureError as exc:
        raise AcsUnavailable(f"ACS could not be reached: {type(exc).__name__}") from exc


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{what}: ACS_ARCHIVER_TOKEN is not a token ({exc})") from exc
