"""Erasure receipts: what a redaction or an erasure decided and did in one thread, kept
as a create-only blob under the thread's own folder, `erasures/{threadKey}/`, so the
thread's next seal covers it and the checkpoint anchors it like any other blob.

A receipt says: which request (its reference and legal basis or reason), who asked and
who approved, when, and for each affected version blob its name, its sealed SHA-256 and
size (its leaf), what was decided (shredded, restricted, queued behind a hold, deleted),
the key it concerned and the SHA-256 of that key's wrapped bytes as they were before
(proof of which key went, and nothing that opens anything). It never holds erased text.

Two phases, each its own receipt: `keys-destroyed` when the keys are gone from the key
table, and `irrecoverable` once every window in which a copy of them could come back has
passed (the key table's backups, Key Vault's soft delete). A queued item gets its
`keys-destroyed` receipt when the last matter releases the thread.

A receipt's id is derived from the request reference, the kind and the thread, so doing
the same request again finds its receipt instead of writing another. Pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import rfc8785

from archiver.core.errors import DamagedArchive
from archiver.core.fields import format_timestamp, parse_timestamp

ERASURES_PREFIX = "erasures/"
FORMAT = "acs-chat-archiver/erasure-receipt@1"
REDACTED = "[redacted: receipt {}]"  # what readers show in place of an erased text
_NAME = re.compile(
    rf"^{ERASURES_PREFIX}(?P<thread>[A-Za-z0-9\-_:@.~]+)/(?P<at>\d{{8}}T\d{{6}}Z)-"
    r"(?P<id>[0-9a-f]{16})-(?P<phase>keys-destroyed|irrecoverable)\.json$"
)


class Kind(StrEnum):
    """A redaction of chosen versions, or the erasure of everything a person sent."""

    REDACTION = "redaction"
    ERASURE = "erasure"


class Phase(StrEnum):
    """The keys are gone from the key table; no copy of them can come back."""

    KEYS_DESTROYED = "keys-destroyed"
    IRRECOVERABLE = "irrecoverable"


class Decision(StrEnum):
    """What became of one item, by the precedence hold > retention obligation > erasure."""

    SHREDDED = "shredded"  # its key destroyed now
    RESTRICTED = "restricted"  # its key re-wrapped under the restriction key
    QUEUED = "queued"  # a matter holds it: shredded when the last one releases it
    DELETED = "deleted"  # a plain archive's blob deleted (no key to destroy)


@dataclass(frozen=True, kw_only=True)
class Item:
    """One affected version blob: its leaf, the decision, the key it concerned."""

    blob: str
    sha256: str  # of the stored bytes, as the thread's seals cover them
    size: int
    decision: Decision
    key: str | None = None  # "{subjectKeyId}/{dataKeyId}" or a subject key's id
    wrapped_sha256: str | None = None  # SHA-256 of the key's wrapped bytes before
    held_by: tuple[str, ...] = ()  # the matters holding it, when queued

    def document(self) -> dict[str, Any]:
        """The item as the receipt holds it."""
        return {
            "blob": self.blob,
            "sha256": self.sha256,
            "size": self.size,
            "decision": self.decision.value,
            "key": self.key,
            "wrappedSha256": self.wrapped_sha256,
            "heldBy": list(self.held_by),
        }


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """One phase of one request, in one thread."""

    receipt_id: str
    phase: Phase
    kind: Kind
    request: str  # the request's reference (a ticket, a DSAR number)
    basis: str  # the legal basis (erasure) or the reason (redaction)
    thread_id: str
    thread_key: str
    requested_by: str
    approved_by: tuple[str, ...]
    at: datetime
    items: tuple[Item, ...]
    # Signed with the seal key when the archiver has one (always, for a plain archive's
    # deletions: only a receipt signed by a trusted key accounts for a missing leaf).
    key_id: str | None = None
    algorithm: str | None = None
    signature: bytes | None = None

    @property
    def name(self) -> str:
        """`erasures/{threadKey}/{at}-{id}-{phase}.json`: under the thread, so sealed with it."""
        return (
            f"{ERASURES_PREFIX}{self.thread_key}/{self.at:%Y%m%dT%H%M%SZ}-"
            f"{self.receipt_id}-{self.phase}.json"
        )

    def signed_bytes(self) -> bytes:
        """What the signature signs: the canonical JSON without the signature."""
        return rfc8785.dumps(self._fields())

    def document(self) -> bytes:
        """The receipt's canonical JSON (RFC 8785): the bytes its seal hashes."""
        fields = self._fields()
        if self.signature is not None:
            fields["signature"] = base64.b64encode(self.signature).decode("ascii")
        return rfc8785.dumps(fields)

    def _fields(self) -> dict[str, Any]:
        return dict(
            {
                "format": FORMAT,
                "receiptId": self.receipt_id,
                "phase": self.phase.value,
                "kind": self.kind.value,
                "request": self.request,
                "basis": self.basis,
                "threadId": self.thread_id,
                "threadKey": self.thread_key,
                "requestedBy": self.requested_by,
                "approvedBy": list(self.approved_by),
                "at": format_timestamp(self.at),
                "items": [item.document() for item in self.items],
                "keyId": self.key_id,
                "algorithm": self.algorithm,
            }
        )


def receipt_id(request: str, kind: Kind, thread_key: str, scope: str) -> str:
    """The id of `request`'s receipts in the thread: the same request, the same id.
    `scope` is what it names in the thread (a message, a version, a participant's
    pseudonym), so two requests under one reference stay apart."""
    label = json.dumps([request, kind.value, thread_key, scope]).encode("utf-8")
    return hashlib.sha256(b"acs-chat-archiver/receipt@1\x00" + label).hexdigest()[:16]


def is_receipt_name(name: str, thread_key: str | None = None) -> bool:
    """Whether `name` is a receipt's (of `thread_key`, when given)."""
    found = _NAME.match(name)
    return found is not None and (thread_key is None or found["thread"] == thread_key)


def receipt_of(name: str) -> tuple[str, str, Phase] | None:
    """(thread key, receipt id, phase) a receipt's name says, or None."""
    found = _NAME.match(name)
    if found is None:
        return None
    return found["thread"], found["id"], Phase(found["phase"])


def parse_receipt(content: bytes, *, name: str) -> Receipt:
    """The receipt a blob holds; DamagedArchive when it is not one."""
    try:
        document = json.loads(content)
        _check_format(document.get("format"))
        return Receipt(
            receipt_id=str(document["receiptId"]),
            phase=Phase(document["phase"]),
            kind=Kind(document["kind"]),
            request=str(document["request"]),
            basis=str(document["basis"]),
            thread_id=str(document["threadId"]),
            thread_key=str(document["threadKey"]),
            requested_by=str(document["requestedBy"]),
            approved_by=tuple(str(p) for p in document["approvedBy"]),
            at=parse_timestamp(document["at"]),
            items=tuple(_item(i) for i in document["items"]),
            key_id=document.get("keyId"),
            algorithm=document.get("algorithm"),
            signature=_signature(document.get("signature")),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise DamagedArchive(f"{name} is not an erasure receipt ({exc})") from None


def _signature(value: object) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("the signature is not text")
    return base64.b64decode(value, validate=True)


def _check_format(value: object) -> None:
    if value != FORMAT:
        raise ValueError(f"format {value!r}")


def _item(value: dict[str, Any]) -> Item:
    return Item(
        blob=str(value["blob"]),
        sha256=str(value["sha256"]),
        size=int(value["size"]),
        decision=Decision(value["decision"]),
        key=value.get("key"),
        wrapped_sha256=value.get("wrappedSha256"),
        held_by=tuple(str(m) for m in value.get("heldBy") or ()),
    )
