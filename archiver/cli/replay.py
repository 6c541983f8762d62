"""`archiver replay-deadletters`: archive what Event Grid dead-lettered, then move it aside.

Runs against the service's own settings (local.settings.json Values, overridden by the
environment), so the same command works on Azurite and on the deployed archive.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import Any

from archiver.bootstrap import build
from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, moment, settings_option
from archiver.cli.progress import ProgressBar


def add_commands(commands: Any) -> None:
    """Register `replay-deadletters` on the CLI's subparsers."""
    _replay_parser(commands)


def _replay_parser(commands: Any) -> None:
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
    run.add_argument("--since", type=moment, help="only blobs written from this hour on")
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    settings_option(run)
    run.set_defaults(run=_replay)


def _replay(arguments: argparse.Namespace) -> int:
    from archiver.deadletters.replay import replay

    services = build(load_settings(arguments.settings))

    async def run() -> Any:
        try:
            return await replay(
                services.storage,
                services.intake,
                arguments.container,
                since=arguments.since,
                progress=lambda total: ProgressBar(
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
