"""The envelope of one message version: a cleartext header, and the original event
encrypted under a data key of its own, so destroying that key redacts the version while
the envelope's bytes (and so every seal over them) stay as they were.

The blob is the RFC 8785 canonical JSON of

    {"format": "acs-chat-archiver/envelope@1",
     "header": {threadId, messageId, version, action, composeTime, editTime, deleteTime,
                sender (a pseudonym), subjectKeyId, dataKeyId},
     "nonce": base64 of 12 random bytes,
     "ciphertext": base64 of AES-256-GCM(data key, nonce, plaintext, associated data =
                   the header's canonical JSON), the 16-byte tag at its end,
     "commitment": hex SHA-256(salt ‖ event)}

where plaintext is the 16 random salt bytes followed by the event's bytes: exactly the
bytes the commitment hashes (see `commitments`), so the commitment is the SHA-256 of the
plaintext, and no JSON inside means the blob is the event's size times 4/3 (base64) plus
about 500 bytes. A changed header, nonce or ciphertext fails the tag; a changed
commitment fails the check against the decrypted event and salt.

Cost per version: one AES-256-GCM of the event (about 1 KiB) and one AES-256-GCM wrap of
its 32-byte data key; no request to storage or Key Vault.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from archiver.core.erasure.commitments import (
    SALT_BYTES,
    commitment_holds,
    commitment_of,
    new_salt,
)
from archiver.core.erasure.keys import NONCE_BYTES
from archiver.core.errors import UnreadableEnvelope
from archiver.core.fields import format_timestamp, parse_timestamp, parse_version
from archiver.core.records import Action

FORMAT = "acs-chat-archiver/envelope@1"


@dataclass(frozen=True, kw_only=True)
class Header:
    """What an envelope says in clear: ids, order, times, and no personal data."""

    thread_id: str
    message_id: str
    version: int
    action: Action
    compose_time: datetime | None
    edit_time: datetime | None
    delete_time: datetime | None
    sender: str  # the sender's pseudonym, never the raw ACS id
    subject_key_id: str  # the key-table partition of the subject key that wraps the data key
    data_key_id: str

    def document(self) -> dict[str, Any]:
        """The header as the envelope's JSON holds it."""
        return {
            "threadId": self.thread_id,
            "messageId": self.message_id,
            "version": str(self.version),  # a string, as ACS sends it: past 2^53 too
            "action": self.action.value,
            "composeTime": format_timestamp(self.compose_time),
            "editTime": format_timestamp(self.edit_time),
            "deleteTime": format_timestamp(self.delete_time),
            "sender": self.sender,
            "subjectKeyId": self.subject_key_id,
            "dataKeyId": self.data_key_id,
        }


@dataclass(frozen=True, kw_only=True)
class Opened:
    """An envelope opened: its header, the event's exact bytes, and the salt, which
    together with the event is what a disclosure hands over."""

    header: Header
    event: bytes
    salt: bytes
    commitment: str


@dataclass(frozen=True, kw_only=True)
class _Parts:
    header: Header
    associated: bytes
    nonce: bytes
    ciphertext: bytes
    commitment: str


def seal_version(event: bytes, *, header: Header, data_key: bytes) -> bytes:
    """The envelope blob of `event` under `data_key`, with a fresh nonce and salt."""
    salt = new_salt()
    nonce = secrets.token_bytes(NONCE_BYTES)
    plaintext = salt + event
    associated = rfc8785.dumps(header.document())
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated)
    return rfc8785.dumps(
        {
            "format": FORMAT,
            "header": header.document(),
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
            "commitment": commitment_of(event, salt),
        }
    )


def read_header(blob: bytes, *, name: str = "an envelope") -> Header:
    """The cleartext header, read with no key (not authenticated until opened)."""
    return _parts(blob, name).header


def read_commitment(blob: bytes, *, name: str = "an envelope") -> str:
    """The envelope's own commitment, read with no key (a disclosure checks it)."""
    return _parts(blob, name).commitment


def open_version(blob: bytes, *, data_key: bytes, name: str = "an envelope") -> Opened:
    """The event and salt inside `blob`; UnreadableEnvelope when a byte changed, the key
    is not its data key, or the commitment does not hold."""
    parts = _parts(blob, name)
    try:
        plaintext = AESGCM(data_key).decrypt(parts.nonce, parts.ciphertext, parts.associated)
    except (InvalidTag, ValueError):
        raise UnreadableEnvelope(
            f"{name} does not open: its header, nonce or ciphertext changed, "
            f"or the key is not data key {parts.header.data_key_id}"
        ) from None
    salt, event = plaintext[:SALT_BYTES], plaintext[SALT_BYTES:]
    if not commitment_holds(event, salt, parts.commitment):
        raise UnreadableEnvelope(f"{name}'s commitment does not hold for the event inside it")
    return Opened(header=parts.header, event=event, salt=salt, commitment=parts.commitment)


def _parts(blob: bytes, name: str) -> _Parts:
    try:
        document = json.loads(blob)
        fields = document["header"]
        parts = _Parts(
            header=_header(fields),
            associated=rfc8785.dumps(fields),
            nonce=_unb64(document["nonce"]),
            ciphertext=_unb64(document["ciphertext"]),
            commitment=_text(document["commitment"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise UnreadableEnvelope(f"{name} is not an envelope ({exc})") from None
    if document.get("format") != FORMAT:
        raise UnreadableEnvelope(f"{name} is not an envelope (format {document.get('format')!r})")
    return parts


def _header(fields: Any) -> Header:
    if not isinstance(fields, dict) or set(fields) != _HEADER_FIELDS:
        raise ValueError("the header's fields are not an envelope header's")
    return Header(
        thread_id=_text(fields["threadId"]),
        message_id=_text(fields["messageId"]),
        version=parse_version(_text(fields["version"])),
        action=Action(fields["action"]),
        compose_time=_time(fields["composeTime"]),
        edit_time=_time(fields["editTime"]),
        delete_time=_time(fields["deleteTime"]),
        sender=_text(fields["sender"]),
        subject_key_id=_text(fields["subjectKeyId"]),
        data_key_id=_text(fields["dataKeyId"]),
    )


_HEADER_FIELDS = frozenset(
    {"threadId", "messageId", "version", "action", "composeTime", "editTime", "deleteTime"}
    | {"sender", "subjectKeyId", "dataKeyId"}
)


def _time(value: Any) -> datetime | None:
    return None if value is None else parse_timestamp(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any) -> bytes:
    return base64.b64decode(_text(value), validate=True)
