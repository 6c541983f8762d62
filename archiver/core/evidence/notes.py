"""Signed notes: the few lines of text a checkpoint is, for a witness to keep.

In the manner of C2SP's signed notes: a body of lines (the origin, the checkpoint's
number, when it was made, the tree heads, the previous note's SHA-256, the increment's
SHA-256), a blank line, and a signature line `— {keyId} {base64 signature}` over the
body's UTF-8 bytes. A note read back must be in exactly the form it was written. Pure.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from archiver.core.errors import DamagedArchive
from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.layout import content_sha256

SIGNATURE_MARK = "\u2014 "  # an em dash and a space start a signature line, as in C2SP notes


@dataclass(frozen=True, kw_only=True)
class Tree:
    """A tree head: how many leaves, and their RFC 6962 root."""

    size: int
    root: str

    def line(self, label: str) -> str:
        """The tree head as one line of a note."""
        return f"{label} {self.size} {self.root}"


@dataclass(frozen=True, kw_only=True)
class Note:
    """The signed part of a checkpoint; `signature` is empty until it is signed."""

    origin: str
    number: int
    made_at: datetime
    threads: Tree
    audit: Tree
    previous: str | None  # the SHA-256 of the previous checkpoint's note text
    increment: str
    key_id: str = ""
    signature: bytes = b""

    def body(self) -> str:
        """What is signed: the note's lines, each ending in a newline."""
        lines = [
            self.origin,
            str(self.number),
            str(format_timestamp(self.made_at)),
            self.threads.line("threads"),
            self.audit.line("audit"),
            f"previous {self.previous or '-'}",
            f"increment {self.increment}",
        ]
        return "".join(f"{line}\n" for line in lines)

    def text(self) -> str:
        """The signed note: the body, a blank line, and the signature line."""
        signature = base64.b64encode(self.signature).decode("ascii")
        return f"{self.body()}\n{SIGNATURE_MARK}{self.key_id} {signature}\n"

    def sha256(self) -> str:
        """The SHA-256 of the signed note's text: what the next checkpoint chains to."""
        return content_sha256(self.text().encode())


def parse_note(text: str, *, source: str) -> Note:
    """The note `text` holds; raise DamagedArchive naming `source` when it is not one."""
    try:
        body, signature_line = text.split("\n\n", 1)
        lines = body.split("\n")
        origin, number, made, threads, audit, previous, increment = lines
        key_id, signature = _signature_line(signature_line)
        note = Note(
            origin=origin,
            number=int(number),
            made_at=parse_timestamp(made),
            threads=_tree(threads, "threads"),
            audit=_tree(audit, "audit"),
            previous=_labelled(previous, "previous"),
            increment=_labelled(increment, "increment") or "",
            key_id=key_id,
            signature=base64.b64decode(signature, validate=True),
        )
    except (ValueError, TypeError, binascii.Error) as exc:
        raise DamagedArchive(f"{source} is not a checkpoint note ({exc})") from None
    if note.text() != text:
        raise DamagedArchive(f"{source} is not a checkpoint note (not in its exact form)")
    return note


def _signature_line(line: str) -> tuple[str, str]:
    if not line.startswith(SIGNATURE_MARK) or not line.endswith("\n"):
        raise ValueError("no signature line")
    key_id, signature = line[len(SIGNATURE_MARK) : -1].split(" ")
    return key_id, signature


def _tree(line: str, label: str) -> Tree:
    name, size, root = line.split(" ")
    if name != label or len(root) != 64:
        raise ValueError(f"expected a {label} tree head")
    return Tree(size=int(size), root=root)


def _labelled(line: str, label: str) -> str | None:
    name, value = line.split(" ")
    if name != label:
        raise ValueError(f"expected {label}")
    return None if value == "-" else value
