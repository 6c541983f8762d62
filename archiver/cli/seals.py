"""`archiver seal` and `archiver verify --seals`: seal threads, and check the seals.

`seal` exits 1 when a thread was refused (altered since its last seal). `verify
--seals` exits 1 when anything sealed was altered; blobs written since the last seal
are listed as unsealed, which is not an alteration.

`seal` then writes the next checkpoint. Which keys prove a seal: archiver.cli.trust.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.checkpoints import show_checkpointing
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.cli.progress import ProgressBar
from archiver.cli.trust import Keys, given_keys, trusted_keys, verify_exit
from archiver.core.errors import ConfigurationError, InvalidEvent, StorageError
from archiver.core.jobs import Kind
from archiver.core.keys import encode_key
from archiver.retrieval.evidence import Proof, check_transcript
from archiver.retrieval.rsmf.proof import check_rsmf
from archiver.sealing.checkpointer import Checkpointing
from archiver.sealing.inspection import CONCURRENCY, catalogued, in_key_order
from archiver.sealing.sealcheck import SealReport, inspect_threads
from archiver.sealing.sealer import Sealing


def add_commands(commands: Any) -> None:
    """Register `seal` on the CLI's subparsers."""
    seal = commands.add_parser(
        "seal",
        help="seal threads: sign what their archive holds, so later changes show",
        description="Write a seal of each thread: every blob of it by name, size and "
        "SHA-256, their RFC 6962 Merkle tree hash, the previous seal's hash, signed with "
        "ARCHIVE_SEAL_KEY. A thread unchanged since its last seal gets none; a thread "
        "altered since its last seal is refused (exit 1), never sealed over.",
        epilog="examples:\n"
        "  python -m archiver seal --thread '19:abc@thread.v2'\n"
        "  python -m archiver seal --changed\n"
        "  python -m archiver seal --all",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = seal.add_mutually_exclusive_group(required=True)
    which.add_argument("--thread", action="append", metavar="ID", help="a thread (repeat)")
    which.add_argument("--all", action="store_true", help="every thread in the archive")
    which.add_argument(
        "--changed",
        action="store_true",
        help="the threads written since the last --changed run or sealing timer "
        "(every thread on the first), as the timer seals them",
    )
    settings_option(seal)
    seal.set_defaults(run=_seal)


def seal_options(parser: argparse.ArgumentParser) -> None:
    """The options `verify` takes for checking seals."""
    parser.add_argument(
        "--seals",
        action="store_true",
        help="check the seals: every blob's bytes, every "
        "signature, every chain link and row (read access is enough)",
    )
    parser.add_argument(
        "--thread", action="append", metavar="ID", help="with --seals: only this thread (repeat)"
    )
    parser.add_argument(
        "--since",
        metavar="THREAD",
        help="with --seals: only the threads after this one in key order (the cursor a "
        "stopped run prints, to resume it)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        metavar="N",
        help=f"with --seals: threads checked at once ({CONCURRENCY})",
    )
    parser.add_argument(
        "--transcript",
        type=Path,
        metavar="FILE",
        help="prove a JSON transcript or RSMF file exported from this archive against its seals",
    )
    parser.add_argument(
        "--public-key",
        action="append",
        type=Path,
        metavar="FILE",
        help="trust only this PEM public key (repeat); without it, the seal key and "
        "ARCHIVE_SEAL_TRUSTED_KEYS are trusted; with neither, the keys published in the "
        "archive are used, which proves nothing (exit 5)",
    )


def _seal(arguments: argparse.Namespace) -> int:
    services = build(load_settings(arguments.settings))

    async def run() -> tuple[list[Sealing], Checkpointing]:
        try:
            sealer = services.sealer
            principal = cli_principal(services.settings)
            if arguments.changed or arguments.all:
                # Both leave the timer's cursor: the next run seals what changed since.
                visit = await services.runs.visit(Kind.SEAL, sweep=arguments.all)
                sealing = sealer.seal_all(principal, threads=visit.thread_ids)
                results = [result async for result in _shown(sealing)]
                await services.runs.settle(visit)
            else:
                results = [await sealer.seal(t, principal) for t in arguments.thread]
            flags = await services.holds.enforce_flags()  # the new seals of held threads too
            if flags.set or flags.cleared:
                print(
                    f"legal-hold flags: {flags.set} set, {flags.cleared} cleared", file=sys.stderr
                )
            return results, await services.checkpointer.write()
        finally:
            await services.close()

    results, checkpointing = asyncio.run(run())
    if arguments.thread:
        for result in results:
            _show(result)
    refused = [r for r in results if r.refused]
    sealed = sum(1 for r in results if r.seal is not None)
    print(
        f"{sealed} sealed, {sum(1 for r in results if r.unchanged)} unchanged, "
        f"{len(refused)} refused",
        file=sys.stderr,
    )
    checkpointed = show_checkpointing(checkpointing)
    return Exit.PROBLEM if refused or checkpointed != Exit.OK else Exit.OK


async def _shown(results: Any) -> Any:
    async for result in results:
        _show(result)
        yield result


def _show(result: Sealing) -> None:
    if result.seal is not None:
        seal = result.seal
        print(
            f"sealed {result.thread_id}: {seal.name} "
            f"({len(seal.blobs)} blobs, root {seal.root_hash})"
        )
    elif result.unchanged:
        print(f"unchanged {result.thread_id}: its last seal covers it")
    elif result.busy:
        print(f"busy {result.thread_id}: another sealer is sealing it now; run again later")
    else:
        for reason in result.refused:
            print(f"REFUSED {result.thread_id}: {reason}")


def verify_seals(arguments: argparse.Namespace) -> int:
    """`verify --seals`: report every alteration by name; exit 1 if there is any. A run
    stopped by Ctrl-C or an outage prints what it found and the cursor to resume from."""
    if arguments.concurrency < 1:
        raise ConfigurationError(f"--concurrency must be at least 1, not {arguments.concurrency}")
    since = arguments.since
    if since is not None:
        try:
            encode_key(since, field="--since")
        except InvalidEvent as exc:
            raise ConfigurationError(f"--since: {exc}") from None
    given = given_keys(arguments.public_key)
    services = build(load_settings(arguments.settings))
    report = SealReport(cursor=since)
    trusted: list[Keys] = []

    async def run() -> None:
        try:
            trusted.append(await trusted_keys(services, given))
            storage = services.storage
            if arguments.thread:
                threads = in_key_order(arguments.thread, after=since)
            else:
                threads = await catalogued(storage, after=since)
            bar = ProgressBar(len(threads), label="verify --seals", unit="threads")
            try:
                await inspect_threads(
                    storage,
                    trusted[0].keys,
                    threads,
                    concurrency=arguments.concurrency,
                    progress=bar,
                    report=report,
                )
            finally:
                bar.finish()
        finally:
            await services.close()

    started = time.perf_counter()
    try:
        asyncio.run(run())
    except (KeyboardInterrupt, StorageError):
        if trusted:
            _show_report(arguments, report, trusted[0], time.perf_counter() - started, done=False)
        print(f"stopped: {_resume(report.cursor)}", file=sys.stderr)
        raise
    keys = trusted[0]
    _show_report(arguments, report, keys, time.perf_counter() - started, done=True)
    return verify_exit(altered=bool(report.findings), keys=keys)


def _show_report(
    arguments: argparse.Namespace, report: SealReport, keys: Keys, elapsed: float, *, done: bool
) -> None:
    if arguments.json:
        shown = report.as_json() | {"keys": keys.source, "trusted": keys.trusted, "complete": done}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    altered = sorted(item.finding for item in report.findings)
    for finding in altered:
        print(f"{finding.what}: {finding.subject} ({finding.detail})")
    unsealed = report.unsealed
    for name in unsealed[: arguments.limit]:
        print(f"unsealed: {name}")
    if len(unsealed) > arguments.limit:
        print(f"unsealed: ... and {len(unsealed) - arguments.limit} more")
    checked = report.checked
    print(
        f"{report.threads} threads, {checked['seals']} seals, {checked['blobs']} blobs "
        f"checked against {keys.source} in {elapsed:.1f} s: "
        + (f"{len(altered)} altered" if altered else "nothing altered")
        + (f", {len(unsealed)} unsealed" if unsealed else "")
        + ("" if done else " before it stopped"),
    )
    leaves = report.as_json()["leaves"]
    if leaves:
        said = ", ".join(f"{count} {decision}" for decision, count in leaves.items())
        print(
            f"erased leaves, each accounted for by its receipt: {said} "
            f"(receipts {', '.join(sorted(report.receipts))})"
        )
    if report.cursor is not None:
        print(f"cursor: {_resume(report.cursor)}")


def _resume(cursor: str | None) -> str:
    if cursor is None:
        return "no thread checked yet; run it again from the start"
    return f"checked up to {cursor}; go on with --since {shlex.quote(cursor)}"


def verify_transcript(arguments: argparse.Namespace) -> int:
    """`verify --transcript FILE`: prove it against the sealed archive; exit 1 if not."""
    try:
        content = arguments.transcript.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"--transcript {arguments.transcript}: {exc.strerror}") from None
    given = given_keys(arguments.public_key)
    services = build(load_settings(arguments.settings))

    async def run() -> tuple[Proof, Keys]:
        try:
            keys = await trusted_keys(services, given)
            if content.lstrip()[:1] == b"{":
                return await check_transcript(services.storage, content, keys.keys), keys
            return await check_rsmf(services.storage, content, keys.keys), keys
        finally:
            await services.close()

    proof, keys = asyncio.run(run())
    for problem in proof.problems:
        print(problem)
    checked = proof.checked
    verdict = "NOT PROVED" if proof.problems else "proved" if keys.trusted else "NOT PROVED"
    print(
        f"{arguments.transcript}: {verdict}: {checked['entries']} entries of "
        f"{checked['threads']} threads against {checked['seals']} seals, with {keys.source}"
    )
    return verify_exit(altered=bool(proof.problems), keys=keys)
