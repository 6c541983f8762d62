"""Seals: signed, chained statements of exactly which blobs a thread's archive held.

A seal of a thread lists every archived blob of the thread (its message versions, its
thread and participant changes, its transcripts) by name, size and SHA-256, sorted by
name; the RFC 6962 Merkle tree hash over those entries (each leaf the RFC 8785
canonical JSON of one entry); the name and SHA-256 of the thread's previous seal, so a
removed or replaced seal breaks the chain; when it was made; and a signature over the
canonical JSON of all of that, with the id of the key. Each seal covers the whole
thread, so one seal proves any transcript of it. The stored blob is the canonical JSON
of the seal with its signature, so its own SHA-256 is fixed. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import rfc8785

from archiver.core.erasure.receipts import ERASURES_PREFIX
from archiver.core.errors import DamagedArchive
from archiver.core.evidence.merkle import tree_hash
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.layout import (
    MESSAGES_PREFIX,
    SEALS_PREFIX,
    THREADS_PREFIX,
    TRANSCRIPTS_PREFIX,
    content_sha256,
)

FORMAT = "acs-chat-archiver/seal@1"
# Public keys are published at the top of the container, where no thread's folder can
# be: `seals/keys/` (where 0.6 published them) is also the seal folder of a thread whose
# id is `keys`. Either place is a convenience for auditors, never a reason to trust a key.
KEYS_PREFIX = "keys/"
LEGACY_KEYS_PREFIX = f"{SEALS_PREFIX}keys/"
_SEAL_FILE = re.compile(r"^\d{8}T\d{6}Z\.json$")


@dataclass(frozen=True, kw_only=True, order=True)
class Covered:
    """One blob a seal covers: its name, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def leaf(self) -> bytes:
        """The Merkle leaf: the canonical JSON of the entry."""
        return rfc8785.dumps(self.as_json())

    def as_json(self) -> dict[str, Any]:
        """The entry as the seal document holds it."""
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, kw_only=True)
class Link:
    """A seal, by name and the SHA-256 of its blob: the previous seal in a chain."""

    name: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Seal:
    """One seal of one thread; `signature` is empty until it is signed."""

    thread_id: str
    thread_key: str
    sealed_at: datetime
    blobs: tuple[Covered, ...]
    previous: Link | None
    key_id: str
    algorithm: str
    signature: bytes = b""

    @property
    def name(self) -> str:
        """`seals/{threadKey}/{sealedAt:%Y%m%dT%H%M%SZ}.json`."""
        return seal_name(self.thread_key, self.sealed_at)

    @property
    def root_hash(self) -> str:
        """The RFC 6962 Merkle tree hash of the entries, hex."""
        return tree_hash([blob.leaf() for blob in self.blobs]).hex()

    def statement(self) -> dict[str, Any]:
        """Everything the signature covers."""
        return {
            "format": FORMAT,
            "threadId": self.thread_id,
            "threadKey": self.thread_key,
            "sealedAt": format_timestamp(self.sealed_at),
            "previous": None
            if self.previous is None
            else {"name": self.previous.name, "sha256": self.previous.sha256},
            "treeSize": len(self.blobs),
            "rootHash": self.root_hash,
            "keyId": self.key_id,
            "algorithm": self.algorithm,
            "blobs": [blob.as_json() for blob in self.blobs],
        }

    def signed_bytes(self) -> bytes:
        """What is signed: the RFC 8785 canonical JSON of the statement."""
        return rfc8785.dumps(self.statement())

    def document(self) -> bytes:
        """The seal blob: the canonical JSON of the statement and its signature."""
        signature = base64.b64encode(self.signature).decode("ascii")
        return rfc8785.dumps(self.statement() | {"signature": signature})

    def evidence(self) -> dict[str, Any]:
        """What a transcript carries of the seal that covered it."""
        return {
            "seal": self.name,
            "sealSha256": content_sha256(self.document()),
            "sealedAt": format_timestamp(self.sealed_at),
            "treeSize": len(self.blobs),
            "rootHash": self.root_hash,
            "keyId": self.key_id,
            "algorithm": self.algorithm,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }


def seal_name(thread_key: str, sealed_at: datetime) -> str:
    """The blob name of a thread's seal made at `sealed_at`."""
    return f"{SEALS_PREFIX}{thread_key}/{sealed_at:%Y%m%dT%H%M%SZ}.json"


def seals_prefix(thread_key: str) -> str:
    """The folder of a thread's seals."""
    return f"{SEALS_PREFIX}{thread_key}/"


def is_seal_name(name: str, thread_key: str) -> bool:
    """True for the name of one of the thread's seals (and for nothing else that might
    share its folder, such as a public key published there by an earlier version)."""
    folder = seals_prefix(thread_key)
    return name.startswith(folder) and _SEAL_FILE.match(name[len(folder) :]) is not None


def key_name(key_id: str) -> str:
    """Where a public key is published: `keys/{keyId}.pem`."""
    return f"{KEYS_PREFIX}{key_id}.pem"


def covered_prefixes(thread_key: str) -> tuple[str, ...]:
    """The folders whose blobs a seal of the thread covers."""
    folders = (MESSAGES_PREFIX, THREADS_PREFIX, TRANSCRIPTS_PREFIX, ERASURES_PREFIX)
    return tuple(f"{p}{thread_key}/" for p in folders)


def parse_seal(content: bytes, *, name: str) -> Seal:
    """The seal a blob holds; raise DamagedArchive when it is not a seal document."""
    try:
        document = json.loads(content)
        previous = document["previous"]
        seal = Seal(
            thread_id=_text(document["threadId"]),
            thread_key=_text(document["threadKey"]),
            sealed_at=parse_timestamp(document["sealedAt"]),
            blobs=tuple(
                Covered(name=_text(b["name"]), size=_count(b["size"]), sha256=_text(b["sha256"]))
                for b in document["blobs"]
            ),
            previous=None
            if previous is None
            else Link(name=_text(previous["name"]), sha256=_text(previous["sha256"])),
            key_id=_text(document["keyId"]),
            algorithm=_text(document["algorithm"]),
            signature=base64.b64decode(_text(document["signature"]), validate=True),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise DamagedArchive(f"{name} is not a seal document ({exc})") from None
    if document.get("format") != FORMAT or seal.root_hash != document.get("rootHash"):
        raise DamagedArchive(f"{name} is not a seal document (format or root hash)")
    return seal


def unchanged(blobs: Sequence[Covered], last: Seal | None) -> bool:
    """True when the last seal already covers exactly `blobs`: nothing to seal."""
    return last is not None and tuple(sorted(blobs)) == last.blobs


def altered_since(blobs: Sequence[Covered], last: Seal | None) -> list[str]:
    """The blobs `last` covered that are now gone or hold another recorded hash: a
    thread in that state is not sealed again, so tampering is never sealed over."""
    if last is None:
        return []
    now = {blob.name: blob for blob in blobs}
    return [
        f"{b.name} is {'gone' if b.name not in now else 'changed'} since {last.name}"
        for b in last.blobs
        if b.name not in now or (now[b.name].sha256, now[b.name].size) != (b.sha256, b.size)
    ]


def next_seal(
    *,
    thread_id: str,
    thread_key: str,
    blobs: Sequence[Covered],
    last: Seal | None,
    sealed_at: datetime,
    key_id: str,
    algorithm: str,
) -> Seal:
    """The unsigned seal that follows `last` (None: the thread's first), named at least
    a second after it so that the names of a chain sort in its order."""
    previous = None
    sealed_at = sealed_at.replace(microsecond=0)
    if last is not None:
        previous = Link(name=last.name, sha256=content_sha256(last.document()))
        sealed_at = max(sealed_at, last.sealed_at + timedelta(seconds=1))
    return Seal(
        thread_id=thread_id,
        thread_key=thread_key,
        sealed_at=sealed_at,
        blobs=tuple(sorted(blobs)),
        previous=previous,
        key_id=key_id,
        algorithm=algorithm,
    )


def signed(seal: Seal, signature: bytes) -> Seal:
    """`seal` with its signature."""
    return replace(seal, signature=signature)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError("expected a size")
    return value
