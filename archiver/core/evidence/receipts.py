"""Disposal receipts: a signed statement that a thread was disposed of under the
retention policy, kept beside the checkpoints where the archive's writers cannot rewrite
it. A checkpoint lets a thread's seals leave only with a receipt signed by a trusted key:
anyone can delete blobs, only the signer can say they were meant to go. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import rfc8785

from archiver.core.errors import DamagedArchive
from archiver.core.evidence.seals import Link
from archiver.core.fields import format_timestamp, parse_timestamp

FORMAT = "acs-chat-archiver/disposal@1"
RECEIPTS_PREFIX = "disposals/"


def receipts_prefix(thread_key: str) -> str:
    """The folder of a thread's disposal receipts."""
    return f"{RECEIPTS_PREFIX}{thread_key}/"


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """One disposal of one thread: its newest seal then, how many blobs went, when."""

    thread_id: str
    thread_key: str
    head: Link | None  # the thread's newest seal when it was disposed of
    blobs: int
    disposed_at: datetime
    key_id: str
    algorithm: str
    signature: bytes = b""

    @property
    def name(self) -> str:
        """`disposals/{threadKey}/{disposedAt:%Y%m%dT%H%M%S%fZ}.json`."""
        return f"{receipts_prefix(self.thread_key)}{self.disposed_at:%Y%m%dT%H%M%S%fZ}.json"

    def statement(self) -> dict[str, Any]:
        """Everything the signature covers."""
        return {
            "format": FORMAT,
            "threadId": self.thread_id,
            "threadKey": self.thread_key,
            "head": None
            if self.head is None
            else {"name": self.head.name, "sha256": self.head.sha256},
            "blobs": self.blobs,
            "disposedAt": format_timestamp(self.disposed_at),
            "keyId": self.key_id,
            "algorithm": self.algorithm,
        }

    def signed_bytes(self) -> bytes:
        """What is signed: the RFC 8785 canonical JSON of the statement."""
        return rfc8785.dumps(self.statement())

    def document(self) -> bytes:
        """The receipt blob: the statement and its signature."""
        signature = base64.b64encode(self.signature).decode("ascii")
        return rfc8785.dumps(self.statement() | {"signature": signature})


def signed_receipt(receipt: Receipt, signature: bytes) -> Receipt:
    """`receipt` with its signature."""
    return replace(receipt, signature=signature)


def parse_receipt(content: bytes, *, name: str) -> Receipt:
    """The receipt a blob holds; raise DamagedArchive when it is not one."""
    try:
        document = json.loads(content)
        head = document["head"]
        receipt = Receipt(
            thread_id=str(document["threadId"]),
            thread_key=str(document["threadKey"]),
            head=None if head is None else Link(name=str(head["name"]), sha256=str(head["sha256"])),
            blobs=int(document["blobs"]),
            disposed_at=parse_timestamp(document["disposedAt"]),
            key_id=str(document["keyId"]),
            algorithm=str(document["algorithm"]),
            signature=base64.b64decode(str(document["signature"]), validate=True),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise DamagedArchive(f"{name} is not a disposal receipt ({exc})") from None
    if document.get("format") != FORMAT or receipt.name != name:
        raise DamagedArchive(f"{name} is not a disposal receipt (format or name)")
    return receipt
