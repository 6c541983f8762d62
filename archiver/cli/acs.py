"""The commands that talk to ACS: archive-thread (with the timer's --inactive) and
create-identity, which makes the identity the archiver lists threads as.

Exit codes (archiver.cli.exits): 0 when every thread was archived, 1 when ACS refused one
(the archiver is not a participant, or its token), 3 when a thread is not in ACS nor
the archive, 4 when ACS was unavailable.
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
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.cli.progress import ProgressBar
from archiver.core.errors import (
    AcsDenied,
    AcsError,
    AcsUnavailable,
    ConfigurationError,
    ThreadNotInAcs,
)


def add_commands(commands: Any) -> None:
    """Register archive-thread and create-identity on the CLI's subparsers."""
    _archive_thread_parser(commands)
    _identity_parser(commands)


def _archive_thread_parser(commands: Any) -> None:
    run = commands.add_parser(
        "archive-thread",
        help="archive finished threads from the ACS API: transcript and repairs",
        description="List each thread's messages through the ACS Chat API (as the archiver's "
        "own ACS identity, which must be a participant of the thread), write its transcript "
        "as JSON and CSV under transcripts/{threadKey}/, and archive every message version "
        "ACS shows that the archive lacks. --inactive picks the threads without activity for "
        "ARCHIVE_INACTIVE_DAYS (or DAYS) whose activity no transcript covers yet, as the "
        "daily timer does. Needs ACS_ENDPOINT (or ACS_CONNECTION_STRING), ACS_ARCHIVER_USER_ID "
        "and ACS_ACCESS_KEY or ACS_ARCHIVER_TOKEN.",
        epilog="examples:\n"
        "  python -m archiver archive-thread --thread '19:abc@thread.v2'\n"
        "  python -m archiver archive-thread --inactive 30 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--thread", action="append", metavar="ID", help="a thread id (repeatable)")
    which.add_argument(
        "--inactive",
        nargs="?",
        const=-1,
        type=int,
        metavar="DAYS",
        help="threads inactive for DAYS (default ARCHIVE_INACTIVE_DAYS)",
    )
    run.add_argument("--json", action="store_true", help="print the report as JSON")
    settings_option(run)
    run.set_defaults(run=_archive_thread)


def _identity_parser(commands: Any) -> None:
    create = commands.add_parser(
        "create-identity",
        help="create the ACS identity the archiver lists threads as",
        description="Create a new ACS user with the resource's access key (or Microsoft Entra "
        "ID) and print its id. Set it as ACS_ARCHIVER_USER_ID, and add it as a participant to "
        "every thread to be archived from ACS (only participants can list messages).",
        epilog="example: python -m archiver create-identity",
    )
    settings_option(create)
    create.set_defaults(run=_create_identity)


def _archive_thread(arguments: argparse.Namespace) -> int:
    from archiver.acs.reports import Reconciled

    settings = load_settings(arguments.settings)
    services = build(settings)
    reports: list[Reconciled] = []
    failures: dict[str, AcsError] = {}

    async def run() -> None:
        try:
            reconciler = services.reconciler
            principal = cli_principal(settings)
            if arguments.thread:
                for thread_id in arguments.thread:
                    try:
                        reports.append(await reconciler.thread(thread_id, principal))
                    except (AcsDenied, ThreadNotInAcs) as exc:
                        failures[thread_id] = exc
            else:
                days = settings.inactive_days if arguments.inactive < 0 else arguments.inactive
                bar = ProgressBar(
                    None, label="archived", unit="threads", enabled=not arguments.json
                )
                async for report in reconciler.inactive(days, principal):
                    reports.append(report)
                    bar.advance(1)
                bar.finish()
        finally:
            await services.close()

    try:
        asyncio.run(run())
    except AcsUnavailable as exc:
        failures[""] = exc
    if arguments.json:
        print(json.dumps(_as_json(reports, failures), indent=1, ensure_ascii=False))
    else:
        _describe(reports, failures)
    if any(isinstance(e, AcsUnavailable) for e in failures.values()):
        return Exit.UNAVAILABLE
    if any(isinstance(e, ThreadNotInAcs) for e in failures.values()):
        return Exit.NOT_FOUND
    refused = failures or any(report.refused for report in reports)
    return Exit.PROBLEM if refused else Exit.OK


def _describe(reports: list[Any], failures: dict[str, AcsError]) -> None:
    for report in reports:
        if report.refused:
            print(f"{report.thread_id}: not archived: {report.refused}")
            continue
        lost = (
            f"; {report.unrecoverable} edited or deleted before any version was archived "
            "(their earlier text is not recoverable from ACS)"
            if report.unrecoverable
            else ""
        )
        print(
            f"{report.thread_id}: transcript from {report.source}"
            + (
                f"; listed {report.listed} messages ({report.system} system); "
                f"repaired {len(report.repaired)} versions, {report.present} already archived"
                f"{lost}"
                if report.source == "acs"
                else ""
            )
        )
        if report.gaps is not None:
            print(f"  {_completeness(report.gaps)}")
        for repaired in report.repaired:
            print(f"  repaired {repaired}")
        if report.quarantined:
            print(f"  quarantined {report.quarantined} messages that did not parse")
        if report.note:
            print(f"  {report.note}")
        for name in report.transcripts:
            print(f"  wrote {name}")
        if (summary := report.summary) is not None:
            print(f"  summary {summary.outcome}: {summary.name or summary.why}")
    for thread_id, error in failures.items():
        print(f"archiver: {thread_id + ': ' if thread_id else ''}{error}", file=sys.stderr)
    if not reports and not failures:
        print("No thread is due: every inactive thread's activity is in a transcript.")


def _completeness(found: Any) -> str:
    """One line on what the check against ACS found."""
    if found.complete:
        return "complete: the archive held every message ACS shows"
    parts = [
        f"{label} {', '.join(map(str, ids[:20]))}{' ...' if len(ids) > 20 else ''}"
        for label, ids in (
            ("missing sequenceId", found.missing),
            ("not listed by ACS sequenceId", found.unlisted),
            ("archived but gone from ACS", found.gone),
        )
        if ids
    ]
    return "incomplete: " + "; ".join(parts)


def _as_json(reports: list[Any], failures: dict[str, AcsError]) -> dict[str, Any]:
    return {
        "threads": [
            {_camel(name): value for name, value in dataclasses.asdict(report).items()}
            for report in reports
        ],
        "failures": [
            {"threadId": thread_id or None, "kind": type(error).__name__, "message": str(error)}
            for thread_id, error in failures.items()
        ],
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _create_identity(arguments: argparse.Namespace) -> int:
    from archiver.acs.client import create_identity

    settings = load_settings(arguments.settings)
    if settings.acs is None:
        raise ConfigurationError("ACS_ENDPOINT (or ACS_CONNECTION_STRING) is not set")
    user = asyncio.run(create_identity(settings.acs))
    print(user)
    print(
        f"Set ACS_ARCHIVER_USER_ID={user} and add this identity to every thread to archive "
        "from ACS.",
        file=sys.stderr,
    )
    return Exit.OK
