"""The settings of envelope mode (issue 26): whether new versions are written as
envelopes, the root key that wraps every subject key, and the key table.

ARCHIVE_ENVELOPE (off by default, so an archive keeps the contract it was made with):
when on, every new message version is written as an envelope (archiver.core.erasure).
Reading needs only ARCHIVE_ROOT_KEY: an archive with envelopes in it is read whether or
not new versions are still written as envelopes.

ARCHIVE_ROOT_KEY: a Key Vault key's URI, `https://{vault}.vault.azure.net/keys/{name}`
(optionally `/{version}`), an RSA key whose private half never leaves Key Vault (subject
keys are wrapped with its public half, unwrapped inside Key Vault);
or, in development, 32 bytes in base64 (openssl rand -base64 32), as text or as the path
to a file of it. The key table (ARCHIVE_KEYS_TABLE, mutable, outside WORM) holds every
wrapped key; the root key is the one thing a storage reader or writer must never have.

ARCHIVE_RESTRICTION_KEY: the public half of the restriction key
(archiver.core.erasure.restriction), a PEM RSA public key as text (newlines or `\\n`
escapes) or the path to a file of it (`archiver restriction-key create` makes one). An
item under a retention obligation whose erasure is asked for has its keys restricted
under it; its private half exists only as two admins' shares, never in a setting.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from archiver.core.erasure.restriction import RestrictionKey
from archiver.core.errors import ConfigurationError
from archiver.core.flags import read_flag
from archiver.core.sealsettings import key_vault_uri

DEFAULT_KEYS_TABLE = "ChatKeys"
ENVELOPE_SETTING = "ARCHIVE_ENVELOPE"
ROOT_KEY_SETTING = "ARCHIVE_ROOT_KEY"
RESTRICTION_KEY_SETTING = "ARCHIVE_RESTRICTION_KEY"
ROOT_KEY_BYTES = 32
MINIMUM_RETENTION_SETTING = "ARCHIVE_MINIMUM_RETENTION_DAYS"
MAX_DAYS = 36500
RECOVERY_SETTING = "ARCHIVE_KEY_RECOVERY_DAYS"
DEFAULT_RECOVERY_DAYS = 90  # Key Vault's longest soft-delete window, and backups' usual
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


@dataclass(frozen=True, kw_only=True)
class RootKey:
    """The root key: 32 bytes held here (development), or a Key Vault key's URI."""

    material: bytes | None = field(default=None, repr=False)
    key_vault_uri: str | None = None


@dataclass(frozen=True, kw_only=True)
class KeySettings:
    """`ChatKeys`, one row per wrapped subject or data key; envelope mode and its root key;
    the public half of the restriction key."""

    table: str = DEFAULT_KEYS_TABLE
    envelope: bool = False
    root_key: RootKey | None = None
    # ARCHIVE_MINIMUM_RETENTION_DAYS: a records obligation to keep each thread this many
    # days after its last activity; an erasure within it restricts instead of shredding.
    minimum_retention_days: int = 0
    # ARCHIVE_KEY_RECOVERY_DAYS: how long a destroyed key row could still come back (a
    # backup of the key table or its account): then a receipt's keys are irrecoverable.
    recovery_days: int = DEFAULT_RECOVERY_DAYS
    restriction_key: RestrictionKey | None = None


def read_keys(values: Mapping[str, str]) -> KeySettings:
    """ARCHIVE_KEYS_TABLE, ARCHIVE_ENVELOPE, ARCHIVE_ROOT_KEY and ARCHIVE_RESTRICTION_KEY;
    raise ConfigurationError naming the setting (never a key's value)."""
    table = values.get("ARCHIVE_KEYS_TABLE", "").strip() or DEFAULT_KEYS_TABLE
    if not _TABLE_NAME.match(table):
        raise ConfigurationError(
            f"ARCHIVE_KEYS_TABLE must be 3-63 letters and digits, starting with a letter, "
            f"got {table!r}"
        )
    envelope = read_flag(values, ENVELOPE_SETTING)
    root_key = read_root_key(values)
    if envelope and root_key is None:
        raise ConfigurationError(
            f"{ENVELOPE_SETTING}=on needs {ROOT_KEY_SETTING}: a Key Vault key URI, "
            "or (in development) 32 bytes in base64 or a file of them"
        )
    return KeySettings(
        table=table,
        envelope=envelope,
        root_key=root_key,
        minimum_retention_days=_days(values, MINIMUM_RETENTION_SETTING, 0),
        recovery_days=_days(values, RECOVERY_SETTING, DEFAULT_RECOVERY_DAYS),
        restriction_key=read_restriction_key(values),
    )


def _days(values: Mapping[str, str], name: str, default: int) -> int:
    text = values.get(name, "").strip() or str(default)
    if not text.isdigit() or int(text) > MAX_DAYS:
        raise ConfigurationError(f"{name} must be a whole number of days from 0 to {MAX_DAYS}")
    return int(text)


def read_root_key(values: Mapping[str, str]) -> RootKey | None:
    """The root key, or None when ARCHIVE_ROOT_KEY is unset."""
    text = values.get(ROOT_KEY_SETTING, "").strip()
    if not text:
        return None
    if text.startswith("https://"):
        return RootKey(key_vault_uri=key_vault_uri(text, setting=ROOT_KEY_SETTING))
    material = _material(text) or _material(_file_text(text))
    if material is None:
        raise ConfigurationError(
            f"{ROOT_KEY_SETTING} must be a Key Vault key URI, or {ROOT_KEY_BYTES} bytes in "
            "base64 (openssl rand -base64 32), as text or in a file"
        )
    return RootKey(material=material)


def read_restriction_key(values: Mapping[str, str]) -> RestrictionKey | None:
    """The restriction key's public half, or None when ARCHIVE_RESTRICTION_KEY is unset."""
    text = values.get(RESTRICTION_KEY_SETTING, "").strip()
    if not text:
        return None
    if "-----BEGIN" in text:
        return RestrictionKey.from_pem(text.replace("\\n", "\n"), source=RESTRICTION_KEY_SETTING)
    pem = _file_text(text)
    if pem is None:
        raise ConfigurationError(
            f"{RESTRICTION_KEY_SETTING} must be a PEM public key, or the path to a readable "
            "file of one"
        )
    return RestrictionKey.from_pem(pem, source=RESTRICTION_KEY_SETTING)


def _material(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return material if len(material) == ROOT_KEY_BYTES else None


def _file_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
