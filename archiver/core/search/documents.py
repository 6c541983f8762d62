"""A message version as a search document, and where each version of a message stands.

Every version blob is one document, named by its blob: an edit does not replace the
text it edited, it adds a document, so `--versions all` finds edited-away and deleted
text. Which document is a message's current text, and whether the message was deleted,
is its standing, decided from its versions' blob names alone (version, then action, as
the latest row decides) and written onto all its documents. Pure.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from archiver.core.inventory import MessageBlob, entry
from archiver.core.records import Action, MessageVersion
from archiver.core.versions import Stamp

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, kw_only=True)
class SearchDocument:
    """One message version as the indexes store it; `name` is its identity."""

    name: str  # the version's blob
    sha256: str
    size: int
    thread_id: str
    thread_key: str
    message_id: str
    message_key: str
    version: int
    action: str
    time: datetime | None  # when this version happened (sent, edited or deleted)
    sender_id: str | None
    sender_name: str | None
    sender_kind: str
    text: str  # what is searched: the body, HTML tags removed; empty for a deletion
    current: bool = False  # the message's newest version with text
    deleted: bool = False  # the message's newest version is its deletion

    @property
    def message(self) -> tuple[str, str]:
        """The message it is a version of: (thread key, message key)."""
        return (self.thread_key, self.message_key)


@dataclass(frozen=True)
class Standing:
    """Where a message's versions stand: its current text's blob and whether it is
    deleted (a message deleted before any text was archived has no current blob)."""

    current: str | None
    deleted: bool


def document_of(version: MessageVersion, *, name: str, sha256: str, size: int) -> SearchDocument:
    """The search document of one archived version (its standing not yet known)."""
    body = version.body or ""
    if (version.type or "").lower() == "html":
        body = html.unescape(_TAG.sub(" ", body))
    moment = {
        Action.RECEIVED: version.compose_time,
        Action.EDITED: version.edit_time,
        Action.DELETED: version.delete_time,
    }[version.action]
    return SearchDocument(
        name=name,
        sha256=sha256,
        size=size,
        thread_id=version.thread_id,
        thread_key=version.thread_key,
        message_id=version.message_id,
        message_key=version.message_key,
        version=version.version,
        action=str(version.action),
        time=moment or version.compose_time,
        sender_id=version.sender.raw_id,
        sender_name=version.sender.display_name,
        sender_kind=version.sender.kind,
        text="" if version.action == Action.DELETED else " ".join(body.split()),
    )


def standing(names: Iterable[str]) -> Standing:
    """The standing of a message from the blob names of its versions (names that are
    not message versions are ignored)."""
    versions = sorted(
        (found for found in map(entry, names) if isinstance(found, MessageBlob)), key=_stamp
    )
    if not versions:
        return Standing(current=None, deleted=False)
    with_text = [v for v in versions if v.action != Action.DELETED]
    return Standing(
        current=with_text[-1].name if with_text else None,
        deleted=versions[-1].action == Action.DELETED,
    )


def search_key(name: str) -> str:
    """A document key Azure AI Search accepts (letters, digits, `_`, `-`, `=`): the
    blob name in URL-safe base64."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii")


def _stamp(blob: MessageBlob) -> Stamp:
    return Stamp.of(blob.version, blob.action)
