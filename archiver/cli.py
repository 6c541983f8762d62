"""`python -m archiver`: the command line, one subcommand per job.

Errors a user can fix print one line, never a traceback, and exit with the code
archiver.exits documents: 2 for a bad argument or setting, 3 for a thread that is not
there, 4 when storage or ACS is unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from archiver import acscommands, emulator, retrieval, trial
from archiver.bootstrap import build
from archiver.errors import (
    AcsUnavailable,
    AlreadyStored,
    ArchiverError,
    ConfigurationError,
    RequestRejected,
    StorageError,
    ThreadNotInAcs,
    UnknownContainer,
    UnknownThread,
)
from archiver.exits import Exit
from archiver.settings import Settings, read_local_settings

PROJECT = Path(__file__).resolve().parent.parent
_EXITS: tuple[tuple[type[ArchiverError], Exit, str], ...] = (
    (ConfigurationError, Exit.USAGE, ""),
    (RequestRejected, Exit.USAGE, ""),
    (AlreadyStored, Exit.USAGE, " already exists; choose another name"),
    (UnknownThread, Exit.NOT_FOUND, ""),
    (ThreadNotInAcs, Exit.NOT_FOUND, ""),
    (UnknownContainer, Exit.NOT_FOUND, ""),
    (AcsUnavailable, Exit.UNAVAILABLE, ""),
    (StorageError, Exit.UNAVAILABLE, " (is storage reachable? see ARCHIVE_STORAGE)"),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in `argv`; return the process exit code."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archiver",
        description="Archive Azure Communication Services chat events to Azure storage, "
        "and get them back out. Every command has --help with an example.",
        epilog="exit codes: 0 done; 1 done, but something needs attention; 2 bad argument "
        "or setting; 3 not found; 4 storage or ACS unavailable (run again later).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the webhook locally (for machines without Core Tools)",
        description="Serve POST/OPTIONS /api/events, GET /api/health and the native "
        "trigger URL locally, with the settings of local.settings.json "
        "(Values) overridden by the environment.",
        epilog="example: python -m archiver serve --azurite --port 7071",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port to bind (7071)")
    serve.add_argument(
        "--settings",
        type=Path,
        default=Path("local.settings.json"),
        help="local.settings.json to read Values from",
    )
    serve.add_argument(
        "--azurite",
        action="store_true",
        help="start Azurite from node_modules if nothing listens on "
        "its default ports (data kept in .azurite/)",
    )
    serve.add_argument(
        "--function-key",
        help="require this key on /api/events (`code` query or x-functions-key header)",
    )
    serve.add_argument(
        "--viewer",
        action="store_true",
        help="serve the live event viewer on /viewer (also ARCHIVE_VIEWER=true)",
    )
    serve.set_defaults(run=_serve)
    azurite = commands.add_parser(
        "azurite",
        help="run Azurite from node_modules on its default ports",
        description="Run the Azurite storage emulator in the foreground, with data kept "
        "in .azurite/, unless something already listens on ports 10000-10002. "
        "Use it beside `func start`.",
        epilog="example: python -m archiver azurite",
    )
    azurite.set_defaults(run=_azurite)
    trial.add_commands(commands, load_settings=load_settings)
    retrieval.add_commands(commands, load_settings=load_settings)
    acscommands.add_commands(commands, load_settings=load_settings)
    return parser


def load_settings(path: Path) -> Settings:
    """Settings from local.settings.json Values, overridden by the environment."""
    return Settings.from_mapping({**read_local_settings(path), **os.environ})


def _serve(arguments: argparse.Namespace) -> int:
    from archiver.devhost import serve

    settings = load_settings(arguments.settings)
    if arguments.function_key:
        settings = dataclasses.replace(settings, local_function_key=arguments.function_key)
    if arguments.viewer:
        settings = dataclasses.replace(settings, viewer=True)
    azurite = emulator.start_local(PROJECT) if arguments.azurite else None
    if azurite is not None:
        logging.getLogger("archiver").info("Started Azurite (data in %s)", PROJECT / ".azurite")
    try:
        asyncio.run(serve(build(settings), host=arguments.host, port=arguments.port))
    finally:
        if azurite is not None:
            emulator.stop(azurite)
    return 0


def _azurite(arguments: argparse.Namespace) -> int:
    process = _start_azurite()
    if process is None:
        return 0
    # Azurite runs in its own session, so it must be stopped here on SIGTERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop(process)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _start_azurite() -> subprocess.Popen[bytes] | None:
    """Azurite on the default ports with data in .azurite/, unless one already runs."""
    log = logging.getLogger("archiver")
    process = emulator.start_local(PROJECT)
    if process is None:
        log.info("Azurite (or another storage emulator) is already listening; using it")
    else:
        log.info("Started Azurite on ports 10000-10002 (data in %s)", PROJECT / ".azurite")
    return process
