"""`archiver hold`, `archiver dispose` and `archiver audit`: legal holds per matter,
retention, and who did what.

`hold add` exits 3 for a thread the archive does not hold and 1 for a thread being
disposed of; `hold release` exits 2 when that matter does not hold it; `dispose` exits 1
when a thread was kept by storage immutability.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, moment, settings_option
from archiver.core.errors import ConfigurationError
from archiver.core.fields import format_timestamp
from archiver.core.governance.audit import REFUSALS
from archiver.core.governance.holds import Hold, Scope
from archiver.core.settings import Settings
from archiver.governance.holds import Change

_T = TypeVar("_T")

AUDIT_COLUMNS = ("time", "action", "outcome", "status", "principal", "threadId", "messageId",
                 "file", "requestId", "clientIp", "id", "count", "statuses", "routes")  # fmt: skip


def add_commands(commands: Any) -> None:
    """Register hold, dispose and audit on the CLI's subparsers."""
    hold = commands.add_parser(
        "hold",
        help="legal holds per matter: place, release and list them",
        description="A thread on hold survives every retention run until every matter that "
        "holds it has released it. A hold is on a thread, or on a participant (a custodian: "
        "every thread they are or were in, later ones too). Each change is in the audit trail.",
        epilog="examples:\n"
        "  python -m archiver hold add --thread '19:abc@thread.v2' --matter CASE-4471 "
        "--reason 'Litigation hold'\n"
        "  python -m archiver hold add --participant '8:acs:1234' --matter CASE-4471 "
        "--reason 'Custodian'\n"
        "  python -m archiver hold release --thread '19:abc@thread.v2' --matter CASE-4471 "
        "--reason 'Case closed'\n"
        "  python -m archiver hold list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = hold.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="place a matter's hold on a thread or a custodian")
    _scope_options(add)
    add.add_argument(
        "--matter", "--case", dest="matter", required=True, metavar="ID", help="the case id"
    )
    add.add_argument("--reason", required=True, metavar="TEXT")
    settings_option(add)
    add.set_defaults(run=_add)
    release = actions.add_parser("release", help="release one matter's hold")
    _scope_options(release)
    release.add_argument(
        "--matter",
        "--case",
        dest="matter",
        metavar="ID",
        help="the matter whose hold to release (omitted: the legacy hold of an older version)",
    )
    release.add_argument("--reason", required=True, metavar="TEXT")
    settings_option(release)
    release.set_defaults(run=_release)
    listing = actions.add_parser("list", help="every hold in force, every matter's")
    listing.add_argument("--all", action="store_true", help="released ones too")
    settings_option(listing)
    listing.set_defaults(run=_list)

    dispose = commands.add_parser(
        "dispose",
        help="delete threads past ARCHIVE_RETENTION_DAYS that are not on hold",
        description="Threads whose last activity is older than ARCHIVE_RETENTION_DAYS and "
        "that are not on hold are deleted whole: versions, changes, transcripts, seals, rows. "
        "Each disposal is in the audit trail with every blob and its SHA-256. Held threads "
        "are skipped and listed. A run that stopped is finished by the next.",
        epilog="examples:\n  python -m archiver dispose --dry-run\n  python -m archiver dispose",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dispose.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    settings_option(dispose)
    dispose.set_defaults(run=_dispose)

    audit = commands.add_parser(
        "audit",
        help="list the audit trail: reads, exports, seals, holds, disposals",
        epilog="examples:\n"
        "  python -m archiver audit --since 2026-12-01 --thread '19:abc@thread.v2'\n"
        "  python -m archiver audit --principal ada@contoso.com --format csv\n"
        "  python -m archiver audit --principal anonymous --format text",
        description="Each allowed or answered read is one record; the requests the gate "
        "refused are one `refusals` record per caller and minute, with their count.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("--since", type=moment, help="records at or after (ISO 8601)")
    audit.add_argument("--principal", help="an object id, app id, name, kind or address")
    audit.add_argument("--thread", metavar="ID")
    audit.add_argument(
        "--format",
        choices=("jsonl", "csv", "text"),
        default="jsonl",
        help="JSON Lines (the records as stored), CSV, or a line of text each",
    )
    settings_option(audit)
    audit.set_defaults(run=_audit)


def _scope_options(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--thread", metavar="ID", help="a thread")
    scope.add_argument(
        "--participant", metavar="RAWID", help="a custodian: every thread they are or were in"
    )


def _scope(arguments: argparse.Namespace) -> tuple[Scope, str]:
    if arguments.thread is not None:
        return Scope.THREAD, arguments.thread
    return Scope.PARTICIPANT, arguments.participant


def _add(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    scope, target = _scope(arguments)

    async def run(services: Services) -> Change:
        return await services.holds.add(
            scope,
            target,
            matter=arguments.matter,
            reason=arguments.reason,
            principal=cli_principal(settings),
        )

    change = _with_services(settings, run)
    print(f"held {target} for {arguments.matter}: {arguments.reason}")
    _in_force(target, change)
    for thread_id in change.disposing:
        print(f"too late for {thread_id}: it is being disposed of", file=sys.stderr)
    return Exit.PROBLEM if change.disposing else Exit.OK


def _release(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    scope, target = _scope(arguments)

    async def run(services: Services) -> Change:
        return await services.holds.release(
            scope,
            target,
            matter=arguments.matter,
            reason=arguments.reason,
            principal=cli_principal(settings),
        )

    change = _with_services(settings, run)
    print(f"released {target} for {change.hold.label}: {arguments.reason}")
    _in_force(target, change)
    return Exit.OK


def _in_force(target: str, change: Change) -> None:
    matters = ", ".join(hold.label for hold in change.holds)
    print(f"{target} is on hold for {matters}" if matters else f"{target} is on hold no more")


def _list(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)

    async def run(services: Services) -> list[Hold]:
        return list(await services.holds.listed(everything=arguments.all))

    for hold in _with_services(settings, run):
        print(
            f"{hold.target}\t{'held' if hold.held else 'released'}\t"
            f"{hold.matter if hold.matter is not None else '(legacy)'}\t{hold.reason or '-'}\t"
            f"{hold.placed_by or '-'}\t{format_timestamp(hold.placed_at) or '-'}\t{hold.scope}"
        )
    return Exit.OK


def _dispose(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    if settings.retention_days == 0:
        raise ConfigurationError("ARCHIVE_RETENTION_DAYS is 0: every thread is kept forever")

    async def run(services: Services) -> list[Any]:
        principal = cli_principal(settings)
        found = []
        async for result in services.disposal.run(principal, dry_run=arguments.dry_run):
            why = f": {result.why}" if result.why else ""
            print(f"{result.outcome} {result.thread_id} ({result.blobs} blobs){why}")
            found.append(result)
        return found

    results = _with_services(settings, run)
    kept = [r for r in results if r.outcome == "kept"]
    print(
        f"{sum(r.outcome == 'disposed' for r in results)} disposed, "
        f"{sum(r.outcome == 'held' for r in results)} held, {len(kept)} kept by immutability, "
        f"{sum(r.outcome == 'active' for r in results)} active again",
        file=sys.stderr,
    )
    return Exit.PROBLEM if kept else Exit.OK


def _audit(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    writer = csv.writer(sys.stdout, lineterminator="\r\n") if arguments.format == "csv" else None
    if writer is not None:
        writer.writerow(AUDIT_COLUMNS)

    async def run(services: Services) -> None:
        async for record in services.trail.records(
            since=arguments.since, principal=arguments.principal, thread=arguments.thread
        ):
            if writer is not None:
                writer.writerow(_row(record))
            elif arguments.format == "text":
                print(_line(record))
            else:
                print(json.dumps(record, ensure_ascii=False))

    _with_services(settings, run)
    return Exit.OK


def _row(record: dict[str, Any]) -> list[Any]:
    target = record.get("target") or {}
    refused = _refused(record)
    return [
        record.get("time"), record.get("action"), record.get("outcome"), record.get("status"),
        _who(record), target.get("threadId"), target.get("messageId"), target.get("file"),
        record.get("requestId"), record.get("clientIp"), record.get("id"),
        *((refused["count"], _counts(refused["statuses"]), _counts(refused["routes"]))
          if refused else (None, None, None)),
    ]  # fmt: skip


def _line(record: dict[str, Any]) -> str:
    """A record as one line of text; a refusals record says how many, whose, when, why."""
    head = f"{record.get('time')}  {record.get('action')}"
    refused = _refused(record)
    if refused is None:
        target = record.get("target") or {}
        what = "/".join(str(target[k]) for k in ("threadId", "messageId", "file") if target.get(k))
        outcome = " ".join(str(v) for v in (record.get("outcome"), record.get("status")) if v)
        return f"{head}  {outcome}  {_who(record)}  {what}".rstrip()
    return (
        f"{head}  {refused['count']} refused {_caller(record)}, {refused['first']} to "
        f"{refused['last']}: {_counts(refused['statuses'])}; {_counts(refused['routes'])}"
    )


def _caller(record: dict[str, Any]) -> str:
    kind = (record.get("principal") or {}).get("kind")
    if kind == "others":
        return "from callers past the minute's cap"
    address = record.get("clientIp") or "an unknown address"
    return f"from {address}" if kind == "anonymous" else f"to {_who(record)} ({kind}) at {address}"


def _who(record: dict[str, Any]) -> Any:
    who = record.get("principal") or {}
    return who.get("name") or who.get("objectId") or who.get("appId") or who.get("kind")


def _refused(record: dict[str, Any]) -> dict[str, Any] | None:
    details = record.get("details") or {}
    return details if record.get("action") == REFUSALS and "count" in details else None


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in counts.items())


def _with_services(settings: Settings, work: Callable[[Services], Awaitable[_T]]) -> _T:
    services = build(settings)

    async def run() -> _T:
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())
