"""Azurite, the storage emulator, started from the project's node_modules.

Used by the local host (`serve --azurite`) and by the test session. Azurite 3.35 is
the newest release that runs on Node 20; it is pinned in package.json.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from archiver.core.errors import ConfigurationError

# The emulator's published, well-known development account (not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
DEFAULT_PORTS = (10000, 10001, 10002)


@dataclass(frozen=True)
class Endpoints:
    """Where an Azurite instance listens."""

    host: str = "127.0.0.1"
    blob_port: int = DEFAULT_PORTS[0]
    queue_port: int = DEFAULT_PORTS[1]
    table_port: int = DEFAULT_PORTS[2]

    @property
    def connection_string(self) -> str:
        """A connection string for the development account on these ports."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
            f"AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://{self.host}:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint=http://{self.host}:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint=http://{self.host}:{self.table_port}/{ACCOUNT};"
        )

    def listening(self) -> bool:
        """True when the blob and table ports accept connections."""
        return all(_open(self.host, port) for port in (self.blob_port, self.table_port))


def free_ports(count: int) -> tuple[int, ...]:
    """`count` TCP ports that were free a moment ago on 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return tuple(sock.getsockname()[1] for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def azurite_binary(project: Path) -> Path:
    """The Azurite launcher in node_modules; raise ConfigurationError if not installed."""
    binary = project / "node_modules" / ".bin" / "azurite"
    if not binary.exists():
        raise ConfigurationError(
            f"Azurite is not installed ({binary} is missing). Run `npm ci` in {project} "
            "(scripts/run and .ci/run do it for you)."
        )
    return binary


def start(
    project: Path,
    endpoints: Endpoints,
    *,
    location: Path | None = None,
    log: Path | None = None,
    timeout_seconds: float = 30,
) -> subprocess.Popen[bytes]:
    """Start Azurite and wait until it listens; in memory unless `location` is given."""
    command = [
        str(azurite_binary(project)),
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--blobHost",
        endpoints.host,
        "--queueHost",
        endpoints.host,
        "--tableHost",
        endpoints.host,
        "--blobPort",
        str(endpoints.blob_port),
        "--queuePort",
        str(endpoints.queue_port),
        "--tablePort",
        str(endpoints.table_port),
    ]
    command += ["--location", str(location)] if location else ["--inMemoryPersistence"]
    with open(log, "ab") if log else open(os.devnull, "wb") as output:
        # The child keeps its own handle on the log; the parent's closes here.
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + timeout_seconds
    while not endpoints.listening():
        if process.poll() is not None:
            raise ConfigurationError(
                f"Azurite exited with code {process.returncode} before listening on "
                f"ports {endpoints.blob_port}/{endpoints.table_port}"
                + (f"; see {log}" if log else "")
            )
        if time.monotonic() > deadline:
            stop(process)
            raise ConfigurationError(f"Azurite did not listen within {timeout_seconds} s")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop an Azurite started by `start`, and wait for it to exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _open(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_local(project: Path) -> subprocess.Popen[bytes] | None:
    """Azurite on its default ports with data kept in `project`/.azurite/.

    Returns None, starting nothing, when something already listens there (an Azurite
    started by Core Tools, VS Code or an earlier command is used as it is).
    """
    if Endpoints().listening():
        return None
    location = project / ".azurite"
    location.mkdir(exist_ok=True)
    return start(project, Endpoints(), location=location, log=location / "azurite.log")


def project_folder(start: Path | None = None) -> Path:
    """The project checkout to run Azurite from: the nearest folder from `start` (the
    working directory) upwards that has Azurite in node_modules, else the folder this
    package was installed from (an editable install), else `start`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "node_modules" / ".bin" / "azurite").exists():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "package.json").exists():
        return checkout
    return here
