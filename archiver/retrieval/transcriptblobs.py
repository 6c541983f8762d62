"""Transcripts kept in the archive: JSON and CSV under `transcripts/{threadKey}/`.

Each archiving run of a thread writes both, named by the run's time, create-only: a
transcript is never overwritten, and a second run of the same second finds it there.
The thread's activity hour is recorded first, so the next sealing run seals them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import datetime

from archiver.core.activity import hour_of
from archiver.core.errors import AlreadyStored
from archiver.core.layout import transcript_blob_name
from archiver.retrieval.formats import Format
from archiver.storage.ports import Storage

FORMS = (Format.JSON, Format.CSV)
Chunks = Callable[[Format], AsyncIterator[bytes]]


async def write_transcripts(
    storage: Storage, thread_key: str, at: datetime, chunks: Chunks
) -> tuple[str, ...]:
    """Store the JSON and CSV transcripts `chunks` renders; return their names."""
    await storage.prepare()
    await storage.activity.record(hour_of(at), {thread_key})
    written = []
    for form in FORMS:
        name = transcript_blob_name(thread_key, at, str(form))
        with suppress(AlreadyStored):  # a run in the same second wrote it already
            await storage.blobs.create_from(name, chunks(form), content_type=form.content_type)
        written.append(name)
    return tuple(written)
