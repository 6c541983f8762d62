"""Rewriting what the tables say of erased versions: a latest row whose version's key is
gone shows "[redacted: receipt N]" in place of its text and metadata (and, for an
erasure, of its sender's name and id), so the read API and anyone querying
`ChatMessages` directly see what the blobs now read as. ETag-checked, read again and
retried when a delivery moves the row meanwhile."""

from __future__ import annotations

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
