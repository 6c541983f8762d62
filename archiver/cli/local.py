"""The commands that run the archiver on this machine: `serve` (the local host) and
`azurite` (the storage emulator beside Core Tools)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import subprocess
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.options import environment
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import LocalOptions


def add_commands(commands: Any) -> None:
    """Register `serve` and `azurite` on the CLI's subparsers."""
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
    azurite.add_argument(
        "--connection-string",
        action="store_true",
        help="print the full connection string of Azurite's development account and exit "
        "(for `az storage` and Storage Explorer, which do not take UseDevelopmentStorage=true)",
    )
    azurite.set_defaults(run=_azurite)


def _serve(arguments: argparse.Namespace) -> int:
    from archiver.hosts.devhost import serve
    from archiver.hosts.feed import Feed

    values = environment(arguments.settings)
    settings = Settings.from_mapping(values)
    options = LocalOptions.from_mapping(values)
    if arguments.function_key:
        options = dataclasses.replace(options, function_key=arguments.function_key)
    feed = Feed() if arguments.viewer or options.viewer else None
    project = emulator.project_folder()
    azurite = emulator.start_local(project) if arguments.azurite else None
    if azurite is not None:
        logging.getLogger("archiver").info("Started Azurite (data in %s)", project / ".azurite")
    services = build(settings, observer=None if feed is None else feed.observe)
    try:
        asyncio.run(
            serve(services, host=arguments.host, port=arguments.port, options=options, feed=feed)
        )
    finally:
        if azurite is not None:
            emulator.stop(azurite)
    return 0


def _azurite(arguments: argparse.Namespace) -> int:
    if arguments.connection_string:
        print(emulator.Endpoints().connection_string)
        return 0
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
    project = emulator.project_folder()
    process = emulator.start_local(project)
    if process is None:
        log.info("Azurite (or another storage emulator) is already listening; using it")
    else:
        log.info("Started Azurite on ports 10000-10002 (data in %s)", project / ".azurite")
    return process
