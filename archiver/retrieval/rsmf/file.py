"""An RSMF file: an RFC 5322 message with `X-RSMF-*` headers and an `rsmf.zip`
attachment whose root holds `rsmf_manifest.json`; packed, and read back.

Packing is deterministic: the same manifest gives the same bytes (the message's Date
and the zip entry's time are the last event's), so an export can be compared and sealed.
Text from the thread (its topic) reaches the headers only through `header_text`: each
run of control characters (CR, LF, tabs, C1 controls, Unicode line and paragraph
separators) becomes one space, so no topic can end a header or start another; the
manifest keeps the exact text. Pure, no I/O.
"""

from __future__ import annotations

import email
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from archiver import __version__
from archiver.core.errors import DamagedArchive
from archiver.core.fields import format_timestamp
from archiver.core.jsontext import dumps
from archiver.retrieval.rsmf.rules import VERSION

GENERATOR = f"acs-chat-archiver {__version__}"
MANIFEST_NAME = "rsmf_manifest.json"
ZIP_NAME = "rsmf.zip"
CONTENT_TYPE = "message/rfc822"
_SENDER = Address(display_name="ACS chat archiver", addr_spec="archiver@acs-chat-archiver.invalid")
# Everything str.splitlines() breaks at, and every other C0 or C1 control character.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def pack(manifest: dict[str, Any], *, subject: str) -> bytes:
    """The RSMF file of `manifest` (CRLF line ends, the zip in base64)."""
    events = manifest["events"]
    moments = sorted(_moment(e["timestamp"]) for e in events if "timestamp" in e)
    message = EmailMessage(policy=SMTP)
    message["From"] = _SENDER
    message["To"] = Group(display_name=_conversation_name(manifest), addresses=())
    message["Subject"] = header_text(subject)
    if moments:
        message["Date"] = format_datetime(moments[-1])
    message["X-RSMF-Version"] = VERSION
    if moments:
        message["X-RSMF-BeginDate"] = _iso(moments[0])
        message["X-RSMF-EndDate"] = _iso(moments[-1])
    message["X-RSMF-EventCount"] = str(len(events))
    message["X-RSMF-Generator"] = GENERATOR
    message.set_content(_summary(manifest, moments))
    archive = _zip(manifest, moments[-1] if moments else datetime(1980, 1, 1, tzinfo=UTC))
    message.add_attachment(archive, maintype="application", subtype="zip", filename=ZIP_NAME)
    # A boundary from the content rather than a random one: same manifest, same bytes.
    message.set_boundary("rsmf-" + hashlib.sha256(archive).hexdigest()[:32])
    return message.as_bytes()


def header_text(text: str) -> str:
    """`text` as one header line: each run of control characters one space, no space at
    either end."""
    return _CONTROLS.sub(" ", text).strip()


def read_manifest(content: bytes) -> dict[str, Any]:
    """The manifest an RSMF file holds; raise DamagedArchive when it holds none."""
    message = email.message_from_bytes(content, _class=EmailMessage, policy=SMTP)
    for part in message.iter_attachments():
        if isinstance(part, EmailMessage) and part.get_filename() == ZIP_NAME:
            payload = part.get_content()
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                value = json.loads(archive.read(MANIFEST_NAME))
            if isinstance(value, dict):
                return value
    raise DamagedArchive(f"not an RSMF file: no {ZIP_NAME} holding {MANIFEST_NAME}")


def headers(content: bytes) -> dict[str, str]:
    """The headers of an RSMF file, by name."""
    message = email.message_from_bytes(content, _class=EmailMessage, policy=SMTP)
    return {name: str(value) for name, value in message.items()}


def _zip(manifest: dict[str, Any], at: datetime) -> bytes:
    buffer = io.BytesIO()
    entry = zipfile.ZipInfo(MANIFEST_NAME, date_time=at.timetuple()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, dumps(manifest).encode("utf-8"))
    return buffer.getvalue()


def _summary(manifest: dict[str, Any], moments: list[datetime]) -> str:
    talk = _conversation_name(manifest)
    span = f" from {_iso(moments[0])} to {_iso(moments[-1])}" if moments else ""
    count = len(manifest["events"])
    return f"{talk}\n\n{count} events{span}, archived from Azure Communication Services.\n"


def _conversation_name(manifest: dict[str, Any]) -> str:
    conversations = manifest["conversations"]
    if not conversations:
        return "RSMF"
    first = conversations[0]
    return header_text(str(first.get("display") or "")) or header_text(str(first["id"]))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return format_timestamp(moment) or ""
