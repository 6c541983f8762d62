"""python -m bench.search: what search costs, on an Azurite of its own.

1. **Index against a bare read**: `--versions` message versions (threads of 20 messages,
   a tenth edited) are written to the archive; then, in one run, every version is
   listed and read as `archiver index` reads them (the same concurrency), and then
   indexed into a fresh local index. The ratio index/read is the figure (target: at
   most 1.5).
2. **Queries**: `--queries` searches drawn from the archive's words (a rare word, two
   words, a phrase, a prefix, an exclusion, with and without --versions all), each
   timed: p50 and p95 (target: p95 under 100 ms).
3. **An update**: `--added` new versions written (their threads' activity recorded, as
   the write path records it), then `index` again, which reads only those threads
   (target: under 2 s for 1,000 new versions in a 200,000-version index).

python -m bench.search                                   # 200,000 versions; 1,000 added
python -m bench.search --versions 5000 --added 100 --queries 50   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archiver.core.activity import hour_of
from archiver.core.errors import AlreadyStored, StorageUnavailable
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, message_blob_name, message_document
from archiver.core.records import Action, MessageVersion, Party
from archiver.core.search.documents import Standing, document_of
from archiver.core.search.queries import query_of
from archiver.core.settings import Settings, StorageSettings
from archiver.search.indexing import CHUNK, READS, Indexing
from archiver.search.localindex import LocalIndex
from archiver.storage.azure import AzureStorage
from bench.seals import own_azurite

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
VOCABULARY = 20_000
WRITERS = 64


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print them (and --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--versions", type=int, default=200_000, help="versions archived")
    parser.add_argument("--added", type=int, default=1000, help="versions the update adds")
    parser.add_argument("--queries", type=int, default=200, help="searches timed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--index-only",
        action="store_true",
        help="no Azurite: the versions go straight into the index (its own cost, and queries "
        "on an index of that size, where Azurite would take hours to hold them)",
    )
    arguments = parser.parse_args(argv)
    measure = _index_only if arguments.index_only else _measure
    figures = asyncio.run(measure(arguments.versions, arguments.added, arguments.queries))
    for name, value in figures.items():
        print(f"{name}: {value}")
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
    return 0


async def _measure(versions: int, added: int, queries: int) -> dict[str, Any]:
    rng = random.Random(7)
    words = [_word(n) for n in range(VOCABULARY)]
    with own_azurite(on_disk=False) as (endpoints, _), tempfile.TemporaryDirectory() as folder:
        # A command's patience (archiver.cli.options): a busy Azurite stalls now and then.
        storage_settings = StorageSettings(
            connection_string=endpoints.connection_string, read_timeout_seconds=60
        )
        settings = Settings(storage=storage_settings)
        storage = AzureStorage.from_settings(settings)
        try:
            await storage.prepare()
            started = time.perf_counter()
            await _write(storage, _versions(rng, words, versions, first=0))
            write_seconds = time.perf_counter() - started
            read_seconds = await _bare_read(storage)
            index = LocalIndex(Path(folder) / "index.sqlite3", origin="bench")
            await index.prepare()
            started = time.perf_counter()
            run = await Indexing(storage, index).update()
            index_seconds = time.perf_counter() - started
            timings = await _queries(index, rng, words, queries)
            new = _versions(rng, words, added, first=versions)
            await _write(storage, new)
            # As the write path records them: the threads written this hour.
            hour = hour_of(datetime.now(UTC))
            await storage.activity.record(hour, sorted({v.thread_key for v in new}))
            started = time.perf_counter()
            update = await Indexing(storage, index).update()
            update_seconds = time.perf_counter() - started
            await index.close()
            size = (Path(folder) / "index.sqlite3").stat().st_size
        finally:
            await storage.close()
    return {
        "versions": versions,
        "write seconds": round(write_seconds, 2),
        "bare read seconds": round(read_seconds, 2),
        "index seconds": round(index_seconds, 2),
        "indexed": run.added,
        "index/read": round(index_seconds / read_seconds, 2),
        "index file MB": round(size / 1e6, 1),
        "queries": len(timings),
        "query p50 ms": round(statistics.median(timings) * 1000, 1),
        "query p95 ms": round(statistics.quantiles(timings, n=20)[-1] * 1000, 1),
        "added": added,
        "update seconds": round(update_seconds, 2),
        "update indexed": update.added,
    }


async def _index_only(versions: int, added: int, queries: int) -> dict[str, Any]:
    """The index's own work at `versions`: writing them, querying, and the names an update
    compares with (`known`), without reading anything from storage."""
    rng = random.Random(7)
    words = [_word(n) for n in range(VOCABULARY)]
    made = _versions(rng, words, versions + added, first=0)
    documents = [
        document_of(v, name=message_blob_name(v), sha256="0" * 64, size=1000) for v in made
    ]
    with tempfile.TemporaryDirectory() as folder:
        index = LocalIndex(Path(folder) / "index.sqlite3", origin="bench")
        await index.prepare()
        started = time.perf_counter()
        for start in range(0, versions, CHUNK):
            chunk = documents[start : min(start + CHUNK, versions)]
            await index.put(chunk)
            await index.restand([([d.name], Standing(d.name, False)) for d in chunk])
        write_seconds = time.perf_counter() - started
        timings = await _queries(index, rng, words, queries)
        started = time.perf_counter()
        known = await index.known()
        known_seconds = time.perf_counter() - started
        started = time.perf_counter()
        new = documents[versions:]
        await index.put(new)
        await index.restand([([d.name], Standing(d.name, False)) for d in new])
        add_seconds = time.perf_counter() - started
        await index.close()
    return {
        "versions": versions,
        "index write seconds": round(write_seconds, 2),
        "index write versions per second": round(versions / write_seconds),
        "queries": len(timings),
        "query p50 ms": round(statistics.median(timings) * 1000, 1),
        "query p95 ms": round(statistics.quantiles(timings, n=20)[-1] * 1000, 1),
        "known seconds": round(known_seconds, 2),
        "known": len(known),
        "added": added,
        "add seconds": round(add_seconds, 2),
    }


def _word(number: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = ""
    number += 26 * 26  # at least three letters
    while number:
        number, digit = divmod(number, 26)
        text = letters[digit] + text
    return text


def _versions(
    rng: random.Random, words: list[str], count: int, *, first: int
) -> list[MessageVersion]:
    """`count` versions: threads of 20 messages, a tenth of them edited; Zipf-like words."""
    found: list[MessageVersion] = []
    number = first
    while len(found) < count:
        thread_id = f"19:{number // 20:032x}@thread.v2"
        message_id = str(1_700_000_000_000 + number)
        text = " ".join(words[min(int(rng.paretovariate(1.1)) - 1, VOCABULARY - 1) * 7 % VOCABULARY]
                        for _ in range(rng.randint(6, 24)))  # fmt: skip
        found.append(_version(thread_id, message_id, Action.RECEIVED, text, number))
        if rng.random() < 0.1 and len(found) < count:
            found.append(_version(thread_id, message_id, Action.EDITED, text + " again", number))
        number += 1
    return found


def _version(thread_id: str, message_id: str, action: Action, text: str, n: int) -> MessageVersion:
    at = START + timedelta(seconds=n * 7)
    return MessageVersion(
        thread_id=thread_id,
        thread_key=encode_key(thread_id, field="threadId"),
        message_id=message_id,
        message_key=message_id,
        version=int(message_id) + (0 if action == Action.RECEIVED else 1),
        action=action,
        sender=Party(
            raw_id=f"8:acs:{n % 40:04d}", kind="communicationUser", display_name=f"P{n % 40}"
        ),
        type="text",
        body=text,
        metadata=None,
        compose_time=at,
        edit_time=at + timedelta(minutes=1) if action == Action.EDITED else None,
        delete_time=None,
        event_type="Microsoft.Communication.ChatMessageReceivedInThread",
        raw=json.dumps({"messageBody": text}),
    )


async def _write(storage: AzureStorage, versions: list[MessageVersion]) -> None:
    gate = asyncio.Semaphore(WRITERS)
    now = datetime.now(UTC)

    async def one(version: MessageVersion) -> None:
        name, content = message_blob_name(version), message_document(version, archived_at=now)
        expires = time.monotonic() + 120
        async with gate:
            while True:  # a busy Azurite now and then stalls past the read timeout
                try:
                    await storage.blobs.create(name, content)
                except AlreadyStored:
                    return  # the attempt that timed out had written it
                except StorageUnavailable:
                    if time.monotonic() > expires:
                        raise
                    await asyncio.sleep(1)
                else:
                    return

    await asyncio.gather(*(one(v) for v in versions))


async def _bare_read(storage: AzureStorage) -> float:
    """List every version and read it, READS at a time: what indexing cannot do without."""
    started = time.perf_counter()
    names = [name async for name in storage.blobs.names(MESSAGES_PREFIX)]
    gate = asyncio.Semaphore(READS)

    async def one(name: str) -> None:
        async with gate:
            await storage.blobs.read(name)

    await asyncio.gather(*(one(name) for name in names))
    return time.perf_counter() - started


async def _queries(
    index: LocalIndex, rng: random.Random, words: list[str], count: int
) -> list[float]:
    common = [words[n * 7 % VOCABULARY] for n in range(50)]
    rare = [words[n * 7 % VOCABULARY] for n in range(500, 5000)]
    shapes = [
        lambda: rng.choice(rare),
        lambda: f"{rng.choice(common)} {rng.choice(rare)}",
        lambda: f'"{rng.choice(common)} {rng.choice(common)}"',
        lambda: rng.choice(rare)[:3] + "*",
        lambda: f"{rng.choice(common)} -{rng.choice(common)}",
        lambda: rng.choice(common),
    ]
    timings = []
    for number in range(count):
        text = shapes[number % len(shapes)]()
        versions = "all" if number % 2 else "latest"
        started = time.perf_counter()
        await index.search(query_of(text, versions=versions))
        timings.append(time.perf_counter() - started)
    return timings


if __name__ == "__main__":
    sys.exit(main())
