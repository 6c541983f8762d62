"""`archiver disclose` and `archiver verify --disclosure`: hand one message version over,
and prove it.

Where the archive is: a regulator may hold only the file and the seal's public key, so
`verify --disclosure FILE --public-key KEY` reaches no storage at all: the commitment,
the envelope's header, the leaf, the inclusion proof and the seal's signature are all
proved from the file (archiver.core.erasure.disclosurecheck). With `--checkpoint latest`
the archive is asked too (archiver.search.proofs): that it still holds the envelope's
and the seal's bytes, that the chain of seals up to it is sound, and that the newest
checkpoint anchors it. Without --public-key the keys are the service's, as for every
`verify` (archiver.cli.trust), which reads the settings and may read the archive.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from archiver.bootstrap import build
from archiver.cli.checkpoints import LATEST
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, settings_option
from archiver.cli.trust import Keys, given_keys, keys_given, trusted_keys, verify_exit
from archiver.core.erasure.disclosurecheck import DisclosureProof, check_disclosure
from archiver.core.erasure.disclosures import Disclosure, parse_disclosure
from archiver.core.errors import ConfigurationError
from archiver.core.fields import parse_version
from archiver.retrieval.disclosure import disclose
from archiver.search.proofs import prove_citation


def add_commands(commands: Any) -> None:
    """Register `disclose` on the CLI's subparsers."""
    command = commands.add_parser(
        "disclose",
        help="hand over one message version, provable with the seal's public key alone",
        description="Write a disclosure of one message version: its document as the "
        "archive holds it, the envelope's stored bytes, the salt and commitment that bind "
        "the two, the seal that covers the envelope and its Merkle inclusion proof. "
        "Whoever receives it proves it with `archiver verify --disclosure FILE "
        "--public-key KEY`, with no key of the archive and no access to it. It holds no "
        "other message's text. A version written in plain mode is disclosed as its "
        "document, with no salt. Every disclosure, and every refusal, is recorded in the "
        "audit trail before anything is written.",
        epilog="examples:\n"
        "  python -m archiver disclose --thread '19:abc@thread.v2' --message 1613694358927 "
        "--version 1613694358927 --output disclosure.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--thread", required=True, metavar="ID", help="the thread's id")
    command.add_argument("--message", required=True, metavar="ID", help="the message's id")
    command.add_argument(
        "--version", required=True, type=_version, metavar="N", help="the version's number"
    )
    command.add_argument(
        "--output", type=Path, metavar="FILE", help="write the disclosure here (default: stdout)"
    )
    settings_option(command)
    command.set_defaults(run=_disclose)


def _version(text: str) -> int:
    try:
        return parse_version(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _disclose(arguments: argparse.Namespace) -> int:
    where = "-" if arguments.output is None else str(arguments.output)
    if arguments.output is not None and not arguments.output.resolve().parent.is_dir():
        raise ConfigurationError(f"--output {where}: its folder does not exist")
    settings = load_settings(arguments.settings)
    services = build(settings)

    async def run() -> dict[str, Any]:
        try:
            return await disclose(
                services.storage,
                services.trail,
                cli_principal(settings),
                thread_id=arguments.thread,
                message_id=arguments.message,
                version=arguments.version,
                file=where,
            )
        finally:
            await services.close()

    disclosure = asyncio.run(run())
    text = json.dumps(disclosure, ensure_ascii=False, indent=2) + "\n"
    if arguments.output is None:
        sys.stdout.write(text)
    else:
        try:
            arguments.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"--output {where}: {exc.strerror}") from None
    sealed = disclosure["citation"]["seal"]["name"]
    kind = (
        f"an envelope with salted commitment {disclosure['commitment']}"
        if disclosure["salt"] is not None
        else disclosure["note"]
    )
    blob = disclosure["citation"]["blob"]
    print(f"disclosed {blob}: {kind}; sealed by {sealed}", file=sys.stderr)
    return Exit.OK


def disclosure_option(parser: argparse.ArgumentParser) -> None:
    """`verify --disclosure FILE`."""
    parser.add_argument(
        "--disclosure",
        metavar="FILE",
        help="prove a disclosure `archiver disclose` wrote (- reads standard input) from "
        "the file and --public-key alone: the salted commitment, the envelope's header, "
        "its Merkle inclusion in the seal and the seal's signature; with --checkpoint "
        "latest, the archive's bytes, the chain of seals and the checkpoint too",
    )


def verify_disclosure(arguments: argparse.Namespace) -> int:
    """`verify --disclosure FILE`: exit 0 when every step holds, 1 when one does not."""
    if arguments.checkpoint not in (None, LATEST):
        raise ConfigurationError(
            "with --disclosure, --checkpoint takes latest (the archive's newest checkpoint); "
            "check the archive against a witness's checkpoint with `verify --checkpoint FILE`"
        )
    source = arguments.disclosure
    try:
        content = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"--disclosure {source}: {exc.strerror}") from None
    disclosure = parse_disclosure(content)
    given = given_keys(arguments.public_key)
    archive = arguments.checkpoint == LATEST
    if given is not None and not archive:  # the file and the key: no storage at all
        keys = keys_given(given)
        return _report(disclosure, check_disclosure(disclosure, keys.keys), keys, archive)
    proof, keys = asyncio.run(_against_archive(arguments, disclosure, given, archive))
    return _report(disclosure, proof, keys, archive)


async def _against_archive(
    arguments: argparse.Namespace, disclosure: Disclosure, given: Any, archive: bool
) -> tuple[DisclosureProof, Keys]:
    services = build(load_settings(arguments.settings))
    try:
        keys = await trusted_keys(services, given)
        proof = check_disclosure(disclosure, keys.keys)
        if archive and not proof.problems:
            found = await prove_citation(
                services.storage, services.checkpoints, disclosure.citation, keys.keys
            )
            proof.proved += [f"archive: {step}" for step in found.proved]
            proof.problems += [f"archive: {problem}" for problem in found.problems]
        return proof, keys
    finally:
        await services.close()


def _report(disclosure: Disclosure, proof: DisclosureProof, keys: Keys, archive: bool) -> int:
    for step in proof.proved:
        print(f"  ok: {step}")
    for problem in proof.problems:
        print(f"  FAILS: {problem}")
    if disclosure.enveloped is None:
        print("  note: a plain version: no salt; its document is the sealed blob itself")
    if not archive:
        print(
            "  note: proved from the file alone; the chain of seals, the checkpoint and the "
            "archive's own bytes are checked with --checkpoint latest"
        )
    proved = not proof.problems and keys.trusted
    blob = disclosure.citation["blob"]
    print(f"{blob}: {'proved' if proved else 'NOT PROVED'}, with {keys.source}")
    return verify_exit(altered=bool(proof.problems), keys=keys)
