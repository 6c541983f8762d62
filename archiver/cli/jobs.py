"""`archiver jobs`: start a daily job's run on the jobs queue, as its timer does, and
see what the queue holds.

`jobs start` enqueues the run's batches on ARCHIVE_JOBS_QUEUE (the `run_job` function
of every running host does them: `archiver serve` locally, the function app in Azure)
and moves the job's cursor. `jobs status` prints the number of messages waiting in the
queue and in its poison queue, and exits 1 when the poison queue holds any.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from archiver.bootstrap import build
from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, settings_option
from archiver.core.jobs import Kind
from archiver.jobs.starts import start

_STARTABLE = (Kind.SEAL, Kind.DISPOSE, Kind.TRANSCRIBE, Kind.VERIFY, Kind.INDEX)


def add_commands(commands: Any) -> None:
    """Register `jobs` on the CLI's subparsers."""
    jobs = commands.add_parser(
        "jobs",
        help="start a daily job's run on the jobs queue, or see what the queue holds",
        description="Start a run of a daily job as its timer does: the threads it visits "
        "(changed since its last run, or due) go to ARCHIVE_JOBS_QUEUE in batches of "
        "ARCHIVE_JOBS_BATCH, for every running host's run_job function to do. Or print "
        "how many jobs wait in the queue and its poison queue.",
        epilog="examples:\n"
        "  python -m archiver jobs start seal\n"
        "  python -m archiver jobs start seal --all\n"
        "  python -m archiver jobs status --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = jobs.add_subparsers(required=True, metavar="ACTION")
    begin = actions.add_parser("start", help="enqueue a run of seal, dispose, transcribe or verify")
    begin.add_argument("job", choices=[str(kind) for kind in _STARTABLE])
    begin.add_argument(
        "--all", action="store_true", help="every thread, not only the changed or due ones"
    )
    settings_option(begin)
    begin.set_defaults(run=_start)
    status = actions.add_parser("status", help="how many jobs wait, and how many were poisoned")
    status.add_argument("--json", action="store_true", help="print JSON")
    settings_option(status)
    status.set_defaults(run=_status)


def _start(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    services = build(settings)
    log = logging.getLogger("archiver")

    async def run() -> int:
        try:
            queue = services.storage.queue(settings.jobs.queue)
            await queue.prepare()
            kind = Kind(arguments.job)
            now = datetime.now(UTC)
            return await start(
                kind, services.runs, queue, settings, log, today=now, sweep=arguments.all
            )
        finally:
            await services.close()

    sent = asyncio.run(run())
    print(f"{sent} jobs enqueued on {settings.jobs.queue}", file=sys.stderr)
    return Exit.OK


def _status(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    services = build(settings)

    async def run() -> dict[str, int]:
        try:
            found = {}
            for name in (settings.jobs.queue, settings.jobs.poison_queue):
                queue = services.storage.queue(name)
                await queue.prepare()
                found[name] = await queue.length()
            return found
        finally:
            await services.close()

    lengths = asyncio.run(run())
    if arguments.json:
        print(json.dumps({"queues": lengths}))
    else:
        for name, length in lengths.items():
            print(f"{name}: {length} waiting")
    return Exit.PROBLEM if lengths[settings.jobs.poison_queue] else Exit.OK
