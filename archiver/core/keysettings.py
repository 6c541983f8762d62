"""The settings of envelope mode's key table: where the wrapped keys live, mutable and
outside the WORM container (issue 26)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from archiver.core.errors import ConfigurationError

DEFAULT_KEYS_TABLE = "ChatKeys"
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


@dataclass(frozen=True, kw_only=True)
class KeySettings:
    """`ChatKeys`: one row per wrapped subject or data key."""

    table: str = DEFAULT_KEYS_TABLE


def read_keys(values: Mapping[str, str]) -> KeySettings:
    """ARCHIVE_KEYS_TABLE; raise ConfigurationError naming the setting."""
    table = values.get("ARCHIVE_KEYS_TABLE", "").strip() or DEFAULT_KEYS_TABLE
    if not _TABLE_NAME.match(table):
        raise ConfigurationError(
            f"ARCHIVE_KEYS_TABLE must be 3-63 letters and digits, starting with a letter, "
            f"got {table!r}"
        )
    return KeySettings(table=table)
