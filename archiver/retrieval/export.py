"""Exporting transcripts from the archive: which threads and messages, and where to.

The export streams end to end: thread by thread, a page of rows or a few version blobs
at a time, rendered into chunks and written as they come. A file is written beside
its destination and renamed into place only when complete; a blob is committed only
when complete; so a failed export never leaves a partial transcript behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from archiver.core.errors import InvalidQuery
from archiver.core.fields import format_timestamp
from archiver.core.layout import TRANSCRIPTS_PREFIX, is_transcript_name
from archiver.core.progress import Progress
from archiver.core.threads import ACTIVITY_RESOLUTION, ThreadRow
from archiver.retrieval.evidence import seal_evidence
from archiver.retrieval.formats import Format, Heading, Section, render
from archiver.retrieval.readback import every_version, latest, thread_of
from archiver.retrieval.transcript import thread_section
from archiver.storage.catalog import thread_ids
from archiver.storage.ports import Storage, Window


@dataclass(frozen=True, kw_only=True)
class Export:
    """What to export: some threads (none named: all of them), a window, which versions."""

    threads: tuple[str, ...] = ()
    window: Window = Window()
    all_versions: bool = False
    form: Format = Format.JSON
    bom: bool = True


async def transcript(
    storage: Storage,
    export: Export,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> AsyncIterator[bytes]:
    """The transcript's bytes; raise UnknownThread before the first byte for a named
    thread the archive holds nothing of."""
    named = {thread_id: await thread_of(storage, thread_id) for thread_id in export.threads}
    heading = Heading(
        exported_at=format_timestamp(clock()) or "",
        source="archive",
        all_versions=export.all_versions,
        since=format_timestamp(export.window.since),
        until=format_timestamp(export.window.until),
    )
    sections = _sections(storage, export, named, progress)
    return render(export.form, heading, sections, bom=export.bom)


async def _sections(
    storage: Storage,
    export: Export,
    named: dict[str, ThreadRow | None],
    progress: Progress | None,
) -> AsyncIterator[Section]:
    async for thread_id, row in selected(storage, named):
        if not named and outside(row, export.window):
            continue
        if export.all_versions:
            entries = every_version(storage, thread_id, export.window)
        else:
            entries = latest(storage, thread_id, export.window)
        thread = thread_section(thread_id, row)
        thread["seal"] = await seal_evidence(storage, thread_id)
        yield Section(thread, _counted(entries, progress))


async def selected(
    storage: Storage, named: dict[str, ThreadRow | None]
) -> AsyncIterator[tuple[str, ThreadRow | None]]:
    """The threads `named` with their rows, or (none named) every thread the archive holds."""
    if named:
        for pair in named.items():
            yield pair
        return
    async for thread_id in thread_ids(storage):
        yield thread_id, await thread_of(storage, thread_id)


def outside(row: ThreadRow | None, window: Window) -> bool:
    """True when the row proves no message of the thread was composed in `window`."""
    if row is None:
        return False
    if (
        window.since is not None
        and row.last_activity is not None
        and row.last_activity + ACTIVITY_RESOLUTION < window.since
    ):
        return True
    return bool(
        window.until is not None and row.create_time is not None and row.create_time >= window.until
    )


async def _counted(
    entries: AsyncIterator[dict[str, Any]], progress: Progress | None
) -> AsyncIterator[dict[str, Any]]:
    async for item in entries:
        if progress is not None:
            progress.advance(1)
        yield item


def blob_name(name: str | None, form: str, *, at: datetime) -> str:
    """The transcript blob for `--blob NAME` (under transcripts/), or a dated default
    named for the format `form` (a Format, or "rsmf")."""
    chosen = name or f"exports/{at:%Y%m%dT%H%M%SZ}.{form}"
    full = chosen if chosen.startswith(TRANSCRIPTS_PREFIX) else TRANSCRIPTS_PREFIX + chosen
    if not is_transcript_name(full):
        raise InvalidQuery(
            f"--blob {chosen!r} is not a safe blob name: use path segments of letters, "
            "digits and . _ ~ : @ = + -, none of them '.' or '..'"
        )
    return full


async def to_blob(storage: Storage, chunks: AsyncIterator[bytes], name: str, form: Format) -> None:
    """Commit the transcript as a create-only blob (AlreadyStored if the name is taken)."""
    await storage.prepare()
    await storage.blobs.create_from(name, chunks, content_type=form.content_type)


async def to_file(chunks: AsyncIterator[bytes], path: Path) -> None:
    """Write the transcript beside `path`, then move it into place."""
    handle, temporary = beside(path)
    try:
        with os.fdopen(handle, "wb") as out:
            await to_stream(chunks, out)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s directory, so that the rename is atomic."""
    directory = os.path.dirname(os.path.abspath(path))
    return tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")


async def to_stream(chunks: AsyncIterator[bytes], out: BinaryIO) -> None:
    """Write the transcript to an open binary stream (standard output)."""
    async for chunk in chunks:
        out.write(chunk)
    out.flush()
