"""The summary of each transcript archive-thread writes, best-effort: the record is the
transcript, so nothing here ever fails the archiving of a thread.

For the JSON transcript `transcripts/{threadKey}/{time}.json` of a thread no matter holds
(or any thread, with ARCHIVE_SUMMARY_HELD), the model is sent what
archiver.core.summaries says, and its answer, checked against the schema, is stored
create-only as `summaries/{threadKey}/{time}.json`. A refusal, a throttled or failed
model, an answer that does not parse, or storage failing meanwhile leaves no summary at
all, never half of one: it is logged ("Not summarised:") and reported, and the thread's
next transcript (after new activity) is summarised afresh. The SDK retries a throttled
or failing model twice before that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from archiver.core.errors import AlreadyStored, DamagedArchive, ModelError, StorageError
from archiver.core.keys import encode_key
from archiver.core.layout import content_sha256
from archiver.core.summaries import (
    RESPONSE_FORMAT,
    Completion,
    answer_of,
    prompt_of,
    summary_document,
    summary_name,
)
from archiver.governance.custody import holders
from archiver.storage.ports import Storage

if TYPE_CHECKING:
    from archiver.core.settings import Settings

log = logging.getLogger("archiver")
# A transcript past this is not read into memory to be summarised (about 20,000 messages;
# the model would be sent only the newest of them anyway).
MAX_TRANSCRIPT_BYTES = 8 * 1024 * 1024


class Model(Protocol):
    """What summaries need of a chat model (archiver.summaries.azureopenai)."""

    @property
    def deployment(self) -> str:
        """The model deployment that answers."""

    async def complete(
        self, messages: Sequence[Mapping[str, str]], response_format: Mapping[str, Any]
    ) -> Completion:
        """The model's answer to `messages`, in `response_format`; raise ModelError."""


@dataclass(frozen=True, kw_only=True)
class Summarised:
    """What became of one transcript's summary: `written` (to `name`), `held` (a matter
    holds the thread), `skipped` (nothing to summarise) or `failed` (why)."""

    outcome: str
    name: str | None = None
    why: str | None = None


class Summaries:
    """Writes the summary of a transcript, as the settings allow."""

    def __init__(
        self,
        storage: Storage,
        model: Model,
        *,
        held: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._model = model
        self._held = held
        self._clock = clock

    async def of(self, thread_id: str, transcripts: Sequence[str]) -> Summarised:
        """Summarise the JSON one of `transcripts` (the names a run wrote); never raise
        for the model, its answer or storage: report them."""
        found = [(name, made) for name in transcripts if (made := summary_name(name))]
        if not found:
            return Summarised(outcome="skipped", why="no JSON transcript of archive-thread")
        transcript, name = found[0]
        try:
            return await self._summarise(thread_id, transcript, name)
        except (ModelError, StorageError, DamagedArchive) as exc:
            log.warning("Not summarised: %s: %s", thread_id, exc)
            return Summarised(outcome="failed", why=str(exc))

    async def _summarise(self, thread_id: str, transcript: str, name: str) -> Summarised:
        thread_key = encode_key(thread_id, field="threadId")
        if not self._held:
            held = await holders(self._storage, thread_key, thread_id, thorough=True)
            if held:
                matters = ", ".join(sorted({hold.label for hold in held}))
                log.info("Not summarised: %s: held (%s)", thread_id, matters)
                return Summarised(outcome="held", why=f"held by {matters}")
        async for blob in self._storage.blobs.listing(transcript):
            if blob.name == transcript and blob.size > MAX_TRANSCRIPT_BYTES:
                why = f"the transcript is too long to summarise ({blob.size} bytes)"
                return Summarised(outcome="skipped", why=why)
        content = await self._storage.blobs.read(transcript)
        prompt = prompt_of(content, thread_id=thread_id)
        if prompt.sent == 0:
            return Summarised(outcome="skipped", why="no message with text")
        completion = await self._model.complete(prompt.messages, RESPONSE_FORMAT)
        document = summary_document(
            answer_of(completion),
            thread_id=thread_id,
            transcript=transcript,
            transcript_sha256=content_sha256(content),
            prompt=prompt,
            model=completion.model,
            deployment=self._model.deployment,
            created_at=self._clock(),
        )
        with suppress(AlreadyStored):  # a run of the same second summarised it already
            await self._storage.blobs.create(name, document)
        return Summarised(outcome="written", name=name)


def summaries_for(settings: Settings, storage: Storage) -> Summaries | None:
    """Summaries as ARCHIVE_SUMMARY_DEPLOYMENT and AZURE_OPENAI_ENDPOINT ask for them,
    signed in to as the app's identity (ARCHIVE_STORAGE__clientId); None when off, and
    then the `openai` SDK is not even imported."""
    if settings.summary is None:
        return None
    from archiver.storage.clients import credential_for
    from archiver.summaries.azureopenai import AzureOpenAIModel

    client_id = settings.storage.client_id
    model = AzureOpenAIModel(settings.summary, credential=lambda: credential_for(client_id))
    return Summaries(storage, model, held=settings.summary.held)
