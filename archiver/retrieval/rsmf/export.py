"""Exporting a thread as RSMF files: read it back, cut it into files, check each, write.

A thread is read whole (its versions and thread changes: one thread in memory at a
time), since a file's zip needs its manifest whole. Every file's manifest is checked
against the RSMF rules before the first byte is written; one that fails is a bug, and
the export refuses with InvalidExport, writing nothing. Files are written beside their
destination and renamed into place only once all are complete; blobs are create-only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from archiver.core.errors import InvalidExport, InvalidQuery
from archiver.retrieval.evidence import seal_evidence
from archiver.retrieval.export import beside
from archiver.retrieval.readback import every_version, thread_changes, thread_of
from archiver.retrieval.rsmf.file import CONTENT_TYPE, pack
from archiver.retrieval.rsmf.manifest import (
    MAX_EVENTS,
    Slice,
    conversation,
    manifest,
    message_events,
    ordered,
    slices,
    thread_events,
)
from archiver.retrieval.rsmf.proof import rsmf_evidence
from archiver.retrieval.rsmf.rules import problems
from archiver.storage.ports import Storage, Window

RSMF = "rsmf"  # the --format choice
EXTENSION = ".rsmf"


@dataclass(frozen=True, kw_only=True)
class RsmfFile:
    """One RSMF file of an export: the suffix its name takes, and its checked manifest."""

    suffix: str  # "", "-2026-11-02", "-2026-11-02-2", "-2"
    manifest: dict[str, Any]
    subject: str

    def content(self) -> bytes:
        """The file's bytes."""
        return pack(self.manifest, subject=self.subject)


async def rsmf_files(
    storage: Storage,
    thread_id: str,
    *,
    window: Window = Window(),
    by_day: bool = False,
    evidence: Sequence[tuple[str, str]] | None = None,
    limit: int = MAX_EVENTS,
) -> list[RsmfFile]:
    """The thread's RSMF files, every one checked, carrying `evidence` (by default the
    thread's newest seal, if it has one); raise UnknownThread for a thread the archive
    holds nothing of, InvalidQuery when nothing falls in `window`, and InvalidExport
    when a manifest breaks the RSMF rules."""
    if evidence is None:
        evidence = rsmf_evidence(await seal_evidence(storage, thread_id))
    row = await thread_of(storage, thread_id)
    versions = [entry async for entry in every_version(storage, thread_id, window)]
    changes = await thread_changes(storage, thread_id)
    talk = conversation(thread_id, row.topic if row else None, versions, changes)
    timed = [c for c in changes if _within(c.get("time"), window)]
    events = ordered([*message_events(thread_id, versions), *thread_events(talk, timed)])
    if not events:
        raise InvalidQuery(f"the archive holds no events of thread {thread_id!r} in the window")
    files = [
        _file(talk.topic or thread_id, part, manifest(talk, part.events, evidence=evidence))
        for part in slices(events, by_day=by_day, limit=limit)
    ]
    for file in files:
        if found := problems(file.manifest):
            raise InvalidExport(
                f"an RSMF file would break the RSMF 2.0 rules, so nothing was written "
                f"(please report this): {'; '.join(found[:5])}"
            )
    return files


def file_paths(files: Sequence[RsmfFile], path: Path) -> list[Path]:
    """Where each file goes: `path` itself for a single file, else its stem plus suffix."""
    if len(files) == 1 and not files[0].suffix:
        return [path]
    stem = path.name.removesuffix(EXTENSION) if path.name.endswith(EXTENSION) else path.stem
    return [path.with_name(f"{stem}{file.suffix}{EXTENSION}") for file in files]


def blob_names(files: Sequence[RsmfFile], name: str) -> list[str]:
    """The blob of each file, from `name` (a transcripts/ blob name ending .rsmf)."""
    stem = name.removesuffix(EXTENSION)
    if len(files) == 1 and not files[0].suffix:
        return [stem + EXTENSION]
    return [f"{stem}{file.suffix}{EXTENSION}" for file in files]


def to_files(files: Sequence[RsmfFile], path: Path) -> list[Path]:
    """Write every file beside its destination, then move them all into place."""
    targets = file_paths(files, path)
    written: list[tuple[str, Path]] = []
    try:
        for file, target in zip(files, targets, strict=True):
            handle, temporary = beside(target)
            written.append((temporary, target))
            with os.fdopen(handle, "wb") as out:
                out.write(file.content())
        for temporary, target in written:
            os.replace(temporary, target)
    except BaseException:
        for temporary, _ in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise
    return targets


async def to_blobs(storage: Storage, files: Sequence[RsmfFile], name: str) -> list[str]:
    """Commit each file as a create-only blob (AlreadyStored if a name is taken)."""
    await storage.prepare()
    names = blob_names(files, name)
    for file, blob in zip(files, names, strict=True):
        await storage.blobs.create_from(blob, _once(file.content()), content_type=CONTENT_TYPE)
    return names


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _file(title: str, part: Slice, document: dict[str, Any]) -> RsmfFile:
    day = f"-{part.day.isoformat()}" if part.day is not None else ""
    number = f"-{part.number}" if part.number is not None else ""
    subject = title + (f" ({part.day.isoformat()})" if part.day is not None else "")
    return RsmfFile(suffix=day + number, manifest=document, subject=subject)


def _within(time: Any, window: Window) -> bool:
    """True when a thread change timed `time` happened in `window` (untimed: only when
    the window is open)."""
    if window.since is None and window.until is None:
        return True
    if not isinstance(time, str):
        return False
    moment = datetime.fromisoformat(time)
    after = window.since is None or moment >= window.since
    return after and (window.until is None or moment < window.until)
