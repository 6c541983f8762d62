"""`archiver export`: transcripts of archived threads as JSON, JSON Lines or CSV."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, moment, settings_option
from archiver.cli.progress import ProgressBar
from archiver.core.errors import InvalidQuery
from archiver.retrieval.export import Export, blob_name, to_blob, to_file, to_stream, transcript
from archiver.retrieval.formats import Format
from archiver.storage.ports import Window


def add_commands(commands: Any) -> None:
    """Register `export` on the CLI's subparsers."""
    _export_parser(commands)


def _export_parser(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write transcripts of archived threads as JSON, JSON Lines or CSV",
        description="Export one thread, several, or all of them from the archive: the "
        "latest version of each message, or with --all-versions every archived version "
        "(deletions as tombstones). --since/--until keep messages composed in that window. "
        "Writes to standard output, a file (--output), or a blob under transcripts/ "
        "(--blob). Streams, so threads of any length export in little memory.",
        epilog="examples:\n"
        "  python -m archiver export --thread '19:abc@thread.v2' > transcript.json\n"
        "  python -m archiver export --all --format csv --since 2026-10-01 "
        "--until 2026-11-01 --output october.csv\n"
        "  python -m archiver export --thread '19:abc@thread.v2' --all-versions "
        "--format jsonl --blob cases/4471.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--thread", action="append", metavar="ID", help="a thread id (repeat for several)"
    )
    which.add_argument("--all", action="store_true", help="every thread in the archive")
    export.add_argument("--since", type=moment, help="messages composed at or after (ISO 8601)")
    export.add_argument("--until", type=moment, help="messages composed before (ISO 8601)")
    export.add_argument(
        "--all-versions",
        action="store_true",
        help="every archived version, with version and action columns",
    )
    export.add_argument(
        "--format", type=Format, choices=list(Format), default=Format.JSON, help="(json)"
    )
    where = export.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, metavar="FILE", help="write to this file")
    where.add_argument(
        "--blob",
        nargs="?",
        const="",
        metavar="NAME",
        help="write to transcripts/NAME in the archive container "
        "(default name: transcripts/exports/{time}.{format})",
    )
    export.add_argument("--no-bom", action="store_true", help="CSV without a byte order mark")
    export.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    settings_option(export)
    export.set_defaults(run=_export)


def _export(arguments: argparse.Namespace) -> int:
    window = Window(since=arguments.since, until=arguments.until)
    if window.since and window.until and window.since >= window.until:
        raise InvalidQuery("--since must be earlier than --until")
    export = Export(
        threads=tuple(arguments.thread or ()),
        window=window,
        all_versions=arguments.all_versions,
        form=arguments.format,
        bom=not arguments.no_bom,
    )
    name = None
    if arguments.blob is not None:  # checked before anything is read
        name = blob_name(arguments.blob, export.form, at=datetime.now(UTC))
    services = build(load_settings(arguments.settings))
    progress = ProgressBar(
        None, label="exported", unit="messages", enabled=not arguments.no_progress
    )

    async def run() -> str | None:
        try:
            chunks = await transcript(services.storage, export, progress=progress)
            if name is not None:
                await to_blob(services.storage, chunks, name, export.form)
                return name
            if arguments.output is not None:
                await to_file(chunks, arguments.output)
                return str(arguments.output)
            await to_stream(chunks, sys.stdout.buffer)
            return None
        finally:
            await services.close()

    written = asyncio.run(run())
    progress.finish()
    if written is not None:
        print(f"Wrote {written}", file=sys.stderr)
    return Exit.OK
