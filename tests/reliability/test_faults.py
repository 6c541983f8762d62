"""Storage faults at the network level never lose an event or earn a false success.

A fault proxy (tests/faultproxy.py) sits between `python -m archiver serve` and a real
Azurite and breaks a share of the storage requests: resets, stalls, 500 and 503
answers, and lost answers (the write is applied, the archiver is told it failed).
`simulate` plays Event Grid with no redeliveries of its own, so a batch is sent again
only when the archiver refused it: any 2xx given for events not stored shows up in
`verify --exact` as a missing version. Then Azurite itself is stopped and restarted
while batches are in flight. `ARCHIVER_SOAK=1` runs more traffic, more faults, stalls
past the SDK's 10 s read timeout and more restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archiver.core.settings import Settings, StorageSettings
from archiver.hosts import azurite as emulator
from archiver.storage.azure import AzureStorage
from tests.conftest import PROJECT, archiver_command, fresh_settings, printed_json, serving
from tests.faultproxy import PASS_THROUGH, Fault, FaultProxy, Faults, running
from tests.reliability.figures import FIGURES
from tests.sim.test_simulation import simulate, verify
from tests.storage.test_storage_contract import row

pytestmark = pytest.mark.process

SOAK = os.environ.get("ARCHIVER_SOAK") == "1"


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much traffic and how many faults a run gets."""

    threads: int
    messages: int
    faults: Faults
    request_timeout_seconds: float  # ARCHIVE_REQUEST_TIMEOUT_SECONDS
    at_least: int  # injections of each fault kind a run must see
    restarts: int


SCALE = (
    Scale(
        threads=8,
        messages=60,
        # Stalls outlast the SDK's 10 s read timeout inside a 25 s budget: the SDK
        # gives up on the call and retries it, rather than the request timing out.
        faults=Faults(
            shares={
                Fault.RESET: 0.03,
                Fault.STALL: 0.02,
                Fault.ERROR_500: 0.03,
                Fault.ERROR_503: 0.03,
                Fault.LOST_ANSWER: 0.04,
            },
            stall_seconds=15,
        ),
        request_timeout_seconds=25,
        at_least=20,
        restarts=3,
    )
    if SOAK
    else Scale(
        threads=4,
        messages=30,
        faults=Faults(
            shares={
                Fault.RESET: 0.04,
                Fault.STALL: 0.02,
                Fault.ERROR_500: 0.04,
                Fault.ERROR_503: 0.04,
                Fault.LOST_ANSWER: 0.06,
            },
            stall_seconds=10,
        ),
        request_timeout_seconds=3,
        at_least=3,
        restarts=1,
    )
)


def directly(settings: Settings, azurite: emulator.Endpoints) -> Settings:
    """The same archive, reached without the proxy."""
    return dataclasses.replace(
        settings, storage=StorageSettings(connection_string=azurite.connection_string)
    )


def delivery(*, seed: int, threads: int, messages: int) -> tuple[str, ...]:
    """`simulate` options for per-user traffic that is re-sent only when it was refused."""
    return (
        *("--seed", str(seed), "--redelivery", "0", "--flavour", "per-user"),
        *("--threads", str(threads), "--messages", str(messages), "--participants", "2-6"),
        *("--concurrency", "8", "--max-events", "20", "--max-attempts", "60", "--no-progress"),
    )


async def test_the_proxy_forwards_a_request_and_its_answer_byte_for_byte():
    answer = (
        b'HTTP/1.1 201 Created\r\nETag: "0x8DC"\r\nx-ms-Request-Id: 7\r\n'
        b"Content-Length: 2\r\n\r\n{}"
    )
    received: list[bytes] = []

    async def storage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        received.append(head + await reader.readexactly(11))
        writer.write(answer)
        await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(storage, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    async with FaultProxy(emulator.Endpoints(blob_port=port, table_port=port)) as proxy:
        request = (
            b"PUT /devstoreaccount1/c/a%2Fb%20%C3%A9?comp=block&blockid=QUJD%3D HTTP/1.1\r\n"
            b"Host: 127.0.0.1:" + str(proxy.endpoints.blob_port).encode() + b"\r\n"
            b"x-ms-Version: 2025-11-05\r\nIf-None-Match: *\r\n"
            b"Content-Type: application/json; charset=utf-8\r\nContent-Length: 11\r\n\r\n"
            + '{"a": "é"}'.encode()
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.endpoints.blob_port)
        writer.write(request)
        got = await reader.readexactly(len(answer))
        writer.close()
        await writer.wait_closed()
    upstream.close()
    await upstream.wait_closed()

    assert received == [request], "method, target, Host, headers and body as sent"
    assert got == answer
    assert proxy.counts["forwarded"] == 1


@pytest.mark.parametrize(
    ("fault", "forwarded", "answered"),
    [
        (Fault.RESET, False, "reset"),
        (Fault.STALL, False, "reset"),
        (Fault.ERROR_500, False, "500"),
        (Fault.ERROR_503, False, "503"),
        (Fault.LOST_ANSWER, True, "500 or reset"),
    ],
)
async def test_each_fault_does_what_it_says(fault: Fault, forwarded: bool, answered: str):
    seen: list[bytes] = []

    async def storage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(storage, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    faults = Faults(shares={fault: 1.0}, stall_seconds=0.2)
    endings: set[str] = set()
    async with FaultProxy(emulator.Endpoints(blob_port=port, table_port=port)) as proxy:
        proxy.inject(faults)
        for _ in range(8):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.endpoints.blob_port)
            writer.write(b"PUT /devstoreaccount1/c/b HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            began = time.monotonic()
            try:
                endings.add((await reader.readuntil(b"\r\n")).split(b" ")[1].decode())
            except (ConnectionResetError, asyncio.IncompleteReadError):
                endings.add("reset")
            waited = time.monotonic() - began
            writer.close()
            with contextlib.suppress(ConnectionResetError):
                await writer.wait_closed()
    upstream.close()
    await upstream.wait_closed()

    assert " or ".join(sorted(endings)) == answered
    assert len(seen) == (8 if forwarded else 0)
    assert proxy.counts[fault] == 8
    if fault is Fault.STALL:
        assert waited >= 0.2


async def test_shared_key_signatures_hold_through_a_proxy_on_another_port(
    azurite: emulator.Endpoints,
):
    # The SDK signs for the proxy's port; the signature leaves out Host, so Azurite,
    # which checks every signature it gets, accepts the requests as they are forwarded.
    written = row(body="written through the proxy")
    async with FaultProxy(azurite) as proxy:
        settings = fresh_settings(proxy.connection_string)
        proxied = AzureStorage.from_settings(settings)
        try:
            await proxied.prepare()
            await proxied.blobs.create("messages/proxied.json", b'{"through": "the proxy"}')
            etag = await proxied.messages.insert(row())
            await proxied.messages.replace(written, etag=etag)
        finally:
            await proxied.close()
    direct = AzureStorage.from_settings(directly(settings, azurite))
    try:
        stored = await direct.blobs.read("messages/proxied.json")
        current = await direct.messages.get(written.thread_key, written.message_key)
    finally:
        await direct.close()

    assert proxy.endpoints.blob_port != azurite.blob_port
    assert proxy.endpoints.table_port != azurite.table_port
    assert stored == b'{"through": "the proxy"}'
    assert current == written
    # the container, five tables (messages, threads, holds, activity, keys), blob, insert, replace
    assert proxy.counts["forwarded"] == 9


def test_no_storage_fault_loses_an_event_or_gets_a_false_success(
    own_azurite: emulator.Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ARCHIVE_REQUEST_TIMEOUT_SECONDS", str(SCALE.request_timeout_seconds))
    truth = tmp_path / "truth.json"
    with running(FaultProxy(own_azurite, seed=20261205)) as proxy:
        settings = fresh_settings(proxy.connection_string)
        with serving(settings, tmp_path / "serve.log") as url:
            proxy.inject(SCALE.faults)
            summary = simulate(
                settings,
                url,
                truth,
                *delivery(seed=20261205, threads=SCALE.threads, messages=SCALE.messages),
                timeout=2400 if SOAK else 300,
            )
            proxy.inject(PASS_THROUGH)
    code, findings = verify(
        directly(settings, own_azurite), tmp_path, "--truth", str(truth), "--exact"
    )

    assert summary["deadLettered"] == 0
    assert summary["delivered"] == summary["deliveries"] == summary["events"]
    assert set(summary["statuses"]) == {"200", "503"}, "a storage fault is a 503, never a 500"
    assert (code, findings["ok"]) == (0, True), findings
    injected = {fault: proxy.counts[fault] for fault in Fault}
    assert min(injected.values()) >= SCALE.at_least, injected
    assert min(proxy.lost_answers.values()) >= 1, proxy.lost_answers
    for fault, count in injected.items():
        FIGURES.fault(str(fault), count)
    FIGURES.load(
        "per-user through the fault proxy, refused batches re-sent",
        events=summary["deliveries"],
        requests=summary["requests"],
        seconds=summary["seconds"],
        processes=1,
        lost=0,
    )


def test_azurite_stopped_and_restarted_mid_run_loses_no_event(tmp_path: Path):
    blob, queue, table = emulator.free_ports(3)
    endpoints = emulator.Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    location, log = tmp_path / "azurite", tmp_path / "serve.log"
    location.mkdir()
    azurite = emulator.start(PROJECT, endpoints, location=location, log=tmp_path / "azurite.log")
    settings = fresh_settings(endpoints.connection_string)
    truth = tmp_path / "truth.json"
    delivering: list[bool] = []
    try:
        with (
            serving(settings, log) as url,
            background(
                archiver_command(
                    *("simulate", "--url", f"{url}/api/events", "--truth", str(truth), "--json"),
                    *delivery(seed=7, threads=2 * SCALE.threads, messages=SCALE.messages),
                )
            ) as simulation,
        ):
            for restart in range(SCALE.restarts):
                wait_for_archived_deliveries(log, 3 + 10 * restart)
                emulator.stop(azurite)
                delivering.append(simulation.poll() is None)
                time.sleep(1.5)
                azurite = emulator.start(
                    PROJECT, endpoints, location=location, log=tmp_path / "azurite.log"
                )
            out, err = simulation.communicate(timeout=2400 if SOAK else 300)
        code, findings = verify(settings, tmp_path, "--truth", str(truth), "--exact")
    finally:
        emulator.stop(azurite)

    summary = printed_json(
        subprocess.CompletedProcess(simulation.args, simulation.returncode, out, err)
    )
    assert all(delivering), "Azurite went down while the run was delivering"
    assert simulation.returncode == 0, out + err
    assert summary["delivered"] == summary["deliveries"] == summary["events"]
    assert "503" in summary["statuses"], "the outage was answered 503"
    assert (code, findings["ok"]) == (0, True), findings
    FIGURES.fault("azurite-restart", SCALE.restarts)
    FIGURES.load(
        "per-user while Azurite restarts, refused batches re-sent",
        events=summary["deliveries"],
        requests=summary["requests"],
        seconds=summary["seconds"],
        processes=1,
        lost=0,
    )


@contextlib.contextmanager
def background(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    """A child process with its output captured; killed if it still runs at the end."""
    with subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_archived_deliveries(log: Path, count: int) -> None:
    """Return once the local host has answered `count` requests with 200 (per its log)."""
    deadline = time.monotonic() + 60
    while log.read_text(errors="replace").count("Archived a delivery") < count:
        assert time.monotonic() < deadline, f"fewer than {count} deliveries archived in 60 s"
        time.sleep(0.05)
