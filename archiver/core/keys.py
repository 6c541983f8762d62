"""Reversible encoding of ACS ids into blob path segments and table keys.

Letters, digits and ``- _ : @ .`` are kept as they are, so a real thread id such as
``19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2`` is its own key. Every other
character, and a leading ``.``, becomes ``~XX`` for each byte of its UTF-8 encoding
(upper-case hex). That removes ``/ \\ # ?``, control characters, ``%`` and ``'``
(which table keys and blob URLs mishandle) and the ``.``/``..`` path segments that
URL normalisation would collapse. ``~`` itself is escaped, so decoding is exact.
Keys longer than MAX_KEY_LENGTH are refused rather than shortened, because a
shortened key could not be decoded back to its id.
"""

from __future__ import annotations

import re
import string

from archiver.core.errors import InvalidEvent

MAX_KEY_LENGTH = 255
_PLAIN = frozenset(string.ascii_letters + string.digits + "-_:@.")
_ESCAPED = re.compile(r"~([0-9A-F]{2})")
_ALL_PLAIN = re.compile(r"[A-Za-z0-9_:@-][A-Za-z0-9_:@.-]*")  # real ACS ids: kept as they are


def encode_key(value: str, *, field: str) -> str:
    """Return the key for an id; raise InvalidEvent naming `field` if it cannot be one."""
    if not value:
        raise InvalidEvent(f"{field} is empty")
    if len(value) <= MAX_KEY_LENGTH and _ALL_PLAIN.fullmatch(value):
        return value
    parts = [
        _escape(char) if char not in _PLAIN or (index == 0 and char == ".") else char
        for index, char in enumerate(value)
    ]
    key = "".join(parts)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidEvent(
            f"{field} is too long to archive ({len(key)} characters once encoded, "
            f"limit {MAX_KEY_LENGTH})"
        )
    return key


def decode_key(key: str) -> str:
    """Return the id a key was made from (the inverse of encode_key)."""
    raw = bytearray()
    position = 0
    for match in _ESCAPED.finditer(key):
        raw += key[position : match.start()].encode("utf-8")
        raw.append(int(match.group(1), 16))
        position = match.end()
    raw += key[position:].encode("utf-8")
    return raw.decode("utf-8", errors="surrogatepass")


def _escape(char: str) -> str:
    return "".join(f"~{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
