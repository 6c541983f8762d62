"""`archiver seal` and `archiver verify --seals`: seal threads, and check the seals.

`seal` exits 1 when a thread was refused (altered since its last seal). `verify
--seals` exits 1 when anything sealed was altered; blobs written since the last seal
are listed as unsealed, which is not an alteration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.core.errors import ConfigurationError
from archiver.core.signatures import PublicKey, public_key_from_pem
from archiver.retrieval.evidence import Proof, check_transcript
from archiver.retrieval.rsmfproof import check_rsmf
from archiver.sealing.inspection import inspect, published_keys
from archiver.sealing.judgement import Judgement
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
        "  python -m archiver seal --all",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = seal.add_mutually_exclusive_group(required=True)
    which.add_argument("--thread", action="append", metavar="ID", help="a thread (repeat)")
    which.add_argument("--all", action="store_true", help="every thread in the archive")
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
        help="with --seals: trust only this PEM public key (repeat); without it, the keys "
        "published under seals/keys/ in the archive are used",
    )


def _seal(arguments: argparse.Namespace) -> int:
    services = build(load_settings(arguments.settings))

    async def run() -> list[Sealing]:
        try:
            sealer = services.sealer
            principal = cli_principal(services.settings)
            if arguments.all:
                sealed = [result async for result in _shown(sealer.seal_all(principal))]
            else:
                sealed = [await sealer.seal(thread_id, principal) for thread_id in arguments.thread]
            flags = await services.holds.enforce_flags()  # the new seals of held threads too
            if flags.set or flags.cleared:
                print(
                    f"legal-hold flags: {flags.set} set, {flags.cleared} cleared", file=sys.stderr
                )
            return sealed
        finally:
            await services.close()

    results = asyncio.run(run())
    if not arguments.all:
        for result in results:
            _show(result)
    refused = [r for r in results if r.refused]
    sealed = sum(1 for r in results if r.seal is not None)
    print(
        f"{sealed} sealed, {sum(1 for r in results if r.unchanged)} unchanged, "
        f"{len(refused)} refused",
        file=sys.stderr,
    )
    return Exit.PROBLEM if refused else Exit.OK


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
    else:
        for reason in result.refused:
            print(f"REFUSED {result.thread_id}: {reason}")


def verify_seals(arguments: argparse.Namespace) -> int:
    """`verify --seals`: report every alteration by name; exit 1 if there is any."""
    keys = _trusted(arguments.public_key)
    services = build(load_settings(arguments.settings))

    async def run() -> tuple[list[tuple[str, Judgement]], int]:
        try:
            trusted = keys if keys is not None else await published_keys(services.storage)
            found = [
                item async for item in inspect(services.storage, trusted, threads=arguments.thread)
            ]
            return found, len(trusted)
        finally:
            await services.close()

    started = time.perf_counter()
    found, key_count = asyncio.run(run())
    elapsed = time.perf_counter() - started
    altered = sorted(f for _, judgement in found for f in judgement.altered)
    for finding in altered:
        print(f"{finding.what}: {finding.subject} ({finding.detail})")
    unsealed = [name for _, judgement in found for name in judgement.unsealed]
    for name in unsealed[: arguments.limit]:
        print(f"unsealed: {name}")
    if len(unsealed) > arguments.limit:
        print(f"unsealed: ... and {len(unsealed) - arguments.limit} more")
    blobs = sum(j.checked["blobs"] for _, j in found)
    source = (
        "the keys given" if keys is not None else f"{key_count} key(s) published in the archive"
    )
    print(
        f"{len(found)} threads, {sum(j.checked['seals'] for _, j in found)} seals, {blobs} blobs "
        f"checked against {source} in {elapsed:.1f} s: "
        + (f"{len(altered)} altered" if altered else "nothing altered")
        + (f", {len(unsealed)} unsealed" if unsealed else ""),
    )
    return Exit.PROBLEM if altered else Exit.OK


def verify_transcript(arguments: argparse.Namespace) -> int:
    """`verify --transcript FILE`: prove it against the sealed archive; exit 1 if not."""
    try:
        content = arguments.transcript.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"--transcript {arguments.transcript}: {exc.strerror}") from None
    keys = _trusted(arguments.public_key)
    services = build(load_settings(arguments.settings))

    async def run() -> Proof:
        try:
            trusted = keys if keys is not None else await published_keys(services.storage)
            if content.lstrip()[:1] == b"{":
                return await check_transcript(services.storage, content, trusted)
            return await check_rsmf(services.storage, content, trusted)
        finally:
            await services.close()

    proof = asyncio.run(run())
    for problem in proof.problems:
        print(problem)
    checked = proof.checked
    verdict = "NOT PROVED" if proof.problems else "proved"
    print(
        f"{arguments.transcript}: {verdict}: {checked['entries']} entries of "
        f"{checked['threads']} threads against {checked['seals']} seals"
    )
    return Exit.PROBLEM if proof.problems else Exit.OK


def _trusted(paths: list[Path] | None) -> dict[str, PublicKey] | None:
    if not paths:
        return None
    keys = {}
    for path in paths:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"--public-key {path}: {exc.strerror}") from None
        key = public_key_from_pem(pem, source=f"--public-key {path}")
        keys[key.key_id] = key
    return keys
