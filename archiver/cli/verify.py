"""`archiver verify`: check the archive for consistency, or against a simulation's truth.

Exits 0 when the archive is right, 1 when it is not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.checkpoints import checkpoint_options, verify_checkpoint
from archiver.cli.disclose import disclosure_option, verify_disclosure
from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, settings_option
from archiver.cli.seals import seal_options, verify_seals, verify_transcript
from archiver.cli.search import citation_option, verify_citation
from archiver.core.errors import ConfigurationError
from archiver.sealing.inspection import CONCURRENCY
from archiver.verification.findings import Findings, as_json, report
from archiver.verification.snapshot import check


def add_commands(commands: Any) -> None:
    """Register `verify` on the CLI's subparsers."""
    check = commands.add_parser(
        "verify",
        help="check the archive against a ground-truth file, or for consistency",
        description="Read the archive (Blob + Table, with the service's settings) and report "
        "what is missing, extra, wrong or outside the storage contract. With --truth, the "
        "threads of that simulation are judged (all of the archive with --exact); without, "
        "every row must point at an existing blob of its version and be no older than its "
        "message's newest blob.",
        epilog="examples:\n"
        "  python -m archiver verify\n"
        "  python -m archiver verify --truth ground-truth.json\n"
        "  python -m archiver verify --seals --public-key seal-public.pem\n"
        "  python -m archiver verify --seals --since '19:abc@thread.v2' --json\n"
        "  python -m archiver verify --transcript case-4471.json --public-key seal-public.pem\n"
        "  python -m archiver verify --checkpoint latest --public-key seal-public.pem\n"
        "  python -m archiver verify --citation hit.json --public-key seal-public.pem\n"
        "  python -m archiver verify --disclosure disclosure.json --public-key seal-public.pem",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--truth", type=Path, help="ground-truth file written by simulate")
    check.add_argument(
        "--exact", action="store_true", help="the whole archive must be exactly the truth"
    )
    settings_option(check)
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    check.add_argument("--limit", type=int, default=20, help="lines shown per kind (20)")
    seal_options(check)
    checkpoint_options(check)
    citation_option(check)
    disclosure_option(check)
    check.set_defaults(run=_verify)


def _verify(arguments: argparse.Namespace) -> int:
    if arguments.exact and arguments.truth is None:
        raise ConfigurationError("--exact needs --truth")
    if not arguments.seals and (
        arguments.since is not None or arguments.concurrency != CONCURRENCY
    ):
        raise ConfigurationError("--since and --concurrency go with --seals")
    disclosure = bool(arguments.disclosure)  # which takes --checkpoint latest along
    chosen = [
        arguments.seals,
        bool(arguments.transcript),
        bool(arguments.checkpoint) and not disclosure,
        bool(arguments.citation),
        disclosure,
    ]
    if any(chosen):
        if arguments.truth is not None or sum(chosen) > 1:
            raise ConfigurationError(
                "--seals, --transcript, --checkpoint, --citation, --disclosure and --truth "
                "are separate checks"
            )
        if disclosure:
            return verify_disclosure(arguments)
        if arguments.citation:
            return verify_citation(arguments)
        if arguments.checkpoint:
            return verify_checkpoint(arguments)
        return verify_transcript(arguments) if arguments.transcript else verify_seals(arguments)
    if arguments.thread or arguments.public_key:
        raise ConfigurationError("--thread and --public-key go with --seals or --transcript")
    services = build(load_settings(arguments.settings))

    async def run() -> Findings:
        try:
            if arguments.truth is None:
                return await check(services.storage)
            # Judging against a simulation's ground truth is developer tooling.
            from archiver.sim.judge import verify
            from archiver.sim.truth import GroundTruth

            truth = GroundTruth.read(arguments.truth)
            return await verify(services.storage, truth, exact=arguments.exact)
        finally:
            await services.close()

    findings = asyncio.run(run())
    if arguments.json:
        print(as_json(findings))
    else:
        report(findings, sys.stdout, limit=arguments.limit)
    return Exit.OK if findings.ok else Exit.PROBLEM
