"""The commands that get events and transcripts in and out: export, replay-deadletters.

Each runs against the service's own settings (local.settings.json Values, overridden
by the environment), so the same command works on Azurite and on the deployed archive.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.errors import (
    InvalidQuery,
)
from archiver.exits import Exit
from archiver.export import Export, blob_name, to_blob, to_file, to_stream, transcript
from archiver.fields import parse_timestamp
from archiver.formats import Format
from archiver.options import settings_option
from archiver.progress import Progress
from archiver.settings import Settings
from archiver.storage.ports import Window

LoadSettings = Callable[[Path], Settings]


def add_commands(commands: Any, *, load_settings: LoadSettings) -> None:
    """Register the retrieval commands on the CLI's subparsers."""
    _export_parser(commands, load_settings)
    _replay_parser(commands, load_settings)


def _replay_parser(commands: Any, load_settings: LoadSettings) -> None:
    run = commands.add_parser(
        "replay-deadletters",
        help="archive the events Event Grid dead-lettered, then move the blobs aside",
        description="Read Event Grid's dead-letter blobs in a container of the archive's "
        "storage account ({SUBSCRIPTION}/{yyyy}/{m}/{d}/{h}/{guid}.json, either schema), "
        "archive their events through the same path as the webhook, and move each blob "
        "under replayed/ once all its events are stored. Prints a report by dead-letter "
        "reason. Safe to run again: replayed blobs are skipped and repeats are duplicates.",
        epilog="example: python -m archiver replay-deadletters --container eventgrid-deadletter "
        "--since 2026-11-20",
    )
    run.add_argument("--container", required=True, help="the dead-letter container")
    run.add_argument("--since", type=_moment, help="only blobs written from this hour on")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    settings_option(run)
    run.set_defaults(run=lambda arguments: _replay(arguments, load_settings))


def _export_parser(commands: Any, load_settings: LoadSettings) -> None:
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
    export.add_argument("--since", type=_moment, help="messages composed at or after (ISO 8601)")
    export.add_argument("--until", type=_moment, help="messages composed before (ISO 8601)")
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
    export.set_defaults(run=lambda arguments: _export(arguments, load_settings))


def _export(arguments: argparse.Namespace, load_settings: LoadSettings) -> int:
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
    progress = Progress(None, label="exported", unit="messages", enabled=not arguments.no_progress)

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


def _moment(text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc} (e.g. 2026-11-01T09:00:00Z)") from exc


def _replay(arguments: argparse.Namespace, load_settings: LoadSettings) -> int:
    from archiver.replay import replay

    services = build(load_settings(arguments.settings))

    async def run() -> Any:
        try:
            return await replay(
                services.storage,
                services.intake,
                arguments.container,
                since=arguments.since,
                progress=lambda total: Progress(
                    total, label="replaying", enabled=not arguments.no_progress
                ),
            )
        finally:
            await services.close()

    report = asyncio.run(run())
    if arguments.json:
        document = dataclasses.asdict(report)
        print(json.dumps(document, indent=1, ensure_ascii=False))
    else:
        print(f"Replayed {report.blobs} blobs ({report.events} events) from {arguments.container}")
        for title, counts in (
            ("by dead-letter reason", report.reasons),
            ("by last delivery outcome", report.outcomes),
            ("archived as", report.results),
        ):
            if counts:
                listed = ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
                print(f"  {title}: {listed}")
        if report.moved:
            print(f"  moved under replayed/: {len(report.moved)} blobs")
        if report.skipped:
            print(f"  skipped {report.skipped} names (not Event Grid's layout, or before --since)")
        for name, why in report.left.items():
            print(f"left in place: {name}: {why}", file=sys.stderr)
    return Exit.PROBLEM if report.left else Exit.OK
