"""`python -m archiver verify`: read the archive and judge it.

Lists every blob name (so nothing outside the storage contract goes unseen), reads
the documents of the threads being judged, scans their rows, and hands the snapshot
to archiver.verification.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any, TextIO

from archiver.inventory import (
    Entry,
    MessageBlob,
    QuarantineBlob,
    ThreadBlob,
    TranscriptBlob,
    entry,
)
from archiver.keys import encode_key
from archiver.layout import LatestRow
from archiver.storage.ports import Storage
from archiver.truth import GroundTruth
from archiver.verification import Findings, Snapshot, against_truth, consistency

READERS = 32


async def snapshot(storage: Storage, *, threads: Collection[str] | None = None) -> Snapshot:
    """What storage holds; documents and rows only of `threads` (all when None)."""
    wanted = None if threads is None else set(threads)
    judged: dict[str, Entry] = {}
    strays: list[str] = []
    async for name in storage.blobs.names():
        found = entry(name)
        if found is None:
            strays.append(name)
        elif isinstance(found, TranscriptBlob):
            continue  # a transcript is a copy, written on request; nothing to judge
        elif isinstance(found, QuarantineBlob) or wanted is None or found.thread_id in wanted:
            judged[name] = found
    texts = await _read_all(storage, list(judged))
    messages = {
        name: (found, _object(texts[name]))
        for name, found in judged.items()
        if isinstance(found, MessageBlob)
    }
    changes = {
        name: (found, _object(texts[name]))
        for name, found in judged.items()
        if isinstance(found, ThreadBlob)
    }
    quarantine = {
        name: texts[name] for name, found in judged.items() if isinstance(found, QuarantineBlob)
    }
    rows: list[LatestRow] = []
    if wanted is None:
        rows = [row async for row in storage.messages.scan()]
    else:
        for thread in sorted(wanted):
            rows += [
                row async for row in storage.messages.scan(encode_key(thread, field="threadId"))
            ]
    thread_rows = [
        row async for row in storage.threads.scan() if wanted is None or row.thread_id in wanted
    ]
    return Snapshot(
        messages=messages,
        threads=changes,
        quarantine=quarantine,
        strays=strays,
        rows=rows,
        thread_rows=thread_rows,
    )


async def verify(storage: Storage, truth: GroundTruth | None, *, exact: bool = False) -> Findings:
    """Judge the archive against `truth`, or for consistency when there is none."""
    if truth is None:
        return consistency(await snapshot(storage))
    scope = None if exact else truth.threads
    return against_truth(truth, await snapshot(storage, threads=scope), exact=exact)


def report(findings: Findings, out: TextIO, *, limit: int = 20) -> None:
    """Print the findings, at most `limit` lines of each kind."""
    checked = ", ".join(f"{count} {what}" for what, count in sorted(findings.checked.items()))
    for title, items in (
        ("Missing", findings.missing),
        ("Extra", findings.extra),
        ("Wrong", findings.wrong),
        ("Outside the storage contract", findings.stray),
    ):
        if items:
            print(f"{title} ({len(items)}):", file=out)
            for item in sorted(items)[:limit]:
                print(f"  - {item}", file=out)
            if len(items) > limit:
                print(f"  ... and {len(items) - limit} more", file=out)
    verdict = "OK: the archive is complete and correct" if findings.ok else "FAILED"
    print(f"{verdict} (checked {checked or 'nothing'})", file=out)


def as_json(findings: Findings) -> str:
    """The findings as one JSON document (`--json`)."""
    return json.dumps(
        {
            "ok": findings.ok,
            "checked": dict(findings.checked),
            "missing": sorted(findings.missing),
            "extra": sorted(findings.extra),
            "wrong": sorted(findings.wrong),
            "stray": sorted(findings.stray),
        },
        ensure_ascii=False,
        indent=1,
    )


async def _read_all(storage: Storage, names: list[str]) -> dict[str, str]:
    limit = asyncio.Semaphore(READERS)

    async def read(name: str) -> tuple[str, str]:
        async with limit:
            return name, (await storage.blobs.read(name)).decode("utf-8", errors="replace")

    return dict(await asyncio.gather(*(read(name) for name in names)))


def _object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
