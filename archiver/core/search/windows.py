"""Conversation windows: a thread's current messages in time order, cut into
overlapping chunks, so an answer grounded on one has the conversation around a message,
not the message alone.

A window is one message per line, `[time] sender: text`, in the order the messages
were sent (each message's earliest archived version). It takes messages while it holds
at most MAX_MESSAGES of them and MAX_CHARACTERS of text; the next window starts with
the last message of the one before, so every reply is seen with what it answered. A
message longer than MAX_CHARACTERS is a window of its own, whole. Only each message's
current text is there: edited-away text, deleted messages and other versions are not
(they are for investigators, through the messages' index and its citations). Each
window names the blobs it was made from, which cite and prove it. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.core.search.documents import SearchDocument, search_key, standing

MAX_MESSAGES = 8
MAX_CHARACTERS = 2000
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Window:
    """One chunk of a conversation: consecutive current messages of a thread."""

    thread_id: str
    thread_key: str
    ordinal: int  # its place in the thread, from 0
    start: datetime | None  # when its first message was sent
    end: datetime | None  # when its last message was (last) written
    message_ids: tuple[str, ...]
    blobs: tuple[str, ...]  # the version blob of each line, to cite and prove it
    senders: tuple[str, ...]  # display names (or ids), each once
    text: str

    @property
    def key(self) -> str:
        """Its document key: the thread and its place, so writing it again replaces it."""
        return search_key(f"{self.thread_key}/{self.ordinal:06d}")


def windows(
    documents: Iterable[SearchDocument],
    *,
    max_messages: int = MAX_MESSAGES,
    max_characters: int = MAX_CHARACTERS,
) -> list[Window]:
    """The windows of one thread, from the search documents of its versions (any order,
    every version: the current ones are chosen here)."""
    lines = _lines(documents)
    found: list[Window] = []
    start = 0
    while start < len(lines):
        end, size = start, 0
        while end < len(lines) and end - start < max_messages:
            grown = size + len(lines[end].text) + (1 if end > start else 0)
            if end > start and grown > max_characters:
                break
            size, end = grown, end + 1
        found.append(_window(lines[start:end], ordinal=len(found)))
        if end >= len(lines):
            break
        start = end - 1 if end - 1 > start else end  # overlap by one message
    return found


@dataclass(frozen=True)
class _Line:
    document: SearchDocument
    sent: datetime | None
    text: str


def _lines(documents: Iterable[SearchDocument]) -> list[_Line]:
    """Each current message's document and line, in the order the messages were sent."""
    by_message: dict[tuple[str, str], list[SearchDocument]] = defaultdict(list)
    for document in documents:
        by_message[document.message].append(document)
    chosen = []
    for versions in by_message.values():
        held = standing(d.name for d in versions)
        current = next((d for d in versions if d.name == held.current), None)
        if current is None or held.deleted:
            continue
        sent = min((d.time for d in versions if d.time is not None), default=None)
        chosen.append((sent or _NEVER, current.message_key, current))
    chosen.sort(key=lambda entry: (entry[0], entry[1]))
    return [_line(document, None if sent == _NEVER else sent) for sent, _, document in chosen]


def _line(document: SearchDocument, sent: datetime | None) -> _Line:
    when = "" if sent is None else f"[{sent.astimezone(UTC):%Y-%m-%d %H:%M}] "
    return _Line(document, sent, f"{when}{_sender(document)}: {document.text}")


def _sender(document: SearchDocument) -> str:
    return document.sender_name or document.sender_id or document.sender_kind


def _window(lines: Sequence[_Line], *, ordinal: int) -> Window:
    documents = [line.document for line in lines]
    first = documents[0]
    sent = [line.sent for line in lines if line.sent is not None]
    written = [d.time for d in documents if d.time is not None]
    return Window(
        thread_id=first.thread_id,
        thread_key=first.thread_key,
        ordinal=ordinal,
        start=min(sent, default=None),
        end=max(written, default=None),
        message_ids=tuple(d.message_id for d in documents),
        blobs=tuple(d.name for d in documents),
        senders=tuple(dict.fromkeys(_sender(d) for d in documents)),
        text="\n".join(line.text for line in lines),
    )
