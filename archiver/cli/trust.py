"""Which keys `verify` proves seals and checkpoints with: those given with `--public-key`;
else the service's own (the public half of ARCHIVE_SEAL_KEY, every version of a Key Vault
key, and ARCHIVE_SEAL_TRUSTED_KEYS). Without either, the keys published in the archive are
used to look, and the command says that nothing is proved and exits 5 (UNTRUSTED).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from archiver.bootstrap import Services
from archiver.cli.exits import Exit
from archiver.core.errors import ConfigurationError
from archiver.core.evidence.signatures import PublicKey, keyring, public_key_from_pem
from archiver.sealing.inspection import published_keys


@dataclass(frozen=True)
class Keys:
    """The keys seals are checked with, whether they prove anything, and what they are."""

    keys: dict[str, PublicKey]
    trusted: bool
    source: str


async def trusted_keys(services: Services, given: dict[str, PublicKey] | None) -> Keys:
    """The keys to check seals with (see the module's rules)."""
    if given is not None:
        return keys_given(given)
    settings = services.settings
    if settings.seal_key is not None or settings.trusted_keys:
        own = await services.sealer.trusted_keys() if settings.seal_key is not None else {}
        keys = own | keyring(settings.trusted_keys)
        return Keys(keys, True, f"{len(keys)} key(s) of ARCHIVE_SEAL_KEY/TRUSTED_KEYS")
    published = await published_keys(services.storage)
    print(UNTRUSTED, file=sys.stderr)
    return Keys(published, False, f"{len(published)} key(s) published in the archive (UNTRUSTED)")


def keys_given(given: dict[str, PublicKey]) -> Keys:
    """The keys of `--public-key`, trusted: the one case that needs no settings at all."""
    return Keys(given, True, f"{len(given)} key(s) given with --public-key")


UNTRUSTED = (
    "UNTRUSTED: no trusted key (--public-key, ARCHIVE_SEAL_KEY or ARCHIVE_SEAL_TRUSTED_KEYS); "
    "the seals are checked against keys published in the archive, which anyone who can "
    "write to it could have put there: nothing is proved"
)


def verify_exit(*, altered: bool, keys: Keys) -> int:
    """1 when something was altered; else 5 when nothing was proved (no trusted key)."""
    if altered:
        return Exit.PROBLEM
    return Exit.OK if keys.trusted else Exit.UNTRUSTED


def given_keys(paths: list[Path] | None) -> dict[str, PublicKey] | None:
    """The keys of `--public-key` files, or None when none were given."""
    if not paths:
        return None
    keys = {}
    for path in paths:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"--public-key {path}: {exc.strerror}") from None
        key = public_key_from_pem(pem, source=f"--public-key {path}")
        keys[key.key_id] = key
    return keys
