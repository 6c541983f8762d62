"""Keeping an index up to date from the archive, by reading only what it does not hold.

`update` lists every message version in the archive, reads the versions the index does
not know yet (a bounded number at a time), writes them in chunks, and writes the
standing of each message a chunk touched, from the listing: every chunk is a whole
step, so an interrupted update goes on from where it stopped. Versions the archive no
longer holds (a disposed thread; later, erased versions) leave the index. `blobs` is
the push path (Azure AI Search, from the archive's BlobCreated events): those versions,
then the standing of their messages from a fresh listing of each. `threads` writes the
threads given again, whole (the daily job over threads that changed, and a backfill).

A version blob that does not read as one (a stray, a damaged blob) is not indexed; the
run names it. Reads only: the index needs read access to the archive and nothing else.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archiver.core.activity import MARGIN, next_cursor, since_cursor
from archiver.core.documents import version_of
from archiver.core.errors import DamagedArchive, Erased, NotFound
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.inventory import MessageBlob, entry
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, content_sha256, message_blob_name
from archiver.core.search.documents import SearchDocument, document_of, standing
from archiver.governance.trail import AuditTrail
from archiver.search.ports import Marked, SearchIndex
from archiver.storage.ports import Storage

CHUNK = 500  # versions written per step
ACTIVITY, AUDITED = "activity", "audited"  # the marks: an hour of ChatActivity, a time
READS = 32  # version blobs read at once


@dataclass
class IndexRun:
    """What an update did."""

    listed: int = 0
    threads: int = 0  # threads listed (an update from marks lists only the changed ones)
    touched: set[str] = field(default_factory=set)  # the thread keys of versions written
    added: int = 0
    messages: int = 0  # messages whose standing was written
    forgotten: int = 0
    unreadable: list[str] = field(default_factory=list)


Message = tuple[str, str]  # (thread key, message key)


class Indexing:
    """Brings `index` up to date with the archive in `storage`."""

    def __init__(
        self,
        storage: Storage,
        index: SearchIndex,
        *,
        progress: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._index = index
        self._progress = progress or (lambda amount: None)
        self._clock = clock

    async def update(self, *, everything: bool = False) -> IndexRun:
        """Index every version the index does not hold; forget what the archive lost.
        An index with marks (the local file) after its first update reads only the
        threads written since (ChatActivity) and the disposals since (the audit trail);
        otherwise, or with `everything`, every version is listed."""
        started = self._clock()
        index = self._index
        hour = audited = None
        if isinstance(index, Marked):
            hour, audited = await index.mark(ACTIVITY), await index.mark(AUDITED)
        if everything or hour is None or audited is None:
            run = await self._everything()
        else:
            run = await self._since(hour, parse_timestamp(audited), started)
        if isinstance(index, Marked):
            await index.set_mark(ACTIVITY, next_cursor(started))
            await index.set_mark(AUDITED, format_timestamp(started - MARGIN) or "")
        return run

    async def _everything(self) -> IndexRun:
        run = IndexRun()
        versions = await self._versions(MESSAGES_PREFIX)
        run.listed = sum(len(names) for names in versions.values())
        known = await self._index.known()
        listed = {name for names in versions.values() for name in names}
        await self._add(sorted(listed - known), versions, run)
        gone = known - listed
        if gone:
            await self._index.forget(gone)
            run.forgotten = len(gone)
        return run

    async def _since(self, hour: str, audited: datetime, now: datetime) -> IndexRun:
        """The threads active since the activity mark, listed; the threads disposed of
        since the audit mark, forgotten."""
        run = IndexRun()
        window = since_cursor(hour, now)
        changed = sorted(
            {k async for k in self._storage.activity.thread_keys(window.first, window.last)}
        )
        known = await self._index.known()
        for thread_key in changed:
            versions = await self._versions(f"{MESSAGES_PREFIX}{thread_key}/")
            listed = {name for names in versions.values() for name in names}
            run.listed += len(listed)
            run.threads += 1
            await self._add(sorted(listed - known), versions, run)
            gone = {n for n in known if n.startswith(f"{MESSAGES_PREFIX}{thread_key}/")} - listed
            if gone:
                await self._index.forget(gone)
                run.forgotten += len(gone)
                known -= gone
        disposed, erased = await audited_since(AuditTrail(self._storage), audited)
        for thread_key in sorted(disposed):
            held = {n for n in known if n.startswith(f"{MESSAGES_PREFIX}{thread_key}/")}
            await self._index.forget_threads([thread_key])
            run.forgotten += len(held)
        if gone := erased & known:  # redacted or erased: their blobs stay, their text went
            await self._index.forget(gone)
            run.forgotten += len(gone)
        return run

    async def threads(self, thread_keys: Iterable[str]) -> IndexRun:
        """Write these threads' versions again, whole; forget a thread that is gone."""
        run = IndexRun()
        for thread_key in thread_keys:
            versions = await self._versions(f"{MESSAGES_PREFIX}{thread_key}/")
            names = sorted(name for names in versions.values() for name in names)
            run.listed += len(names)
            if not names:
                await self._index.forget_threads([thread_key])
                continue
            await self._add(names, versions, run)
        return run

    async def blobs(self, names: Collection[str]) -> IndexRun:
        """Index these version blobs (just created), and their messages' standing."""
        run = IndexRun()
        wanted = sorted({n for n in names if isinstance(entry(n), MessageBlob)})
        messages = {_message(n) for n in wanted}
        versions: dict[Message, list[str]] = {}
        for thread_key, message_key in sorted(messages):
            prefix = f"{MESSAGES_PREFIX}{thread_key}/{message_key}/"
            versions |= await self._versions(prefix)
        run.listed = len(wanted)
        await self._add(wanted, versions, run)
        return run

    async def _add(
        self, names: Sequence[str], versions: dict[Message, list[str]], run: IndexRun
    ) -> None:
        """Write `names` chunk by chunk, the next chunk read while one is written."""
        chunks = [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]
        reading = asyncio.ensure_future(self._read(chunks[0], run)) if chunks else None
        try:
            for number, chunk in enumerate(chunks):
                assert reading is not None
                documents = [d for d in await reading if d is not None]
                following = chunks[number + 1] if number + 1 < len(chunks) else None
                reading = asyncio.ensure_future(self._read(following, run)) if following else None
                await self._index.put(documents)
                messages = sorted({d.message for d in documents})
                stands = [(versions.get(m, []), standing(versions.get(m, []))) for m in messages]
                await self._index.restand(stands)
                run.added += len(documents)
                run.messages += len(messages)
                run.touched |= {d.thread_key for d in documents}
                self._progress(len(chunk))
        finally:
            if reading is not None:
                reading.cancel()
                await asyncio.gather(reading, return_exceptions=True)

    async def _versions(self, prefix: str) -> dict[Message, list[str]]:
        found: dict[Message, list[str]] = defaultdict(list)
        async for name in self._storage.blobs.names(prefix):
            if isinstance(entry(name), MessageBlob):
                found[_message(name)].append(name)
        return dict(found)

    async def _read(self, names: Sequence[str], run: IndexRun) -> list[SearchDocument | None]:
        gate = asyncio.Semaphore(READS)

        async def one(name: str) -> SearchDocument | None:
            async with gate:
                try:
                    stored, content = await self._storage.versions.both(name)
                except (NotFound, Erased):
                    return None  # disposed of since it was listed, or its key destroyed
            document = _document(content, name=name, stored=stored)
            if document is None:
                run.unreadable.append(name)
            return document

        return list(await asyncio.gather(*(one(name) for name in names)))


def _message(name: str) -> Message:
    _, thread_key, message_key, _ = name.split("/", 3)
    return (thread_key, message_key)


def _document(content: bytes, *, name: str, stored: bytes) -> SearchDocument | None:
    """The search document of a version blob (`content`: its plain document, `stored`:
    its bytes as stored, which a citation hashes), or None when it is not what its name
    says."""
    try:
        parsed = json.loads(content)
        version = version_of(parsed, name=name) if isinstance(parsed, dict) else None
    except (ValueError, DamagedArchive):
        return None
    if version is None or message_blob_name(version) != name:
        return None
    return document_of(version, name=name, sha256=content_sha256(stored), size=len(stored))


async def audited_since(trail: AuditTrail, since: datetime) -> tuple[set[str], set[str]]:
    """What the audit trail records as done since: the keys of the threads disposed of,
    and the version blobs redacted or erased."""
    disposed: set[str] = set()
    erased: set[str] = set()
    async for record in trail.records(since=since):
        if record.get("outcome") != "done":
            continue
        thread_id = (record.get("target") or {}).get("threadId")
        if record.get("action") == "dispose" and isinstance(thread_id, str):
            disposed.add(encode_key(thread_id, field="threadId"))
        if record.get("action") in ("redact", "erase"):
            blobs = (record.get("details") or {}).get("blobs") or []
            erased.update(b for b in blobs if isinstance(b, str))
    return disposed, erased
