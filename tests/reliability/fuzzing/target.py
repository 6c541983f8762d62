"""The webhook under fuzzing: a local host per delivery over one Azurite store, and every
property checked after each example."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import hypothesis
from aiohttp.test_utils import TestClient, TestServer
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from archiver.bootstrap import build
from archiver.core.envelopes import split_body
from archiver.core.events import classify
from archiver.core.inventory import MessageBlob, entry
from archiver.core.layout import (
    MESSAGES_PREFIX,
    QUARANTINE_PREFIX,
    THREADS_PREFIX,
)
from archiver.core.records import Ignored, MessageVersion, Quarantined, Record, ThreadEvent
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from archiver.sim.judge import verify
from archiver.storage.azure import AzureStorage
from archiver.verification.consistency import consistency
from archiver.verification.findings import Snapshot
from tests.reliability.figures import FIGURES
from tests.reliability.fuzzing.oracle import (
    blob_name,
    disagreement,
    document_of,
    expect,
    findings_text,
)
from tests.reliability.fuzzing.strategies import ALLOWED_TOPICS, Delivery

# The strict host refuses foreign topics and bodies over 64 KiB, so 403 and 413 come up
# often without sending megabytes; the open host takes any topic up to the default limit.
PREFIXES = (MESSAGES_PREFIX, THREADS_PREFIX, QUARANTINE_PREFIX)
SUMMARY_KEYS = {"received", "archived", "duplicates", "quarantined", "ignored"}
STRICT_BODY_BYTES = 64 * 1024
# ./scripts/soak (ARCHIVER_SOAK=1) tries ten times as many examples of every kind.
SCALE = 10 if os.environ.get("ARCHIVER_SOAK") == "1" else 1
FUZZING = hypothesis.settings(
    derandomize=True,
    database=None,  # nothing written to the working tree
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# --- The target: two local hosts over one store, and every property checked ------------


class ServerLog(logging.Handler):
    """The archiver's errors, with tracebacks, for the message of a failed example."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Target:
    """The webhook under fuzzing; `deliver` posts one delivery and checks everything."""

    runner: asyncio.Runner
    settings: Settings
    storage: AzureStorage
    container: ContainerClient  # a second, raw view of the container
    documents: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    log: ServerLog = field(default_factory=ServerLog)
    names: set[str] = field(default_factory=set)

    @property
    def delivered(self) -> int:
        return sum(self.statuses.values())

    def host(self, *, strict: bool) -> Settings:
        """The open host takes any topic; the strict one has an allow-list and 64 KiB."""
        if not strict:
            return self.settings
        return replace(
            self.settings, allowed_topics=ALLOWED_TOPICS, max_body_bytes=STRICT_BODY_BYTES
        )

    @classmethod
    async def start(cls, runner: asyncio.Runner, settings: Settings) -> Target:
        assert settings.storage.connection_string is not None
        container = ContainerClient.from_connection_string(
            settings.storage.connection_string, settings.container
        )
        target = cls(runner, settings, AzureStorage.from_settings(settings), container)
        logging.getLogger("archiver").addHandler(target.log)
        return target

    async def stop(self) -> None:
        logging.getLogger("archiver").removeHandler(self.log)
        await self.container.close()
        await self.storage.close()

    def deliver(self, delivery: Delivery) -> dict[str, Any]:
        """Post `delivery`, check every property, and return the answer's JSON."""
        return self.runner.run(self._deliver(delivery))

    async def _deliver(self, delivery: Delivery) -> dict[str, Any]:
        settings = self.host(strict=delivery.strict)
        expected = expect(delivery, settings)
        # A fresh instance for every delivery, as when Functions scales out: what one
        # example leaves in a process's memory cannot hide a failure from its replay.
        services = build(settings, storage=self.storage)
        self.log.lines.clear()
        async with TestClient(TestServer(create_app(services))) as client, asyncio.timeout(60):
            # A stream, not bytes: aiohttp warns about (and this suite fails on) a bytes
            # body over 1 MiB, which the soak's thousands of events reach.
            response = await client.post(
                "/api/events", data=io.BytesIO(delivery.body), headers=delivery.headers
            )
            text = await response.read()
        self.statuses[response.status] += 1
        # Only this target writes to its store, so the last listing is what was there before.
        before, after = self.names, await self._names()
        self.names = after
        assert response.status < 500, (
            f"answered {response.status} to bad input: {text[:300]!r}\nserver log:\n"
            + "\n".join(self.log.lines)
        )
        assert response.status == expected.status, f"expected {expected}, got {text[:300]!r}"
        answer: dict[str, Any] = json.loads(text)
        outside = [n for n in after if not n.startswith(PREFIXES) or entry(n) is None]
        assert outside == [], f"written outside the storage contract: {outside}"
        if expected.status != 200:
            assert response.content_type == "application/problem+json"
            assert answer["status"] == expected.status
            assert isinstance(answer["title"], str)
            assert answer["detail"]
            assert "Traceback" not in answer["detail"]
        elif expected.validation_code is not None:
            assert answer == {"validationResponse": expected.validation_code}
        else:
            assert response.content_type == "application/json"
            assert set(answer) == SUMMARY_KEYS
            assert all(isinstance(count, int) and count >= 0 for count in answer.values())
            parts = sum(answer[key] for key in SUMMARY_KEYS - {"received"})
            assert answer["received"] == parts == expected.events, answer
            await self._stored(delivery, answer, before, after)
        if expected.status != 200 or expected.validation_code is not None:
            assert after == before, "a refused or handshake request wrote to storage"
        snapshot = await self._snapshot(after)
        findings = consistency(snapshot)
        assert findings.ok, findings_text(findings)
        disagreements = [
            f"row {row.message_id!r} in {row.thread_id!r}: {problem}"
            for row in snapshot.rows
            for problem in disagreement(row, snapshot.messages[row.blob_name][1])
        ]
        assert disagreements == [], disagreements
        return answer

    async def _stored(
        self, delivery: Delivery, answer: dict[str, int], before: set[str], after: set[str]
    ) -> None:
        """What the answer says was stored is stored, with each event kept as received."""
        records = [classify(event) for event in split_body(delivery.body)]
        stored = [r for r in records if not isinstance(r, Ignored)]
        assert answer["ignored"] == len(records) - len(stored)
        assert answer["quarantined"] == sum(isinstance(r, Quarantined) for r in stored)
        assert answer["archived"] + answer["duplicates"] + answer["quarantined"] == len(stored)
        first: dict[str, Record] = {}
        for record in stored:
            name = blob_name(record)
            first.setdefault(name, record)
            if isinstance(record, MessageVersion):  # the name gives back the ids, exactly
                ids = (record.thread_id, record.message_id, record.version, record.action)
                read_back = entry(name)
                assert isinstance(read_back, MessageBlob), name
                assert (
                    read_back.thread_id,
                    read_back.message_id,
                    read_back.version,
                    read_back.action,
                ) == ids, name
        missing = sorted(set(first) - after)
        assert missing == [], f"the answer counts events whose blobs are missing: {missing}"
        new = after - before
        assert new <= set(first), f"blobs no event asked for: {sorted(new - set(first))}"
        versions = [name for name in new if not name.startswith(QUARANTINE_PREFIX)]
        assert answer["archived"] == len(versions), "archived must count new versions"
        for name in new:
            content = await self.storage.blobs.read(name)
            kept = first[name]
            assert isinstance(kept, MessageVersion | ThreadEvent | Quarantined)
            assert content.endswith(b',"event":' + kept.raw.encode() + b"}"), name

    async def _names(self) -> set[str]:
        """Every name in the container, listed straight from the service."""
        try:
            return {name async for name in self.container.list_blob_names()}
        except ResourceNotFoundError:  # the archive creates its container on first write
            return set()

    async def _snapshot(self, names: set[str]) -> Snapshot:
        """The whole store; blobs are create-only, so each document is read once."""
        storage = self.storage
        parsed = {name: entry(name) for name in names}
        unread = [
            n
            for n, found in parsed.items()
            if isinstance(found, MessageBlob) and n not in self.documents
        ]
        contents = await asyncio.gather(*(storage.blobs.read(name) for name in unread))
        for name, content in zip(unread, contents, strict=True):
            self.documents[name] = document_of(content)
        messages = {
            name: (found, self.documents[name])
            for name, found in parsed.items()
            if isinstance(found, MessageBlob)
        }
        rows = [row async for row in storage.messages.scan()]
        thread_rows = [row async for row in storage.threads.scan()]
        strays = [name for name, found in parsed.items() if found is None]
        return Snapshot(
            messages=messages,
            threads={},
            quarantine={},
            strays=strays,
            rows=rows,
            thread_rows=thread_rows,
        )


@contextlib.contextmanager
def fuzzing(settings: Settings, label: str) -> Iterator[Target]:
    """A target on a loop of its own; afterwards the verifier re-reads the whole store."""
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        target = runner.run(Target.start(runner, settings))
        try:
            yield target
            findings = runner.run(verify(target.storage, None))
            assert findings.ok, findings_text(findings)
        finally:
            runner.run(target.stop())
            FIGURES.bad_input(label, target.delivered)


def fuzz(target: Target, deliveries: st.SearchStrategy[Delivery], *, examples: int) -> None:
    """Deliver `examples` generated deliveries, checking every property after each."""

    examples *= SCALE

    @hypothesis.settings(FUZZING, max_examples=examples)
    @given(deliveries)
    def deliver(delivery: Delivery) -> None:
        target.deliver(delivery)

    deliver()
    assert target.delivered >= examples, f"only {target.delivered} of {examples} examples ran"
