"""Exporting the analytics tables: which threads, read back one at a time, and where to.

Each selected thread's versions are read back in order (`every_version`), a message's
versions become its figures, the thread's messages its figures, and both go to the
tables, which write a row group per group of threads. So memory holds one thread's
message figures and one row group, whatever the archive's size. Files are written beside
their destination and both renamed into place when complete; blobs are staged on local
disk, then committed create-only into the analytics container, a folder per table.

Without `labels`, display names and topics are left out (the columns stay, empty):
the export is a copy outside the record, and it carries as little personal data as the
figures allow. No message text is ever exported, only its length.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.core.errors import InvalidQuery
from archiver.core.fields import format_timestamp
from archiver.core.layout import is_safe_name
from archiver.core.progress import Progress
from archiver.retrieval.analytics.figures import Message, Thread, message, replied, thread
from archiver.retrieval.analytics.tables import (
    CONTENT_TYPE,
    MESSAGES_FILE,
    THREADS_FILE,
    Tables,
)
from archiver.retrieval.export import beside, outside, selected
from archiver.retrieval.readback import every_version, thread_of
from archiver.storage.ports import Storage, Window

FILES = (MESSAGES_FILE, THREADS_FILE)
TABLES = ("messages", "threads")  # the folders of the blobs, in the order of FILES
_READ_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Analytics:
    """What to export: some threads (none named: all of them), a window, and whether
    display names and topics go too."""

    threads: tuple[str, ...] = ()
    window: Window = Window()
    labels: bool = False


async def figures(
    storage: Storage, analytics: Analytics, *, progress: Progress | None = None
) -> AsyncIterator[tuple[Thread, list[Message]]]:
    """Each selected thread with a message in the window, and its messages' figures in
    the order they were composed; raise UnknownThread first for a named thread the
    archive holds nothing of."""
    named = {thread_id: await thread_of(storage, thread_id) for thread_id in analytics.threads}
    async for thread_id, row in selected(storage, named):
        if not named and outside(row, analytics.window):
            continue
        messages = replied(await _messages(storage, thread_id, analytics.window))
        if not messages:
            continue
        topic = row.topic if row is not None and analytics.labels else None
        if not analytics.labels:
            messages = [replace(m, sender_display_name=None) for m in messages]
        if progress is not None:
            progress.advance(len(messages))
        yield thread(thread_id, topic, messages), messages


async def to_folder(
    storage: Storage,
    analytics: Analytics,
    folder: Path,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[Path]:
    """Write messages.parquet and threads.parquet into `folder` (which exists), each
    beside its place and both moved into place when complete."""
    targets = [folder / name for name in FILES]
    staged: list[str] = []
    try:
        for target in targets:
            handle, temporary = beside(target)
            os.close(handle)
            staged.append(temporary)
        with Tables(*map(Path, staged), about=_about(analytics, clock())) as tables:
            async for found, messages in figures(storage, analytics, progress=progress):
                tables.add(found, messages)
        for temporary, target in zip(staged, targets, strict=True):
            os.replace(temporary, target)
    except BaseException:
        for temporary in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise
    return targets


async def to_container(
    storage: Storage,
    analytics: Analytics,
    container: str,
    names: Sequence[str],
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Progress | None = None,
) -> list[str]:
    """Commit the messages and threads tables as the create-only blobs `names` (as
    `blob_names` makes them) of `container`, staged on local disk first; AlreadyStored
    if a name is taken."""
    with tempfile.TemporaryDirectory(prefix="archiver-analytics-") as staging:
        files = await to_folder(storage, analytics, Path(staging), clock=clock, progress=progress)
        await storage.prepare_container(container)
        blobs = storage.container(container)
        for path, name in zip(files, names, strict=True):
            await blobs.create_from(name, _chunks(path), content_type=CONTENT_TYPE)
    return list(names)


def blob_names(name: str | None, *, at: datetime) -> list[str]:
    """The blobs of `--blob NAME`: `messages/NAME.parquet` and `threads/NAME.parquet`, a
    folder per table, so that each folder is one table in a lakehouse and exports of
    disjoint windows add up in it; without a NAME, the export's time."""
    chosen = (name or f"{at:%Y%m%dT%H%M%SZ}").strip("/").removesuffix(".parquet")
    names = [f"{table}/{chosen}.parquet" for table in TABLES]
    if not all(map(is_safe_name, names)):
        raise InvalidQuery(
            f"--blob {name!r} is not a safe blob name: use path segments of letters, "
            "digits and . _ ~ : @ = + -, none of them '.' or '..'"
        )
    return names


async def _messages(storage: Storage, thread_id: str, window: Window) -> list[Message]:
    """The figures of each message of the thread composed in `window`: its versions come
    one message after another, so one message's versions are held at a time."""
    found: list[Message] = []
    versions: list[dict[str, Any]] = []
    async for version in every_version(storage, thread_id, window):
        if versions and version["messageId"] != versions[0]["messageId"]:
            found.append(message(versions))
            versions = []
        versions.append(version)
    if versions:
        found.append(message(versions))
    return found


def _about(analytics: Analytics, at: datetime) -> Mapping[str, Any]:
    """What each file's metadata says of the export."""
    return {
        "exportedAt": format_timestamp(at),
        "threads": list(analytics.threads) or "all",
        "since": format_timestamp(analytics.window.since),
        "until": format_timestamp(analytics.window.until),
        "labels": analytics.labels,
    }


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(_READ_BYTES):
            yield chunk
