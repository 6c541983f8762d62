"""Reading the archive for a check: every blob name (so nothing outside the storage
contract goes unseen), the documents of the threads being checked, and their rows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

from archiver.core.errors import DamagedArchive, Erased
from archiver.core.fields import format_timestamp
from archiver.core.inventory import (
    AuditBlob,
    Entry,
    MessageBlob,
    QuarantineBlob,
    ReceiptBlob,
    SealBlob,
    SummaryBlob,
    ThreadBlob,
    TranscriptBlob,
    entry,
)
from archiver.core.keys import encode_key
from archiver.core.layout import LatestRow
from archiver.core.threads import ThreadRow
from archiver.storage.ports import Storage
from archiver.verification.consistency import consistency
from archiver.verification.findings import Findings, Snapshot

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
        elif isinstance(found, TranscriptBlob | SummaryBlob | SealBlob | AuditBlob | ReceiptBlob):
            continue  # copies, summaries, seals and receipts (verify --seals), audit records
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


async def check(storage: Storage) -> Findings:
    """The whole archive checked for consistency, with what its checks against ACS said."""
    whole = await snapshot(storage)
    findings = consistency(whole)
    findings.notes += against_acs(whole.thread_rows)
    return findings


def against_acs(rows: Collection[ThreadRow]) -> list[str]:
    """Which threads archive-thread never checked against ACS, and which it found
    incomplete (with the gaps: archiver.acs.completeness)."""
    never = sorted(row.thread_id for row in rows if row.verified_at is None)
    notes = [
        f"thread {row.thread_id} was incomplete when checked against ACS at "
        f"{format_timestamp(row.verified_at)}: {row.gaps}"
        for row in sorted(rows, key=lambda r: r.thread_id)
        if row.complete is False
    ]
    if never:
        shown = ", ".join(never[:10]) + (f" and {len(never) - 10} more" if len(never) > 10 else "")
        notes.append(
            f"{len(never)} of {len(rows)} threads never checked against ACS "
            f"(`archiver archive-thread`): {shown}"
        )
    return notes


async def _read_all(storage: Storage, names: list[str]) -> dict[str, str]:
    limit = asyncio.Semaphore(READERS)

    async def read(name: str) -> tuple[str, str]:
        async with limit:
            try:
                content = await storage.versions.read(name)  # an envelope, opened
            except (DamagedArchive, Erased):
                return name, ""  # judged as not what its name says
            return name, content.decode("utf-8", errors="replace")

    return dict(await asyncio.gather(*(read(name) for name in names)))


def _object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
