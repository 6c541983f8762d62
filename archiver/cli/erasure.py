"""`archiver redact` and `archiver erase`: destroy the keys of a message's versions, or of
everything a participant sent, with sealed receipts (archiver.erasure)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.core.erasure.receipts import Decision, Item
from archiver.core.errors import RequestRejected
from archiver.erasure.api import erasure_json, redaction_json
from archiver.erasure.redaction import Answer
from archiver.erasure.release import finish, release


def add_commands(commands: Any) -> None:
    """Register redact on the CLI's subparsers."""
    redact = commands.add_parser(
        "redact",
        help="make chosen versions of a message unreadable for good, with a sealed receipt",
        description="Destroys the data keys of the message's versions (envelope mode), or "
        "deletes their blobs (a plain archive without WORM), by the precedence legal hold > "
        "retention obligation > erasure: a held version is queued until every matter "
        "releases it, one under ARCHIVE_MINIMUM_RETENTION_DAYS is restricted, any other "
        "goes now. The receipt, under the thread, is sealed with it; its latest row shows "
        "[redacted: receipt N]. Recorded in the audit trail before anything changes.",
        epilog="examples:\n"
        "  python -m archiver redact --thread '19:abc@thread.v2' --message 1613694358927 "
        "--version 1613694358927 --reason 'Card number (PCI DSS)' --request TICKET-88 --dry-run\n"
        "  python -m archiver redact --thread '19:abc@thread.v2' --message 1613694358927 "
        "--reason 'Card number (PCI DSS)' --request TICKET-88",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    redact.add_argument("--thread", required=True, metavar="ID")
    redact.add_argument("--message", required=True, metavar="ID")
    redact.add_argument(
        "--version", type=int, metavar="N", help="one version (default: every version)"
    )
    redact.add_argument("--reason", required=True, metavar="TEXT")
    redact.add_argument(
        "--request", required=True, metavar="REF", help="the request's reference (a ticket)"
    )
    redact.add_argument(
        "--dry-run", action="store_true", help="say what would go, and change nothing"
    )
    redact.add_argument("--json", action="store_true", help="print the answer as JSON")
    settings_option(redact)
    redact.set_defaults(run=_redact)
    erase = commands.add_parser(
        "erase",
        help="erase everything a participant sent, once a second principal approves",
        description="Asks for (or, with --approve, as another principal, approves and does) "
        "the erasure of a participant: in every thread, their data keys destroyed, or "
        "re-wrapped under a custody key while a matter holds the thread (shredded by "
        "--release once none does), or under the restriction key while a retention "
        "obligation runs; then their subject key destroyed, their name and id scrubbed "
        "from the rows, a signed receipt in each thread. Lists other people's messages "
        "that name them, for review. Needs envelope mode's root key.",
        epilog="examples:\n"
        "  python -m archiver erase --participant '8:acs:1234' --request DSAR-17 "
        "--basis 'GDPR Art. 17(1)(a)' --dry-run\n"
        "  python -m archiver erase --participant '8:acs:1234' --request DSAR-17 "
        "--basis 'GDPR Art. 17(1)(a)'\n"
        "  python -m archiver erase --participant '8:acs:1234' --request DSAR-17 "
        "--basis 'GDPR Art. 17(1)(a)' --approve\n"
        "  python -m archiver erase --release\n"
        "  python -m archiver erase --finish",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    erase.add_argument("--participant", metavar="RAWID", help="the participant's ACS id")
    erase.add_argument("--request", metavar="REF", help="the request's reference (a DSAR)")
    erase.add_argument("--basis", metavar="TEXT", help="the legal basis")
    erase.add_argument(
        "--approve", action="store_true", help="approve another principal's request, and do it"
    )
    erase.add_argument("--dry-run", action="store_true", help="say what would go, change nothing")
    erase.add_argument(
        "--release", action="store_true", help="shred what erasures queued behind released holds"
    )
    erase.add_argument(
        "--finish",
        action="store_true",
        help="write the irrecoverable receipts of erasures older than ARCHIVE_KEY_RECOVERY_DAYS",
    )
    erase.add_argument("--json", action="store_true", help="print the answer as JSON")
    settings_option(erase)
    erase.set_defaults(run=_erase)


def _redact(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    services = build(settings)

    async def run(services: Services) -> Answer:
        try:
            return await services.erasures.redaction().redact(
                thread_id=arguments.thread,
                message_id=arguments.message,
                version=arguments.version,
                reason=arguments.reason,
                request=arguments.request,
                principal=cli_principal(settings),
                dry_run=arguments.dry_run,
            )
        finally:
            await services.close()

    answer = asyncio.run(run(services))
    if arguments.json:
        print(json.dumps(redaction_json(answer), indent=2))
    else:
        _print(answer)
    return Exit.OK


def _print(answer: Answer) -> None:
    for item in answer.items:
        print(f"{item.blob}: {_said(item)}")
    if answer.receipt is None:
        print("dry run: nothing changed")
    elif answer.again:
        print(f"done before: receipt {answer.receipt.receipt_id} ({answer.receipt.name})")
    else:
        print(f"receipt {answer.receipt.receipt_id}: {answer.receipt.name}")


def _said(item: Item) -> str:
    if item.decision is Decision.QUEUED:
        return f"queued: held by {', '.join(item.held_by)}"
    return {
        Decision.SHREDDED: "shredded (its key destroyed)",
        Decision.RESTRICTED: "restricted (its key re-wrapped under the restriction key)",
        Decision.DELETED: "deleted (a plain archive's blob)",
    }[item.decision]


def _erase(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    named = [arguments.participant, arguments.request, arguments.basis]
    if not (arguments.release or arguments.finish) and None in named:
        raise RequestRejected(
            "erase needs --participant, --request and --basis (or --release, or --finish)"
        )
    services = build(settings)
    signer = services.erasures.signer()

    async def run() -> dict[str, Any]:
        try:
            if arguments.finish:
                done = await finish(
                    services.storage, recovery_days=settings.keys.recovery_days, signer=signer
                )
                return {"receipts": [{"id": r.receipt_id, "blob": r.name} for r in done]}
            if arguments.release:
                released = await release(
                    services.storage, signer=signer, forget=services.erasures.forgetting()
                )
                return {
                    "receipts": [{"id": r.receipt_id, "blob": r.name} for r in released.receipts],
                    "stillHeld": {t: list(m) for t, m in released.still_held.items()},
                }
            answer = await services.erasures.erasing().erase(
                participant=arguments.participant,
                request=arguments.request,
                basis=arguments.basis,
                principal=cli_principal(settings),
                approve=arguments.approve,
                dry_run=arguments.dry_run,
            )
            return erasure_json(answer)
        finally:
            await services.close()

    shown = asyncio.run(run())
    if arguments.json:
        print(json.dumps(shown, indent=2))
    else:
        _print_erased(shown)
    return Exit.OK


def _print_erased(shown: dict[str, Any]) -> None:
    for thread_id, decision in shown.get("threads", {}).items():
        print(f"{thread_id}: {decision}")
    for receipt in shown.get("receipts", []):
        print(f"receipt {receipt['id']}: {receipt['blob']}")
    for thread_id, matters in shown.get("stillHeld", {}).items():
        print(f"{thread_id}: still held by {', '.join(matters)}")
    for named in shown.get("review", []):
        print(f"for review, names them: {named['threadId']} / {named['messageId']}")
    if shown.get("awaitingApproval"):
        print(
            f"request {shown['requestId']} awaits a second approver: another principal runs "
            "the same command with --approve"
        )
    elif shown.get("dryRun"):
        print("dry run: nothing changed")
