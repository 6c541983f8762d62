"""`archiver export`: transcripts of archived threads as JSON, JSON Lines, CSV or RSMF, and
the analytics tables as Parquet."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, moment, settings_option
from archiver.cli.progress import ProgressBar
from archiver.core.errors import ConfigurationError, InvalidQuery
from archiver.retrieval.export import Export, blob_name, to_blob, to_file, to_stream, transcript
from archiver.retrieval.formats import Format
from archiver.retrieval.rsmf.export import RSMF, rsmf_files, to_blobs, to_files
from archiver.storage.ports import Window

PARQUET = "parquet"  # the --format choice of the analytics tables
# Not in requirements.txt: the Function App never exports analytics, and pyarrow is
# larger than the rest of the app together. requirements-dev.txt pins the same version.
PYARROW = "pyarrow==26.0.1"


def add_commands(commands: Any) -> None:
    """Register `export` on the CLI's subparsers."""
    _export_parser(commands)


def _export_parser(commands: Any) -> None:
    export = commands.add_parser(
        "export",
        help="write transcripts of archived threads as JSON, JSON Lines, CSV or RSMF, or "
        "the analytics tables as Parquet",
        description="Export one thread, several, or all of them from the archive: the "
        "latest version of each message, or with --all-versions every archived version "
        "(deletions as tombstones). --since/--until keep messages composed in that window. "
        "Writes to standard output, a file (--output), or a blob under transcripts/ "
        "(--blob). Streams, so threads of any length export in little memory. --format rsmf "
        "writes one thread as RSMF 2.0 files for review platforms (every version; "
        "--slice day for a file per UTC day), to --output or --blob. --format parquet "
        "writes the analytics tables messages.parquet and threads.parquet (figures of every "
        "version, no message text) into the folder --output, or as the blobs "
        "messages/NAME.parquet and threads/NAME.parquet of the analytics container (--blob "
        "[NAME]).",
        epilog="examples:\n"
        "  python -m archiver export --thread '19:abc@thread.v2' > transcript.json\n"
        "  python -m archiver export --all --format csv --since 2026-10-01 "
        "--until 2026-11-01 --output october.csv\n"
        "  python -m archiver export --thread '19:abc@thread.v2' --all-versions "
        "--format jsonl --blob cases/4471.jsonl\n"
        "  python -m archiver export --thread '19:abc@thread.v2' --format rsmf --slice day "
        "--output case-4471.rsmf\n"
        "  python -m archiver export --all --format parquet --output analytics\n"
        "  python -m archiver export --all --format parquet --since 2026-10-01 --blob 2026-10",
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
        "--format",
        choices=[*map(str, Format), RSMF, PARQUET],
        default=str(Format.JSON),
        help="(json)",
    )
    export.add_argument(
        "--slice",
        choices=["day"],
        help="with --format rsmf: one file per UTC day (NAME-YYYY-MM-DD.rsmf)",
    )
    where = export.add_mutually_exclusive_group()
    where.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write to this file (with --format parquet: into this folder)",
    )
    where.add_argument(
        "--blob",
        nargs="?",
        const="",
        metavar="NAME",
        help="write to transcripts/NAME in the archive container "
        "(default name: transcripts/exports/{time}.{format}); with --format parquet, "
        "messages/NAME.parquet and threads/NAME.parquet in ARCHIVE_ANALYTICS_CONTAINER "
        "(default NAME: {time})",
    )
    export.add_argument(
        "--labels",
        action="store_true",
        help="with --format parquet: also export display names and thread topics "
        "(personal data; off by default)",
    )
    export.add_argument("--no-bom", action="store_true", help="CSV without a byte order mark")
    export.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    settings_option(export)
    export.set_defaults(run=_export)


def _export(arguments: argparse.Namespace) -> int:
    window = Window(since=arguments.since, until=arguments.until)
    if window.since and window.until and window.since >= window.until:
        raise InvalidQuery("--since must be earlier than --until")
    if arguments.format == PARQUET:
        return _parquet(arguments, window)
    if arguments.labels:
        raise InvalidQuery("--labels is only for --format parquet: transcripts always have them")
    if arguments.format == RSMF:
        return _rsmf(arguments, window)
    if arguments.slice is not None:
        raise InvalidQuery("--slice is only for --format rsmf")
    export = Export(
        threads=tuple(arguments.thread or ()),
        window=window,
        all_versions=arguments.all_versions,
        form=Format(arguments.format),
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
            where = name or (str(arguments.output) if arguments.output else "stdout")
            await _audited(services, export.threads, where, arguments.format)
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


def _rsmf(arguments: argparse.Namespace, window: Window) -> int:
    """One thread as RSMF files, checked whole before the first is written."""
    if arguments.all or len(arguments.thread) != 1:
        raise InvalidQuery("--format rsmf exports one thread: give one --thread ID")
    if arguments.output is None and arguments.blob is None:
        raise InvalidQuery("--format rsmf writes files: give --output FILE or --blob [NAME]")
    name = None
    if arguments.blob is not None:  # checked before anything is read
        name = blob_name(arguments.blob, RSMF, at=datetime.now(UTC))
    services = build(load_settings(arguments.settings))

    async def run() -> list[str]:
        try:
            where = name or str(arguments.output)
            await _audited(services, tuple(arguments.thread), where, RSMF)
            files = await rsmf_files(
                services.storage,
                arguments.thread[0],
                window=window,
                by_day=arguments.slice == "day",
            )
            if name is not None:
                return await to_blobs(services.storage, files, name)
            return [str(path) for path in to_files(files, arguments.output)]
        finally:
            await services.close()

    for written in asyncio.run(run()):
        print(f"Wrote {written}", file=sys.stderr)
    return Exit.OK


def _parquet(arguments: argparse.Namespace, window: Window) -> int:
    """The analytics tables, into a folder or as blobs of the analytics container."""
    for given, wrong in (
        (arguments.all_versions, "--format parquet counts every version: leave out --all-versions"),
        (arguments.slice is not None, "--slice is only for --format rsmf"),
        (arguments.no_bom, "--no-bom is only for --format csv"),
        (
            arguments.output is None and arguments.blob is None,
            "--format parquet writes two files: give --output FOLDER or --blob [NAME]",
        ),
    ):
        if given:
            raise InvalidQuery(wrong)
    try:
        from archiver.retrieval.analytics import export as analytics
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "pyarrow":
            raise
        raise ConfigurationError(
            f"--format parquet needs pyarrow, which the app does not carry: pip install {PYARROW}"
        ) from exc
    names = None
    if arguments.blob is not None:  # checked before anything is read
        names = analytics.blob_names(arguments.blob, at=datetime.now(UTC))
    else:
        _folder(arguments.output)
    selection = analytics.Analytics(
        threads=tuple(arguments.thread or ()), window=window, labels=arguments.labels
    )
    services = build(load_settings(arguments.settings))
    container = services.settings.analytics_container
    progress = ProgressBar(
        None, label="exported", unit="messages", enabled=not arguments.no_progress
    )

    async def run() -> list[str]:
        try:
            if names is None:
                where = str(arguments.output)
            else:
                where = " ".join(f"{container}/{name}" for name in names)
            await _audited(services, selection.threads, where, PARQUET, labels=selection.labels)
            if names is None:
                paths = await analytics.to_folder(
                    services.storage, selection, arguments.output, progress=progress
                )
                return [str(path) for path in paths]
            await analytics.to_container(
                services.storage, selection, container, names, progress=progress
            )
            return [f"{container}/{name}" for name in names]
        finally:
            await services.close()

    written = asyncio.run(run())
    progress.finish()
    for name in written:
        print(f"Wrote {name}", file=sys.stderr)
    return Exit.OK


def _folder(path: Path) -> None:
    """Make the --output folder (a file there is refused), before anything is read."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidQuery(f"--output {str(path)!r} cannot be a folder: {exc.strerror}") from exc


async def _audited(
    services: Services, threads: tuple[str, ...], where: str, form: str, **more: object
) -> None:
    """Record the export before anything is written: no record, no export."""
    target: dict[str, object] = {"file": where}
    if len(threads) == 1:
        target["threadId"] = threads[0]
    await services.trail.record(
        "export",
        cli_principal(services.settings),
        outcome="allowed",
        target=target,
        details={"threads": list(threads) or "all", "format": form, **more},
    )
