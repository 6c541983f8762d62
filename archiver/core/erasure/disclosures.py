"""A disclosure: one message version handed over so that whoever receives it can prove
it with the seal's public key alone, without any key of the archive.

The file is the JSON of

    {"format": "acs-chat-archiver/disclosure@1",
     "threadId", "messageId", "version" (a string, as ACS sends it), "action",
     "disclosedAt",
     "document": the version's plain document as text (its UTF-8 bytes are exactly the
                 bytes archived: the normalized fields and the event as received),
     "salt": base64 of the 16 salt bytes, or null for a version written in plain mode,
     "commitment": hex SHA-256(salt ‖ document), or null,
     "envelope": base64 of the envelope blob's stored bytes, or null,
     "citation": the blob's citation (archiver.core.search.citations: its name, size and
                 SHA-256, the seal's name, SHA-256, tree size and root, and the RFC 6962
                 inclusion proof),
     "seal": the cited seal blob as text}

It holds this one version's text and nothing of any other message's: the envelope is
ciphertext under a key that is not in the file, and the seal lists blob names, sizes and
hashes only. A plain version has no salt; its document is the blob itself, whose
unsalted SHA-256 the seal lists. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archiver.core.erasure.commitments import SALT_BYTES
from archiver.core.erasure.envelopes import Opened
from archiver.core.errors import DamagedArchive, InvalidEvent, InvalidQuery
from archiver.core.fields import format_timestamp, parse_version
from archiver.core.inventory import MessageBlob
from archiver.core.keys import encode_key
from archiver.core.records import Action
from archiver.core.search.citations import Citation, parse_citation

FORMAT = "acs-chat-archiver/disclosure@1"
PLAIN_NOTE = (
    "plain version: no salt and no commitment; the seal covers the document's own "
    "unsalted SHA-256, which anyone holding a guess of a short text in it can confirm"
)


@dataclass(frozen=True, kw_only=True)
class Enveloped:
    """What a disclosure of an envelope adds: the salt, the commitment, the envelope."""

    salt: bytes
    commitment: str
    envelope: bytes


@dataclass(frozen=True, kw_only=True)
class Disclosure:
    """A disclosure read back: what it says it is, and the bytes it hands over."""

    thread_id: str
    message_id: str
    version: int
    action: Action
    document: bytes
    enveloped: Enveloped | None  # None: a version written in plain mode
    citation: dict[str, Any]  # as parse_citation checked it
    seal: bytes

    @property
    def stored(self) -> bytes:
        """The blob's bytes as the archive stores them: the envelope, or the document."""
        return self.document if self.enveloped is None else self.enveloped.envelope


def disclosure_of(
    blob: MessageBlob,
    *,
    stored: bytes,
    opened: Opened | None,
    citation: Citation,
    seal: bytes,
    at: datetime,
) -> dict[str, Any]:
    """The disclosure of version blob `blob`, whose bytes are `stored` (an envelope,
    `opened`; or, when `opened` is None, a plain document), cited by `seal`'s bytes."""
    document = stored if opened is None else opened.event
    return {
        "format": FORMAT,
        "threadId": blob.thread_id,
        "messageId": blob.message_id,
        "version": str(blob.version),
        "action": str(blob.action),
        "disclosedAt": format_timestamp(at),
        "document": _text(document, blob.name),
        "salt": None if opened is None else _b64(opened.salt),
        "commitment": None if opened is None else opened.commitment,
        "envelope": None if opened is None else _b64(stored),
        "citation": citation.as_json(),
        "seal": _text(seal, citation.sealed.seal if citation.sealed else "the seal"),
        **({"note": PLAIN_NOTE} if opened is None else {}),
    }


def parse_disclosure(content: bytes | str) -> Disclosure:
    """A disclosure file, checked for shape (not for truth: see disclosurecheck); raise
    InvalidQuery naming what is wrong."""
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise InvalidQuery(f"the disclosure is not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidQuery(f"not a disclosure of this archiver (format {FORMAT})")
    citation = parse_citation(json.dumps(document.get("citation")))
    try:
        disclosure = Disclosure(
            thread_id=_field(document, "threadId"),
            message_id=_field(document, "messageId"),
            version=parse_version(_field(document, "version")),
            action=Action(_field(document, "action")),
            document=_field(document, "document").encode(),
            enveloped=_enveloped(document),
            citation=citation,
            seal=_field(document, "seal").encode(),
        )
        encode_key(disclosure.thread_id, field="threadId")
    except (ValueError, TypeError, binascii.Error, InvalidEvent) as exc:
        raise InvalidQuery(f"the disclosure is malformed ({exc})") from None
    return disclosure


def _enveloped(document: dict[str, Any]) -> Enveloped | None:
    parts = [document.get(name) for name in ("salt", "commitment", "envelope")]
    if all(part is None for part in parts):
        return None
    if not all(isinstance(part, str) for part in parts):
        raise InvalidQuery("a disclosure has a salt, a commitment and an envelope, or none")
    salt, commitment, envelope = (str(part) for part in parts)
    enveloped = Enveloped(salt=_unb64(salt), commitment=commitment, envelope=_unb64(envelope))
    if len(enveloped.salt) != SALT_BYTES:
        raise InvalidQuery(f"the disclosure's salt is not {SALT_BYTES} bytes")
    return enveloped


def _field(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise InvalidQuery(f"the disclosure's {name!r} is missing or not a string")
    return value


def _text(content: bytes, name: str) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedArchive(f"{name} is not UTF-8 JSON; run verify") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)
