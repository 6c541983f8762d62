"""Push indexing: the archive account's BlobCreated events, as Event Grid delivers them
to the search queue (one event, or an array of them, per message), become the versions
they announce, indexed with their messages' standing (base64 or not: Event Grid has
written queue messages both ways). The webhook's path gains no
request: the index learns of a version from storage's own event, after the blob exists
(its row may still be on its way: a message's standing is decided from its blobs, as
the latest row is). Anything else on the queue is counted as ignored, not retried.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from archiver.core.blobevents import created_blob
from archiver.core.envelopes import RawEvent
from archiver.core.inventory import MessageBlob, entry
from archiver.search.indexing import Indexing, IndexRun


@dataclass(frozen=True)
class Pushed:
    """What one queue message held: versions indexed, and events ignored."""

    run: IndexRun
    ignored: int


def announced(text: str, container: str) -> tuple[list[str], int]:
    """The message versions a queue message's BlobCreated events announce in
    `container`, and how many of its events announce nothing to index."""
    value = _parsed(text)
    if value is None:
        return [], 1
    events = value if isinstance(value, list) else [value]
    names, ignored = [], 0
    for event in events:
        name = (
            created_blob(RawEvent.from_value(event), container) if isinstance(event, dict) else None
        )
        if name is not None and isinstance(entry(name), MessageBlob):
            names.append(name)
        else:
            ignored += 1
    return names, ignored


def _parsed(text: str) -> object:
    """The JSON of a message: as written, or base64 of it, as Event Grid now writes to a
    storage queue (while host.json's `messageEncoding: none` hands every trigger the text
    as stored: the jobs queue's messages are plain JSON). None for neither."""
    for candidate in (text, _unbased(text)):
        if candidate is not None:
            try:
                parsed: object = json.loads(candidate)
            except ValueError:
                continue
            return parsed
    return None


def _unbased(text: str) -> str | None:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


async def push(indexing: Indexing, text: str, container: str) -> Pushed:
    """Index what one queue message announces."""
    names, ignored = announced(text, container)
    run = await indexing.blobs(names) if names else IndexRun()
    return Pushed(run, ignored)
