"""The archive's metrics: a simulated run with faults leaves exactly the counts it should."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)

from archiver.bootstrap import build
from archiver.core.settings import Settings
from archiver.hosts.devhost import create_app
from archiver.sim.conversations import Shape
from archiver.sim.publication import Flavour
from archiver.sim.schedule import Batching
from archiver.sim.simulator import Simulation, simulate
from archiver.storage.memory import MemoryStorage
from archiver.telemetry.metrics import METER_NAME
from tests.builders import TOPIC, body, message_event, new_message_id
from tests.conftest import PROJECT
from tests.instrumented import Instrumented


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    yield reader
    reader.shutdown()


def measured(reader: InMemoryMetricReader) -> dict[str, Any]:
    """Each instrument's total (counters) or count and sum (histograms), all attributes."""
    data = reader.get_metrics_data()
    totals: dict[str, Any] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            assert scope.scope.name == METER_NAME
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    if isinstance(point, HistogramDataPoint):
                        count, total = totals.get(metric.name, (0, 0.0))
                        totals[metric.name] = (count + point.count, total + point.sum)
                    elif isinstance(point, NumberDataPoint):
                        totals[metric.name] = totals.get(metric.name, 0) + point.value
    return totals


async def served(storage: Any, reader: InMemoryMetricReader, **settings: Any) -> Any:
    meter = MeterProvider(metric_readers=[reader]).get_meter(METER_NAME)
    services = build(Settings(**settings), storage=storage, meter=meter)
    server = TestServer(create_app(services))
    await server.start_server()
    return server


async def run(storage: Any, reader: InMemoryMetricReader) -> Any:
    """A simulated run of per-user traffic with redeliveries against a local host."""
    server = await served(storage, reader)
    try:
        return await simulate(
            Simulation(
                url=str(server.make_url("/api/events")),
                seed=5,
                shape=Shape(threads=3, messages=15),
                flavour=Flavour.PER_USER,
                batching=Batching(max_events=25, redelivery=0.2),
                truth_path=None,
            )
        )
    finally:
        await server.close()


def accepted(totals: dict[str, Any]) -> int:
    return sum(
        totals.get(name, 0)
        for name in (
            "archive.versions",
            "archive.duplicates",
            "archive.quarantined",
            "archive.ignored",
        )
    )


async def test_a_simulated_run_counts_each_stored_version_once_and_every_event(
    reader: InMemoryMetricReader,
):
    storage = MemoryStorage()

    outcome = await run(storage, reader)

    totals = measured(reader)
    assert outcome.ok
    assert totals["archive.versions"] == len([name async for name in storage.blobs.names()])
    assert totals["archive.duplicates"] > 0  # per-user copies and redeliveries
    assert accepted(totals) == outcome.main.delivered  # every event of every 200, once
    assert totals["archive.request.duration"][0] == outcome.main.requests
    lags, seconds = totals["archive.lag"]
    assert lags == totals["archive.versions"]
    assert seconds >= 0
    assert "archive.refused" not in totals
    assert "archive.storage_failures" not in totals


async def test_a_simulated_run_with_storage_faults_counts_each_failed_request(
    reader: InMemoryMetricReader,
):
    storage = MemoryStorage()
    # Storage refuses a few writes: those requests are answered 503 and delivered again.
    flaky = Instrumented(storage, failing={"create": 3, "transact": 1})

    outcome = await run(flaky, reader)

    totals = measured(reader)
    assert outcome.ok
    assert outcome.main.statuses["503"] >= 1
    assert totals["archive.storage_failures"] == outcome.main.statuses["503"]
    assert accepted(totals) == outcome.main.delivered
    # A version a failed request stored counts once its redelivery finds it: a duplicate.
    assert totals["archive.versions"] <= len([name async for name in storage.blobs.names()])
    assert totals["archive.request.duration"][0] == outcome.main.requests


async def test_refused_requests_are_counted_by_status(reader: InMemoryMetricReader):
    server = await served(
        MemoryStorage(), reader, allowed_topics=frozenset({TOPIC.lower()}), max_body_bytes=4096
    )
    posts = [
        (body(message_event(message_id=new_message_id())), 200),
        (body(message_event(topic="/subscriptions/else/x")), 403),
        (b"{not json", 400),
        (body(message_event(body="x" * 5000)), 413),
        (
            json.dumps(
                {"eventType": "Microsoft.Storage.BlobCreated", "topic": TOPIC, "data": {}}
            ).encode(),
            200,
        ),
    ]
    try:
        async with aiohttp.ClientSession() as session:
            for payload, status in posts:
                async with session.post(
                    server.make_url("/api/events"),
                    data=payload,
                    headers={"aeg-event-type": "Notification"},
                ) as response:
                    assert response.status == status
    finally:
        await server.close()

    totals = measured(reader)
    assert totals["archive.refused"] == 3
    assert totals["archive.versions"] == 1
    assert totals["archive.ignored"] == 1
    assert totals["archive.request.duration"][0] == 5
    assert "archive.storage_failures" not in totals


@pytest.mark.process
def test_metrics_are_off_and_opentelemetry_unimported_without_a_connection_string():
    probe = (
        "import sys, function_app; function_app.runtime.services();"
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin", "ARCHIVE_STORAGE": "UseDevelopmentStorage=true"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == "False"
