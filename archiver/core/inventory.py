"""Reading blob names back: what each name in the archive says it holds.

The inverse of the names in layout.py. A name that does not follow the storage
contract exactly is a stray: the verifier reports it, whatever it contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archiver.core.erasure.receipts import is_receipt_name
from archiver.core.governance.audit import is_audit_name
from archiver.core.keys import decode_key
from archiver.core.layout import (
    MESSAGES_PREFIX,
    QUARANTINE_PREFIX,
    SEALS_PREFIX,
    THREADS_PREFIX,
    is_transcript_name,
)
from archiver.core.records import Action, ThreadChange
from archiver.core.summaries import is_summary_name

_KEY = r"[A-Za-z0-9\-_:@.~]+"
_MESSAGE = re.compile(
    rf"^{MESSAGES_PREFIX}(?P<thread>{_KEY})/(?P<message>{_KEY})/"
    rf"(?P<version>\d{{20}})-(?P<action>{'|'.join(Action)})\.json$"
)
_THREAD = re.compile(
    rf"^{THREADS_PREFIX}(?P<thread>{_KEY})/(?P<version>\d{{20}})-"
    rf"(?P<change>{'|'.join(ThreadChange)})(?:-(?P<participant>{_KEY}))?\.json$"
)
_QUARANTINE = re.compile(rf"^{QUARANTINE_PREFIX}[0-9a-f]{{64}}\.json$")
_SEAL = re.compile(
    rf"^{SEALS_PREFIX}(?:keys/[A-Za-z0-9_-]{{43}}\.pem|{_KEY}/\d{{8}}T\d{{6}}Z\.json)$"
)


@dataclass(frozen=True, kw_only=True)
class MessageBlob:
    """A message version's blob, by name."""

    name: str
    thread_id: str
    message_id: str
    version: int
    action: Action


@dataclass(frozen=True, kw_only=True)
class ThreadBlob:
    """A thread change's blob, by name."""

    name: str
    thread_id: str
    version: int
    change: ThreadChange
    participant_id: str | None


@dataclass(frozen=True, kw_only=True)
class QuarantineBlob:
    """A quarantined event's blob."""

    name: str


@dataclass(frozen=True, kw_only=True)
class TranscriptBlob:
    """A transcript written by export or by archiving a thread from ACS."""

    name: str


@dataclass(frozen=True, kw_only=True)
class SummaryBlob:
    """A summary a language model wrote of a transcript: derived, never the record
    (archiver.core.summaries)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class SealBlob:
    """A seal of a thread, or a public key seals are checked with (archiver.core.evidence.seals)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class ReceiptBlob:
    """An erasure receipt of a thread (archiver.core.erasure.receipts)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class AuditBlob:
    """A record of the access audit trail (archiver.core.governance.audit)."""

    name: str


Entry = (
    MessageBlob
    | ThreadBlob
    | QuarantineBlob
    | TranscriptBlob
    | SummaryBlob
    | SealBlob
    | AuditBlob
    | ReceiptBlob
)


def entry(name: str) -> Entry | None:
    """What `name` holds under the storage contract, or None for a stray name."""
    try:
        return _entry(name)
    except UnicodeDecodeError:
        return None  # an escape sequence that is not UTF-8 was never written by us


def _entry(name: str) -> Entry | None:
    if found := _MESSAGE.match(name):
        return MessageBlob(
            name=name,
            thread_id=decode_key(found["thread"]),
            message_id=decode_key(found["message"]),
            version=int(found["version"]),
            action=Action(found["action"]),
        )
    if found := _THREAD.match(name):
        participant = found["participant"]
        return ThreadBlob(
            name=name,
            thread_id=decode_key(found["thread"]),
            version=int(found["version"]),
            change=ThreadChange(found["change"]),
            participant_id=decode_key(participant) if participant else None,
        )
    if _QUARANTINE.match(name):
        return QuarantineBlob(name=name)
    if is_transcript_name(name):
        return TranscriptBlob(name=name)
    if is_summary_name(name):
        return SummaryBlob(name=name)
    if _SEAL.match(name):
        return SealBlob(name=name)
    if is_audit_name(name):
        return AuditBlob(name=name)
    if is_receipt_name(name):
        return ReceiptBlob(name=name)
    return None
