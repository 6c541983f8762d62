"""`archiver redact`: destroy the keys of a message's versions (archiver.erasure)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.core.erasure.receipts import Decision, Item
from archiver.erasure.redaction import Answer, Redaction


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


def _redact(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    services = build(settings)

    async def run(services: Services) -> Answer:
        try:
            redaction = Redaction(
                services.storage,
                services.trail,
                obligation_days=settings.keys.minimum_retention_days,
                restriction=settings.keys.restriction_key,
                signer=services.signer if settings.seal_key is not None else None,
                forget=_forgetting(services),
            )
            return await redaction.redact(
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
        print(json.dumps(_document(answer), indent=2))
    else:
        _print(answer)
    return Exit.OK


def _forgetting(services: Services) -> Any:
    indexes = services.search_index
    if indexes is None:
        return None

    async def forget(names: Any) -> None:
        await indexes.forget(services.storage, names)

    return forget


def _document(answer: Answer) -> dict[str, Any]:
    receipt = answer.receipt
    return {
        "dryRun": answer.dry_run,
        "again": answer.again,
        "receipt": None if receipt is None else {"id": receipt.receipt_id, "blob": receipt.name},
        "items": [item.document() for item in answer.items],
    }


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
