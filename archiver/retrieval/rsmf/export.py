"""Exporting a thread as RSMF files: read it back, cut it into files, check each, write.

A thread is read whole (its versions and thread changes: one thread in memory at a
time), since a file's zip needs its manifest whole; what the files say is decided
from what was read by one pure function, `files_of`, which the proof of a file calls
on the sealed blobs in turn. Every file's manifest is checked against the RSMF rules
before the first byte is written; one that fails is a bug, and the export refuses with
InvalidExport, writing nothing. Files are written beside their
destination and renamed into place only once all are complete; blobs are create-only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
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
from archiver.retrieval.rsmf.provenance import Scope, scope_pairs, seal_pairs, within
from archiver.retrieval.rsmf.rules import problems
from archiver.storage.ports import Storage, Window

RSMF = "rsmf"  # the --format choice
EXTENSION = ".rsmf"


@dataclass(frozen=True, kw_only=True)
class Thread:
    """A thread as its RSMF files are made from it: id, topic, versions and changes."""

    id: str
    topic: str | None
    versions: Sequence[Mapping[str, Any]]  # transcript entries, by message id then version
    changes: Sequence[Mapping[str, Any]]  # thread change documents, in version order


@dataclass(frozen=True, kw_only=True)
class RsmfFile:
    """One RSMF file of an export: the suffix its name takes, and its checked manifest."""

    suffix: str  # "", "-2026-11-02", "-2026-11-02-2", "-2"
    manifest: dict[str, Any]
    subject: str
    day: date | None = None
    part: int | None = None

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
    thread's newest seal, if it has one) and its scope; raise UnknownThread for a thread
    the archive holds nothing of, InvalidQuery when nothing falls in `window`, and
    InvalidExport when a manifest breaks the RSMF rules."""
    if evidence is None:
        evidence = seal_pairs(await seal_evidence(storage, thread_id))
    row = await thread_of(storage, thread_id)
    versions = [entry async for entry in every_version(storage, thread_id, window)]
    changes = await thread_changes(storage, thread_id)
    files = files_of(
        Thread(id=thread_id, topic=row.topic if row else None, versions=versions, changes=changes),
        window=window,
        by_day=by_day,
        limit=limit,
        evidence=evidence,
    )
    if not files:
        raise InvalidQuery(f"the archive holds no events of thread {thread_id!r} in the window")
    for file in files:
        if found := problems(file.manifest):
            raise InvalidExport(
                f"an RSMF file would break the RSMF 2.0 rules, so nothing was written "
                f"(please report this): {'; '.join(found[:5])}"
            )
    return files


def files_of(
    thread: Thread,
    *,
    window: Window,
    by_day: bool,
    limit: int,
    evidence: Sequence[tuple[str, str]],
) -> list[RsmfFile]:
    """The RSMF files of `thread` read back (`versions` those of the messages composed in
    `window`, `changes` all of them), each carrying `evidence` and its scope; none when
    no event falls in `window`. Pure: the export and the proof of a file both call it."""
    talk = conversation(thread.id, thread.topic, thread.versions, thread.changes)
    timed = [c for c in thread.changes if within(c.get("time"), window)]
    events = ordered([*message_events(thread.id, thread.versions), *thread_events(talk, timed)])
    files = []
    for part in slices(events, by_day=by_day, limit=limit):
        scope = Scope(window=window, day=part.day, part=part.number, part_size=limit)
        custom = (*evidence, *scope_pairs(scope))
        files.append(
            _file(talk.topic or thread.id, part, manifest(talk, part.events, evidence=custom))
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
    return RsmfFile(
        suffix=day + number, manifest=document, subject=subject, day=part.day, part=part.number
    )
