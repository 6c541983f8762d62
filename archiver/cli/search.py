"""`archiver index` and `archiver search`: find any version of any message, and cite it.

`index` brings a local SQLite FTS5 file up to date with the archive (reading only the
versions it does not hold; what the archive lost leaves it); `search` asks it, or the
index ARCHIVE_SEARCH names (Azure AI Search), and prints each hit with its citation.
`archiver verify --citation` proves a citation (archiver.search.proofs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from archiver.bootstrap import Services, build
from archiver.cli.exits import Exit
from archiver.cli.options import cli_principal, load_settings, moment, positive, settings_option
from archiver.cli.progress import ProgressBar
from archiver.cli.trust import Keys, given_keys, trusted_keys, verify_exit
from archiver.core.errors import ConfigurationError
from archiver.core.fields import format_timestamp
from archiver.core.search.citations import Hit, parse_citation
from archiver.core.search.queries import DEFAULT_LIMIT, Versions, query_of
from archiver.search.backends import index_for
from archiver.search.indexing import Indexing, IndexRun
from archiver.search.ports import SearchIndex
from archiver.search.proofs import CitationProof, prove_citation
from archiver.search.searching import Searching, described


def add_commands(commands: Any) -> None:
    """Register `index` and `search` on the CLI's subparsers."""
    index = commands.add_parser(
        "index",
        help="build or update a local search index (SQLite FTS5) from the archive",
        description="Read the archive's message versions into a local SQLite FTS5 file: "
        "only the versions the file does not hold yet are read, so running it again is "
        "an update, and an interrupted run goes on where it stopped. An update lists only "
        "the threads written since the last one (ChatActivity) and forgets the threads "
        "disposed of since (the audit trail); --all lists every version. Needs read access "
        "only.",
        epilog="examples:\n"
        "  python -m archiver index\n"
        "  python -m archiver index --all --index case-4471.sqlite3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    index.add_argument(
        "--all",
        action="store_true",
        help="list every version of the archive, not only the threads written (and "
        "disposed of) since the last update",
    )
    _index_option(index)
    settings_option(index)
    index.set_defaults(run=_index)

    search = commands.add_parser(
        "search",
        help="search every version of every message, with a citation for each hit",
        description="Ranked hits with a snippet, the thread, message, version, action, "
        "time and sender, and a citation: the version's blob, its SHA-256, and the seal "
        "that covers it with a Merkle inclusion proof (prove it with `archiver verify "
        '--citation`). Words must all match; "quoted phrases", prefix* and -excluded '
        "words work. Each message's current text is searched unless --versions all; "
        "deleted messages only with --include-deleted. Every search is recorded in the "
        "audit trail with the query and who asked.",
        epilog="examples:\n"
        "  python -m archiver search refund\n"
        "  python -m archiver search '\"account 4471\"' --versions all --include-deleted\n"
        "  python -m archiver search invoice --participant Alice --since 2026-03-01 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("query", help="the words to find")
    search.add_argument("--thread", help="only this thread (its id)")
    search.add_argument("--participant", help="only messages this sender sent (id or name)")
    search.add_argument("--since", type=moment, help="only versions from this time")
    search.add_argument("--until", type=moment, help="only versions before this time")
    search.add_argument("--versions", choices=list(Versions), default=str(Versions.LATEST))
    search.add_argument("--include-deleted", action="store_true", help="deleted messages too")
    search.add_argument("--limit", type=positive, default=DEFAULT_LIMIT, help="(20)")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    _index_option(search)
    settings_option(search)
    search.set_defaults(run=_search)


def _index_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        type=Path,
        help="the local index file (default: ARCHIVE_SEARCH_INDEX_FILE, chat-search.sqlite3)",
    )


def _index(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.settings)
    services = build(settings)
    index = index_for(
        settings.search,
        origin=settings.origin,
        index_file=arguments.index or settings.search.index_file,
    )
    bar = ProgressBar(None, label="indexing", unit=" versions")

    everything = arguments.all or not (arguments.index or settings.search.index_file).exists()

    async def run() -> IndexRun:
        try:
            await index.prepare()
            indexing = Indexing(services.storage, index, progress=bar.advance)
            return await indexing.update(everything=everything)
        finally:
            await index.close()
            await services.close()

    done = asyncio.run(run())
    bar.finish()
    where = (
        f"of {done.listed} in the archive"
        if everything
        else f"from {done.threads} threads written since the last update"
    )
    print(
        f"indexed {done.added} new versions {where}; "
        f"{done.forgotten} gone from the archive left the index",
        file=sys.stderr,
    )
    for name in done.unreadable:
        print(f"  not indexed, not a readable version: {name}", file=sys.stderr)
    return Exit.PROBLEM if done.unreadable else Exit.OK


def _search(arguments: argparse.Namespace) -> int:
    query = query_of(
        arguments.query,
        thread_id=arguments.thread,
        participant=arguments.participant,
        since=arguments.since,
        until=arguments.until,
        versions=arguments.versions,
        include_deleted=arguments.include_deleted,
        limit=arguments.limit,
    )
    settings = load_settings(arguments.settings)
    services = build(settings)

    async def run() -> list[Hit]:
        index, own = await _chosen(services, arguments.index)
        try:
            searching = Searching(services.storage, index, services.trail)
            return await searching.search(query, cli_principal(settings))
        finally:
            if own:
                await index.close()
            await services.close()  # and the app's indexes, if they were used

    hits = asyncio.run(run())
    if arguments.json:
        print(json.dumps({"search": described(query), "hits": [h.as_json() for h in hits]}))
    else:
        _show(hits)
    return Exit.OK


async def _chosen(services: Services, index_file: Path | None) -> tuple[SearchIndex, bool]:
    """The --index file, else the index ARCHIVE_SEARCH names, else the default file; and
    whether it is this command's own to close."""
    search = services.settings.search
    if index_file is None and services.search_index is not None:
        return await services.search_index.ready(), False
    chosen = index_for(
        search, origin=services.settings.origin, index_file=index_file or search.index_file
    )
    return chosen, True


def _show(hits: list[Hit]) -> None:
    if not hits:
        print("no hits")
    for number, hit in enumerate(hits, start=1):
        doc = hit.document
        standing = "" if doc.current else " (not its current text)"
        standing += " (message deleted)" if doc.deleted else ""
        print(
            f"{number}. {format_timestamp(doc.time)}  {doc.sender_name or doc.sender_id}  "
            f"{doc.thread_id} / {doc.message_id} v{doc.version} {doc.action}{standing}"
        )
        print(f"   {hit.snippet}")
        citation = hit.citation
        sealed = citation.sealed if citation is not None else None
        where = f"sealed by {sealed.seal}" if sealed is not None else "not sealed yet"
        print(f"   cites {doc.name} (SHA-256 {doc.sha256[:16]}…), {where}")


def citation_option(parser: argparse.ArgumentParser) -> None:
    """`verify --citation FILE`."""
    parser.add_argument(
        "--citation",
        metavar="FILE",
        help="prove a search hit's citation (a hit or citation as `search --json` prints "
        "it; - reads standard input): the blob's bytes, its Merkle inclusion in the seal, "
        "the seal's signature with a trusted key, and the checkpoint",
    )


def verify_citation(arguments: argparse.Namespace) -> int:
    """`verify --citation FILE`: exit 0 when every step holds, 1 when one does not."""
    source = arguments.citation
    try:
        content = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"--citation {source}: {exc.strerror}") from None
    citation = parse_citation(content)
    given = given_keys(arguments.public_key)
    services = build(load_settings(arguments.settings))

    async def run() -> tuple[CitationProof, Keys]:
        try:
            keys = await trusted_keys(services, given)
            proof = await prove_citation(
                services.storage, services.checkpoints, citation, keys.keys
            )
            return proof, keys
        finally:
            await services.close()

    proof, keys = asyncio.run(run())
    for step in proof.proved:
        print(f"  ok: {step}")
    for problem in proof.problems:
        print(f"  FAILS: {problem}")
    proved = not proof.problems and keys.trusted
    print(f"{citation['blob']}: {'proved' if proved else 'NOT PROVED'}, with {keys.source}")
    return verify_exit(altered=bool(proof.problems), keys=keys)
