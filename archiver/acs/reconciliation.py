"""Archiving a finished thread from ACS: list it, write its transcript, repair the archive.

Microsoft's batch option for chat archiving (list a finished thread's messages, write
them as JSON and CSV, copy them to Blob storage), joined to the real-time archive:

1. ListMessages, 200 a page, newest first. Every message version ACS shows that the
   archive lacks is archived through the same Archive (create-only blob, ordered row
   advance, thread row), so a repair is stored exactly as the event would have been.
2. The transcript (JSON and CSV, oldest first) goes to `transcripts/{threadKey}/`,
   turned around through a Spool so that a thread of any length fits in memory.
3. The thread row gets what ACS says of the thread (at version 0: events outrank it)
   and when its transcript was written, so the timer archives it again only after new
   activity.

ACS shows only the current state of each message: earlier versions the archive missed
cannot be recovered from it, and the report counts those messages. A thread ACS can no
longer list (deleted) gets its transcript from the archive instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from archiver.acs.completeness import Listing
from archiver.acs.listing import (
    Listed,
    ListedThread,
    members,
    read_message,
    read_participant,
    removed,
    thread_facts,
)
from archiver.acs.reports import Reconciled, record_run
from archiver.acs.spool import Spool
from archiver.capture.archive import Archive
from archiver.capture.report import Outcome
from archiver.core.errors import AcsDenied, ThreadNotInAcs
from archiver.core.fields import format_timestamp
from archiver.core.governance.principals import TIMER, Principal
from archiver.core.keys import decode_key
from archiver.core.layout import MESSAGES_PREFIX, message_blob_name
from archiver.core.records import Action, MessageVersion, Party, Quarantined
from archiver.core.threads import Patch, ThreadRow
from archiver.governance.trail import AuditTrail
from archiver.retrieval.export import Export, transcript
from archiver.retrieval.formats import Format, Heading, Section, render
from archiver.retrieval.readback import key_of
from archiver.retrieval.transcript import section, version_entry
from archiver.retrieval.transcriptblobs import write_transcripts
from archiver.storage.ports import Storage
from archiver.summaries.summarizer import Summaries

REPAIR_BATCH = 100  # repaired versions stored per Archive.store call
MAX_THREADS_PER_RUN = 100  # the timer's share of threads per run; the next run goes on


class Chat(Protocol):
    """What reconciliation needs of ACS (archiver.acs.client.AcsChat, opened)."""

    @property
    def user(self) -> str:
        """The archiver's own identity."""

    async def properties(self, thread_id: str) -> dict[str, Any]:
        """The thread's properties."""

    def participants(self, thread_id: str) -> AsyncIterator[dict[str, Any]]:
        """The thread's current participants."""

    def message_pages(self, thread_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The thread's messages, a page at a time, newest first."""


ChatOpener = Callable[[], AbstractAsyncContextManager[Chat]]


class Reconciler:
    """Archives finished threads from ACS into the archive and transcripts/."""

    def __init__(
        self,
        storage: Storage,
        archive: Archive,
        chat: ChatOpener,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        trail: AuditTrail | None = None,
        summaries: Summaries | None = None,
    ) -> None:
        self._storage = storage
        self._archive = archive
        self._chat = chat
        self._clock = clock
        self._trail = trail
        self._summaries = summaries  # a summary of each transcript, when they are on

    async def thread(self, thread_id: str, principal: Principal = TIMER) -> Reconciled:
        """Archive one thread; raise AcsDenied or AcsUnavailable, or ThreadNotInAcs when
        neither ACS nor the archive holds it."""
        async with self._chat() as chat:
            return await self._audited(await self._one(chat, thread_id), principal)

    async def _audited(self, report: Reconciled, principal: Principal) -> Reconciled:
        if self._summaries is not None and report.transcripts:
            report.summary = await self._summaries.of(report.thread_id, report.transcripts)
        if self._trail is not None:
            await record_run(self._trail, report, principal)
        return report

    async def inactive(
        self, days: int, principal: Principal = TIMER, *, threads: Collection[str] | None = None
    ) -> AsyncIterator[Reconciled]:
        """Archive the threads without activity for `days` whose activity no transcript
        covers yet, least recently active first, at most MAX_THREADS_PER_RUN. A thread
        ACS refuses is reported (`refused`) and skipped; AcsUnavailable ends the run.
        `threads`: only these (a batch of the jobs queue), each looked up by key."""
        due = self._clock() - timedelta(days=days)
        candidates = [row async for row in self._rows(threads) if _due(row, due)]
        candidates.sort(key=lambda row: (row.last_activity, row.thread_key))
        if not candidates:
            return
        async with self._chat() as chat:
            for row in candidates[:MAX_THREADS_PER_RUN]:
                try:
                    report = await self._one(chat, row.thread_id)
                except (AcsDenied, ThreadNotInAcs) as refused:
                    report = Reconciled(row.thread_id, source="none", refused=str(refused))
                yield await self._audited(report, principal)

    async def _rows(self, threads: Collection[str] | None) -> AsyncIterator[ThreadRow]:
        if threads is None:
            async for row in self._storage.threads.scan():
                yield row
            return
        for thread_id in sorted(threads):
            if (known := await self._storage.threads.get(key_of(thread_id))) is not None:
                yield known.row

    async def _one(self, chat: Chat, thread_id: str) -> Reconciled:
        thread_key = key_of(thread_id)
        known = await self._storage.threads.get(thread_key)
        row = known.row if known is not None else None
        if row is not None and row.delete_time is not None:
            return await self._from_archive(thread_id, row, "ACS deleted the thread")
        try:
            listed = ListedThread.model_validate(await chat.properties(thread_id))
        except ThreadNotInAcs as gone:
            if row is None and not await self._holds(thread_key):
                raise
            return await self._from_archive(thread_id, row, str(gone))
        return await self._from_acs(chat, listed, row)

    async def _from_acs(
        self, chat: Chat, listed: ListedThread, row: ThreadRow | None
    ) -> Reconciled:
        thread_id, thread_key = listed.id, key_of(listed.id)
        report = Reconciled(thread_id)
        prefix = f"{MESSAGES_PREFIX}{thread_key}/"
        archived = {name async for name in self._storage.blobs.names(prefix)}
        held = {decode_key(name.split("/")[2]) for name in archived}
        listing = Listing()
        former: dict[str, Party] = {}
        newest = listed.created_on
        with Spool() as spool:
            async for page in chat.message_pages(thread_id):
                results = [read_message(thread_id, item) for item in page]
                listing.add(page, [result.system is not None for result in results])
                spool.add([version_entry(v) for r in results if (v := r.version) is not None])
                for result in results:
                    newest = _later(newest, result.when)
                    for person in removed(result.system) if result.system else ():
                        former.setdefault(str(person.raw_id), person)
                await self._repair(results, archived, report)
            people = [p async for p in _people(chat, thread_id)]
            present = {p.raw_id for p in people} | {chat.user}
            thread = section(
                thread_id=thread_id,
                topic=listed.topic,
                created_by=listed.created_by.resolved_raw_id() if listed.created_by else None,
                create_time=listed.created_on,
                delete_time=None,
                participants=members(p for p in people if p.raw_id != chat.user),
                former_participants=members(p for k, p in former.items() if k not in present),
            )
            heading = Heading(
                exported_at=format_timestamp(self._clock()) or "", source="acs", all_versions=False
            )
            report.transcripts = await write_transcripts(
                self._storage,
                thread_key,
                self._clock(),
                lambda form: render(form, heading, _alone(thread, spool.oldest_first())),
            )
        activity = _later(newest, row.last_activity if row else None)
        facts = thread_facts(
            thread_key,
            listed,
            people,
            archiver=chat.user,
            activity=activity,
            transcript_time=self._clock(),
        )
        report.gaps = listing.against(held)
        report.complete = report.gaps.complete
        verified = replace(
            facts,
            verified_at=self._clock(),
            complete=report.complete,
            gaps=report.gaps.as_json(),
        )
        await self._archive.join(Patch(verified))
        return report

    async def _repair(self, results: list[Listed], archived: set[str], report: Reconciled) -> None:
        """Store every version ACS shows that the archive lacks, as the archive stores."""
        messages = {name.rsplit("/", 1)[0] for name in archived}
        missing: list[MessageVersion | Quarantined] = []
        for result in results:
            record = result.record
            report.system += result.system is not None
            if isinstance(record, Quarantined):
                missing.append(record)
            elif isinstance(record, MessageVersion):
                report.listed += 1
                name = message_blob_name(record)
                if name in archived:
                    report.present += 1
                    continue
                missing.append(record)
                if record.action is not Action.RECEIVED and name.rsplit("/", 1)[0] not in messages:
                    # Edited or deleted, and no version of it archived: what it said
                    # before is gone, as ACS keeps only the current state.
                    report.unrecoverable += 1
        for start in range(0, len(missing), REPAIR_BATCH):
            batch = missing[start : start + REPAIR_BATCH]
            stored = await self._archive.store(batch)
            for record, outcome in zip(batch, stored.outcomes, strict=True):
                if outcome is Outcome.QUARANTINED:
                    report.quarantined += 1
                elif isinstance(record, MessageVersion) and outcome is Outcome.ARCHIVED:
                    report.repaired.append(f"{record.message_id} v{record.version} {record.action}")
                elif isinstance(record, MessageVersion):
                    report.present += 1  # stored meanwhile, by an event or another run

    async def _from_archive(self, thread_id: str, row: ThreadRow | None, why: str) -> Reconciled:
        thread_key = key_of(thread_id)

        async def exported(form: Format) -> AsyncIterator[bytes]:
            export = Export(threads=(thread_id,), form=form)
            async for chunk in await transcript(self._storage, export, clock=self._clock):
                yield chunk

        written = await write_transcripts(self._storage, thread_key, self._clock(), exported)
        activity = row.last_activity if row is not None else None
        covered = ThreadRow(
            thread_key=thread_key,
            thread_id=thread_id,
            transcript_time=self._clock(),
            transcript_activity=activity,
        )
        await self._archive.join(Patch(covered))
        return Reconciled(
            thread_id,
            source="archive",
            transcripts=written,
            note=f"{why}; the transcript was written from the archive",
        )

    async def _holds(self, thread_key: str) -> bool:
        async for _ in self._storage.blobs.names(f"{MESSAGES_PREFIX}{thread_key}/"):
            return True
        return False


def _due(row: ThreadRow, due: datetime) -> bool:
    if row.last_activity is None or row.last_activity >= due:
        return False
    return row.transcript_activity is None or row.transcript_activity < row.last_activity


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


async def _people(chat: Chat, thread_id: str) -> AsyncIterator[Party]:
    async for item in chat.participants(thread_id):
        person = read_participant(item)
        if person is not None:
            yield person


async def _alone(
    thread: dict[str, Any], entries: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[Section]:
    yield Section(thread, entries)
