"""Rewriting what the tables say of erased versions: a latest row whose version's key is
gone shows "[redacted: receipt N]" in place of its text and metadata (and, for an
erasure, of its sender's name and id), so the read API and anyone querying
`ChatMessages` directly see what the blobs now read as. ETag-checked, read again and
retried when a delivery moves the row meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from archiver.core.erasure.redacted import redacted_text
from archiver.core.errors import ConcurrentUpdate
from archiver.core.layout import LatestRow
from archiver.storage.ports import Storage

ATTEMPTS = 5


async def redact_row(
    storage: Storage,
    thread_key: str,
    message_key: str,
    *,
    gone: frozenset[str],
    receipt: str,
    sender: bool = False,
) -> bool:
    """Rewrite the message's row if it points at one of the `gone` blobs; whether it did.
    `sender`: also scrub the sender's display name and id (an erasure)."""
    for _ in range(ATTEMPTS):
        current = await storage.messages.current(thread_key, message_key)
        row = await storage.messages.get(thread_key, message_key)
        if current is None or row is None or row.blob_name not in gone:
            return False
        rewritten = _redacted(row, receipt=receipt, sender=sender)
        if rewritten == row:
            return False
        try:
            await storage.messages.replace(rewritten, etag=current.etag)
        except ConcurrentUpdate:
            continue  # moved between the two reads or since: read again
        return True
    raise ConcurrentUpdate(f"the row of {thread_key}/{message_key} kept changing")


def _redacted(row: LatestRow, *, receipt: str, sender: bool) -> LatestRow:
    rewritten = replace(row, body=redacted_text(receipt), metadata=None)
    if sender:
        rewritten = replace(rewritten, sender_id=None, sender_display_name=None)
    return rewritten


async def scrub_member(
    storage: Storage, thread_key: str, participant: str | Callable[[str], Awaitable[bool]]
) -> bool:
    """Drop the participant's display name from the thread's `ChatThreads` member list
    (their ACS id stays: later events of theirs join by it, and custodian holds find it);
    whether the row changed. `participant`: their ACS id, or a test of a member's id (by
    pseudonym, when only that is known). ETag-checked, read again on a conflict."""
    for _ in range(ATTEMPTS):
        known = await storage.threads.get(thread_key)
        if known is None:
            return False
        members = tuple(
            [
                replace(m, display_name=None) if await _is(participant, m.raw_id) else m
                for m in known.row.members
            ]
        )
        if members == known.row.members:
            return False
        try:
            await storage.threads.replace(replace(known.row, members=members), etag=known.etag)
        except ConcurrentUpdate:
            continue
        return True
    raise ConcurrentUpdate(f"the thread row of {thread_key} kept changing")


async def _is(participant: str | Callable[[str], Awaitable[bool]], raw_id: str) -> bool:
    return participant == raw_id if isinstance(participant, str) else await participant(raw_id)
