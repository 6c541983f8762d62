"""Session fixtures: a real Azurite started by the test session, and fresh storage.

Azurite comes from node_modules (`npm ci`); if it is missing the session fails with
that instruction. Nothing is skipped.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import azure.functions as func
import pytest

from archiver.core.jobsettings import JobSettings
from archiver.core.keysettings import KeySettings
from archiver.core.settings import Settings, StorageSettings
from archiver.hosts import azurite as emulator
from archiver.sim.delivery import Answer, Policy, Target, send
from archiver.storage.azure import AzureStorage
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage
from tests.reliability.figures import FIGURES

PROJECT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def in_memory_azurite(log: Path) -> Iterator[emulator.Endpoints]:
    """An in-memory Azurite on free ports, stopped on leaving."""
    blob, queue, table = emulator.free_ports(3)
    endpoints = emulator.Endpoints(blob_port=blob, queue_port=queue, table_port=table)
    process = emulator.start(PROJECT, endpoints, log=log)
    try:
        yield endpoints
    finally:
        emulator.stop(process)


_session_azurite: list[emulator.Endpoints] = []


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Endpoints]:
    """One in-memory Azurite for the whole session, on free ports."""
    with in_memory_azurite(tmp_path_factory.mktemp("azurite") / "azurite.log") as endpoints:
        _session_azurite.append(endpoints)
        try:
            yield endpoints
        finally:
            _session_azurite.clear()


@pytest.fixture(scope="module", autouse=True)
def swept_azurite() -> Iterator[None]:
    """After each module, the session's Azurite forgets every container, table and queue.
    An in-memory Azurite slows with all it holds, not with the container asked: one GET
    took 2.5 ms beside nothing, 6.6 ms beside 40,000 other blobs, 2.0 ms once they were
    deleted (measured here). A whole suite's data left in it slowed late specs until a
    request stalled past its timeout."""
    yield
    if _session_azurite:
        _sweep(_session_azurite[0])


def _sweep(endpoints: emulator.Endpoints) -> None:
    """Delete every container, table and queue an Azurite holds."""
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    connection = endpoints.connection_string
    with BlobServiceClient.from_connection_string(connection) as blobs:
        for container in list(blobs.list_containers()):
            with contextlib.suppress(Exception):  # a container under a lease or policy stays
                blobs.delete_container(container.name)
    with TableServiceClient.from_connection_string(connection) as tables:
        for table in list(tables.list_tables()):
            tables.delete_table(table.name)
    with QueueServiceClient.from_connection_string(connection) as queues:
        for queue in list(queues.list_queues()):
            queues.delete_queue(queue.name)


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[emulator.Endpoints]:
    """An Azurite for one heavy test alone: tens of thousands of versions in the
    session's Azurite would slow every later test, and the later tests would slow it."""
    with in_memory_azurite(tmp_path / "azurite.log") as endpoints:
        yield endpoints


def fresh_settings(connection_string: str, **overrides: object) -> Settings:
    """Settings with a container and table no other test uses."""
    unique = uuid.uuid4().hex[:12]
    values: dict[str, object] = {
        "storage": StorageSettings(connection_string=connection_string),
        "container": f"chat-archive-{unique}",
        "messages_table": f"ChatMessages{unique}",
        "threads_table": f"ChatThreads{unique}",
        "holds_table": f"ChatHolds{unique}",
        "keys": KeySettings(table=f"ChatKeys{unique}"),
        "checkpoints_container": f"chat-checkpoints-{unique}",
        "analytics_container": f"chat-analytics-{unique}",
        "jobs": JobSettings(
            activity_table=f"ChatActivity{unique}",
            queue=f"chat-jobs-{unique}",
            checkpoint_delay_minutes=0,  # the specs drain the queue at once
        ),
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def settings(azurite: emulator.Endpoints) -> Settings:
    """Settings pointing at the session's Azurite, with a fresh container and table."""
    return fresh_settings(azurite.connection_string)


@pytest.fixture(params=["memory", "azurite"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """Each storage adapter in turn, empty and prepared."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    settings: Settings = request.getfixturevalue("settings")
    azure = AzureStorage.from_settings(settings)
    await azure.prepare()
    try:
        yield azure
    finally:
        await azure.close()


TIERS = ("azurite", "process", "browser")
_running: list[pytest.Item] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each spec's tier: azurite when it needs the emulator, pure when nothing."""
    for item in items:
        calls = getattr(item, "callspec", None)
        needs_azurite = {"azurite", "own_azurite"} & set(getattr(item, "fixturenames", ())) or (
            calls is not None and calls.params.get("storage") == "azurite"
        )
        if needs_azurite and item.get_closest_marker("azurite") is None:
            item.add_marker(pytest.mark.azurite)
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.pure)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _running[:] = [item]


def archiver_command(*arguments: str) -> list[str]:
    """`python -m archiver ...` with this interpreter; only for specs marked `process`."""
    if _running and _running[0].get_closest_marker("process") is None:
        raise AssertionError(f"{_running[0].nodeid} starts a process: mark it `process`")
    return [sys.executable, "-m", "archiver", *arguments]


@contextlib.contextmanager
def imported_function_app(environment: dict[str, str]) -> Iterator[ModuleType]:
    """function_app imported the way the host does, with `environment` set meanwhile."""
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        import function_app as module

        yield importlib.reload(module)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def archive_settings(settings: Settings) -> dict[str, str]:
    """Only the ARCHIVE_ settings that point a process at `settings`' storage."""
    return {k: v for k, v in storage_environment(settings).items() if k.startswith("ARCHIVE_")}


async def drain_jobs(app: ModuleType) -> int:
    """Do every job waiting on the imported function app's jobs queue through its
    `run_job` function, as the queue extension would; how many were done."""
    services = app.runtime.services()
    queue = services.storage.queue(services.settings.jobs.queue)
    done = 0
    while deliveries := await queue.receive(limit=16, visibility_seconds=300):
        for delivery in deliveries:
            await app.run_job(func.QueueMessage(body=delivery.text.encode()))
            await queue.delete(delivery)
            done += 1
    return done


def run_archiver(
    settings: Settings, *arguments: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m archiver ...` against `settings`' storage (and the `extra` settings),
    its output captured."""
    return subprocess.run(
        archiver_command(*arguments),
        cwd=PROJECT,
        env=storage_environment(settings) | (extra or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def storage_environment(settings: Settings) -> dict[str, str]:
    """The environment that points a child process at `settings`' storage."""
    assert settings.storage.connection_string is not None
    return os.environ | {
        "ARCHIVE_STORAGE": settings.storage.connection_string,
        "ARCHIVE_CONTAINER": settings.container,
        "ARCHIVE_MESSAGES_TABLE": settings.messages_table,
        "ARCHIVE_THREADS_TABLE": settings.threads_table,
        "ARCHIVE_HOLDS_TABLE": settings.holds_table,
        "ARCHIVE_CHECKPOINTS_CONTAINER": settings.checkpoints_container,
        "ARCHIVE_ANALYTICS_CONTAINER": settings.analytics_container,
        "ARCHIVE_ACTIVITY_TABLE": settings.jobs.activity_table,
        "ARCHIVE_KEYS_TABLE": settings.keys.table,
        "ARCHIVE_JOBS_QUEUE": settings.jobs.queue,
        "ARCHIVE_JOBS_CHECKPOINT_DELAY": str(settings.jobs.checkpoint_delay_minutes),
    }


@contextlib.contextmanager
def serving(
    settings: Settings, log_path: Path, *options: str, extra: dict[str, str] | None = None
) -> Iterator[str]:
    """`python -m archiver serve` in its own process (with `extra` settings in its
    environment); yields its base URL.

    On exit it is stopped with SIGTERM and must exit cleanly.
    """
    [port] = emulator.free_ports(1)
    log = log_path.open("wb")
    process = subprocess.Popen(
        archiver_command(
            "serve",
            "--port",
            str(port),
            "--settings",
            str(log_path.parent / "absent.json"),
            *options,
        ),
        cwd=PROJECT,
        env=storage_environment(settings) | (extra or {}),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield url
    finally:
        process.terminate()
        exit_code = process.wait(timeout=10)
        log.close()
    assert exit_code == 0, "the local host should stop cleanly on SIGTERM"


@pytest.fixture
def served(azurite: emulator.Endpoints, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """`python -m archiver serve` in its own process, against the session's Azurite."""
    settings = fresh_settings(azurite.connection_string)
    with serving(settings, tmp_path / "serve.log") as url:
        yield url, settings


# How long a local host may take to answer its first health check. A deadline, not a
# wait: the loop returns at the first 200, so only a host that never comes up costs it,
# and a busy machine (another job on the cores) is given room to start one.
HEALTH_DEADLINE_SECONDS = 60


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Return once the local host answers /api/health with 200, asking again until a deadline."""
    deadline = time.monotonic() + HEALTH_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the local host exited early"
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (http.client.HTTPException, OSError):  # URLError and timeouts are OSErrors
            pass  # not listening yet, a 503 while its first storage ping fails, or slow: again
        time.sleep(0.2)
    raise AssertionError(
        f"the local host did not become healthy within {HEALTH_DEADLINE_SECONDS} s"
    )


# The suite's stand-in for Event Grid: a delivery is sent again after a 503, a 429, any
# other 5xx, a timeout or a broken connection (a busy machine gives each now and then),
# with Event Grid's backoff, its time to live cut to what a test can wait.
EVENT_GRID = Policy(time_to_live_seconds=120)


async def delivered(url: str, body: bytes, *, headers: dict[str, str] | None = None) -> Answer:
    """`body` posted to the webhook at `url` as Event Grid delivers it, and its last answer.

    `headers` replace the Notification's Event Grid headers where given.
    """
    grid = Target(url=url).headers

    def sent_with(attempt: int) -> dict[str, str]:
        return grid(attempt) | (headers or {})

    async with aiohttp.ClientSession() as session:
        return await send(url, body, sent_with, EVENT_GRID, session=session)


def printed_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a command printed; when it printed none, fail with its exit code and stderr."""
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"{done.args!r} exited {done.returncode} and printed no JSON:\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-6000:]}"
        ) from None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reliability report: load held, faults survived, bad inputs, lost."""
    lines = FIGURES.lines()
    if lines:
        terminalreporter.section("reliability")
        for line in lines:
            terminalreporter.write_line(line)


class Invocation(func.Context):
    """The `context` the worker passes a function that asks for one."""

    def __init__(self, invocation_id: str = "3f0e1c8a-0000-4000-8000-000000000001") -> None:
        self._invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def function_name(self) -> str:
        return "events"

    @property
    def function_directory(self) -> str:
        return ""

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None

    @property
    def thread_local_storage(self) -> Any:
        return None
