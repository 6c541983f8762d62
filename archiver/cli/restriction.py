"""`archiver restriction-key`: make the restriction key, whose private half only two
admins together hold, and check that two shares still make the key the app is set to.

`create --out DIR` writes the public half and the two shares, each file readable by its
owner only, and never overwrites one; no share is ever printed. `check` exits 0 when the
two shares make ARCHIVE_RESTRICTION_KEY's key, and 1 (naming why) when they do not.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any

from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, settings_option
from archiver.core.erasure.restriction import (
    RestrictionKey,
    check_shares,
    create_restriction_key,
    read_share,
)
from archiver.core.errors import ConfigurationError
from archiver.core.keysettings import RESTRICTION_KEY_SETTING

PUBLIC_FILE = "restriction-public.pem"
SHARE_FILES = ("restriction-share-1.txt", "restriction-share-2.txt")


def add_commands(commands: Any) -> None:
    """Register `restriction-key` on the CLI's subparsers."""
    group = commands.add_parser(
        "restriction-key",
        help="make the two-admin restriction key, or check two shares against it",
        description="The restriction key keeps the keys of items a retention obligation "
        "still keeps after their erasure was asked for: the app holds its public half "
        f"({RESTRICTION_KEY_SETTING}), and its private half exists only as two shares, "
        "one for each of two admins. `create` makes one; `check` says whether two shares "
        "make the key the app is set to.",
        epilog="examples:\n"
        "  python -m archiver restriction-key create --out restriction\n"
        "  python -m archiver restriction-key check --share share-1.txt --share share-2.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = group.add_subparsers(required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="make a restriction key: its public half and two shares, in DIR"
    )
    create.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder to write the files to"
    )
    create.set_defaults(run=_create)
    check = actions.add_parser(
        "check", help=f"say whether two shares make {RESTRICTION_KEY_SETTING}'s key"
    )
    check.add_argument(
        "--share",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="a share's file; give it twice, one share from each admin",
    )
    settings_option(check)
    check.set_defaults(run=_check)


def _create(arguments: argparse.Namespace) -> int:
    folder: Path = arguments.out
    paths = [folder / PUBLIC_FILE, *(folder / name for name in SHARE_FILES)]
    taken = [str(path) for path in paths if path.exists()]
    if taken:
        raise ConfigurationError(
            f"{', '.join(taken)} already exist(s): a restriction key's files are never "
            "overwritten; choose another --out"
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"--out {folder}: {exc.strerror}") from None
    texts = create_restriction_key()
    written: list[Path] = []
    for path, text in zip(paths, texts, strict=True):
        try:
            _write_private(path, text)
        except OSError as exc:
            for done in written:  # a key without all its parts is no key: keep none of it
                with contextlib.suppress(OSError):
                    done.unlink()
            raise ConfigurationError(f"{path}: {exc.strerror}; nothing was kept") from None
        written.append(path)
    key = RestrictionKey.from_pem(texts[0])
    public, first, second = paths
    print(
        f"restriction key {key.key_id} made; its private half exists only as two shares:\n"
        f"  {first}  give to one admin\n"
        f"  {second}  give to another admin\n"
        "  Keep them apart (each alone holds nothing of the key; together they open every "
        "restricted key), then delete both from this folder.\n"
        f"  {public}  set {RESTRICTION_KEY_SETTING} to this file, or to its text; "
        "then check the handed-over shares with: archiver restriction-key check "
        "--share FILE --share FILE"
    )
    return Exit.OK


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a new file only its owner may read (0600); never over another."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        os.fchmod(file.fileno(), 0o600)  # whatever the umask
        file.write(text)


def _check(arguments: argparse.Namespace) -> int:
    paths: list[Path] = arguments.share
    if len(paths) != 2:
        raise ConfigurationError(f"give --share twice, one share from each admin, not {len(paths)}")
    key = load_settings(arguments.settings).keys.restriction_key
    if key is None:
        raise ConfigurationError(
            f"{RESTRICTION_KEY_SETTING} is not set: check compares the shares with the key it names"
        )
    first, second = (read_share(_share_text(path), source=f"--share {path}") for path in paths)
    check_shares(key, (first, second))
    print(
        f"the two shares make restriction key {key.key_id}, the one {RESTRICTION_KEY_SETTING} names"
    )
    return Exit.OK


def _share_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        told = exc.strerror if isinstance(exc, OSError) else "not a share's text"
        raise ConfigurationError(f"--share {path}: {told}") from None
