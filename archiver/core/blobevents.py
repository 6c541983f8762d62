"""Storage's BlobCreated events, read: which blob of which container one announces.
Both the dead-letter replay and search's push indexing are fed by them. Pure."""

from __future__ import annotations

import re

from archiver.core.envelopes import RawEvent

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
_BLOB_SUBJECT = re.compile(r"^/blobServices/default/containers/([^/]+)/blobs/(.+)$")


def created_blob(event: RawEvent, container: str) -> str | None:
    """The name of the blob a BlobCreated event announces in `container`, else None."""
    if event.event_type != BLOB_CREATED:
        return None
    subject = event.value.get("subject")
    found = _BLOB_SUBJECT.match(subject) if isinstance(subject, str) else None
    if found is None or found.group(1) != container:
        return None
    return found.group(2)
