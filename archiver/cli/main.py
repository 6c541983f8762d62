"""`archiver` (also `python -m archiver`): the command line, one subcommand per job.

Errors a user can fix print one line, never a traceback, and exit with the code
archiver.cli.exits documents: 2 for a bad argument or setting, 3 for a thread that is not
there, 4 when storage or ACS is unavailable.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from archiver.bootstrap import quiet_sdk_logging
from archiver.cli import (
    acs,
    checkpoints,
    disclose,
    erasure,
    export,
    governance,
    jobs,
    local,
    replay,
    restriction,
    seals,
    search,
    simulation,
    verify,
)
from archiver.cli.exits import Exit
from archiver.core.errors import (
    AcsUnavailable,
    AlreadyStored,
    ArchiverError,
    ConfigurationError,
    Immutable,
    OnHold,
    RequestRejected,
    StorageError,
    ThreadNotInAcs,
    UnknownContainer,
    UnknownThread,
)

_EXITS: tuple[tuple[type[ArchiverError], Exit, str], ...] = (
    (ConfigurationError, Exit.USAGE, ""),
    (RequestRejected, Exit.USAGE, ""),
    (AlreadyStored, Exit.USAGE, " already exists; choose another name"),
    (UnknownThread, Exit.NOT_FOUND, ""),
    (ThreadNotInAcs, Exit.NOT_FOUND, ""),
    (UnknownContainer, Exit.NOT_FOUND, ""),
    (OnHold, Exit.PROBLEM, ""),
    (Immutable, Exit.PROBLEM, ""),
    (AcsUnavailable, Exit.UNAVAILABLE, ""),
    (StorageError, Exit.UNAVAILABLE, " (is storage reachable? see ARCHIVE_STORAGE)"),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in `argv`; return the process exit code."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    quiet_sdk_logging()
    try:
        return int(arguments.run(arguments))
    except ArchiverError as exc:
        for kind, code, hint in _EXITS:
            if isinstance(exc, kind):
                print(f"archiver: {exc}{hint}", file=sys.stderr)
                return code
        print(f"archiver: {exc}", file=sys.stderr)
        return Exit.PROBLEM
    except BrokenPipeError:
        # The reader went away (`export ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.OK
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


class _CommandParser(argparse.ArgumentParser):
    """A command's parser that shows its examples as written: one per line, never wrapped,
    so a reader can copy one whole."""

    def format_help(self) -> str:
        examples, self.epilog = self.epilog, None
        try:
            text = super().format_help()
        finally:
            self.epilog = examples
        return f"{text}\n{examples}\n" if examples else text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archiver",
        description="Archive Azure Communication Services chat events to Azure storage, "
        "and get them back out. Every command has --help with an example.",
        epilog="exit codes: 0 done; 1 done, but something needs attention; 2 bad argument "
        "or setting; 3 not found; 4 storage or ACS unavailable (run again later); 5 verified "
        "only against keys found in the archive (nothing proved).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_CommandParser)
    groups = (
        local,
        export,
        search,
        disclose,
        replay,
        acs,
        simulation,
        seals,
        checkpoints,
        jobs,
        governance,
        erasure,
        restriction,
        verify,
    )
    for group in groups:
        group.add_commands(commands)
    return parser
