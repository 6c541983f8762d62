"""`archiver checkpoint` and `archiver verify --checkpoint`: write the next signed
checkpoint (or show one, for a witness to keep), and check the archive against one.

`checkpoint` exits 1 when a thread's head could not move (a seal that does not verify
or does not descend from the last checkpoint's) or the chain of checkpoints does not
verify. `verify --checkpoint` exits 1 when anything the checkpoint vouches for was
altered, and 5 when no trusted key was at hand (see `verify --seals`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, settings_option
from archiver.cli.trust import Keys, given_keys, trusted_keys, verify_exit
from archiver.core.errors import ConfigurationError, NotFound, UnknownContainer
from archiver.core.evidence.checkpoints import (
    CHECKPOINTS_PREFIX,
    checkpoint_name,
    parse_checkpoint,
)
from archiver.sealing.checkpointcheck import CheckpointReport, check_checkpoint
from archiver.sealing.checkpointer import Checkpointing

LATEST = "latest"


def add_commands(commands: Any) -> None:
    """Register `checkpoint` on the CLI's subparsers."""
    checkpoint = commands.add_parser(
        "checkpoint",
        help="write the next signed checkpoint of every thread's newest seal and the audit trail",
        description="Write a checkpoint to ARCHIVE_CHECKPOINTS_CONTAINER: a signed note of "
        "the tree heads over every thread's newest seal and over the audit trail, chained "
        "to the checkpoint before it. `archiver seal` writes one after sealing; with "
        "--show, print a checkpoint's note instead (for a witness to keep).",
        epilog="examples:\n"
        "  python -m archiver checkpoint\n"
        "  python -m archiver checkpoint --show latest > checkpoint-note.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    checkpoint.add_argument(
        "--show", metavar="N|latest", help="print checkpoint N's note (or the newest's)"
    )
    settings_option(checkpoint)
    checkpoint.set_defaults(run=_checkpoint)


def checkpoint_options(parser: argparse.ArgumentParser) -> None:
    """The option `verify` takes for checking against a checkpoint."""
    parser.add_argument(
        "--checkpoint",
        metavar="FILE|latest",
        help="check the archive against a checkpoint: a note or checkpoint a witness kept, "
        "or the newest in the checkpoints container",
    )


def _checkpoint(arguments: argparse.Namespace) -> int:
    services = build(load_settings(arguments.settings))

    async def run() -> int:
        try:
            if arguments.show is not None:
                return await _show(services, arguments.show)
            return show_checkpointing(await services.checkpointer.write())
        finally:
            await services.close()

    return asyncio.run(run())


def show_checkpointing(result: Checkpointing) -> int:
    """Say what a checkpoint run did; the exit code (1 when something was refused)."""
    for problem in result.refused:
        print(f"REFUSED checkpoint: {problem}")
    if result.checkpoint is None:
        print("no checkpoint written: nothing changed since the last", file=sys.stderr)
    else:
        note = result.checkpoint.note
        print(
            f"checkpoint {note.number}: {result.checkpoint.name} "
            f"({note.threads.size} threads, {note.audit.size} audit records)"
        )
    return Exit.PROBLEM if result.refused else Exit.OK


async def _show(services: Services, which: str) -> int:
    store = services.checkpoints.store
    if which == LATEST:
        names = [name async for name in store.names(CHECKPOINTS_PREFIX)]
        if not names:
            raise UnknownContainer("no checkpoint has been written yet: run `archiver checkpoint`")
        name = names[-1]
    else:
        try:
            name = checkpoint_name(int(which))
        except ValueError:
            raise ConfigurationError("--show takes a checkpoint's number or latest") from None
    try:
        content = await store.read(name)
    except NotFound:
        raise UnknownContainer(f"there is no checkpoint {which}") from None
    print(parse_checkpoint(content, name=name).note.text(), end="")
    return Exit.OK


def verify_checkpoint(arguments: argparse.Namespace) -> int:
    """`verify --checkpoint FILE|latest`: report every alteration; exit 1 if any."""
    given = None
    if arguments.checkpoint != LATEST:
        try:
            given = Path(arguments.checkpoint).read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"--checkpoint {arguments.checkpoint}: {exc.strerror}"
            ) from None
    public = arguments.public_key
    services = build(load_settings(arguments.settings))

    async def run() -> tuple[CheckpointReport, Keys]:
        try:
            keys = await trusted_keys(services, given_keys(public))
            report = await check_checkpoint(
                services.storage, services.checkpoints, keys.keys, given=given
            )
            return report, keys
        finally:
            await services.close()

    started = time.perf_counter()
    report, keys = asyncio.run(run())
    elapsed = time.perf_counter() - started
    for finding in sorted(report.altered):
        print(f"{finding.what}: {finding.subject} ({finding.detail})")
    for thread_id in report.disposed:
        print(f"disposed: {thread_id} (a signed disposal receipt says so)")
    checked = report.checked
    number = report.note.number if report.note is not None else "?"
    print(
        f"checkpoint {number}: {checked['threads']} threads, {checked['seals']} seals, "
        f"{checked['blobs']} blobs, {checked['audit records']} audit records checked against "
        f"{keys.source} in {elapsed:.1f} s: "
        + (f"{len(report.altered)} altered" if report.altered else "nothing altered")
    )
    return verify_exit(altered=bool(report.altered), keys=keys)
