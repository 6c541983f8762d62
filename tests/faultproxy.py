"""A fault-injecting HTTP proxy between the archiver and Azurite, for the fault tests.

It listens on one port per storage service (blob, table). Each request is read whole,
then a seeded generator decides what becomes of it:

* forwarded    to Azurite unchanged: method, target, headers and body as received
* reset        the connection is closed with a TCP reset, nothing forwarded
* stall        the request is held far past the archiver's time budget, then dropped
* error500/503 an Azure-style error answer (XML for blob, JSON for table), not forwarded
* lost-answer  forwarded, so storage applies it, then answered 500 or reset instead

The SharedKey signature does not cover the Host header, so the archiver can sign for
the proxy's port and Azurite still accepts the request (tests/test_faults.py shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import json
import random
import socket
import struct
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from archiver.hosts import azurite as emulator

SERVICES = ("blob", "table")
# Connection-level headers belong to one hop; the client's own Content-Length is kept.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "upgrade"})
# Headers aiohttp would add on its own; the client's request is sent as it came.
_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
_ERRORS = {
    500: (
        "InternalError",
        "Server encountered an internal error. Please try again after some time.",
    ),
    503: ("ServerBusy", "The server is currently unable to receive requests. Please retry."),
}


class Fault(enum.StrEnum):
    """What the proxy can do to a request instead of forwarding it faithfully."""

    RESET = "reset"
    STALL = "stall"
    ERROR_500 = "error500"
    ERROR_503 = "error503"
    LOST_ANSWER = "lost-answer"


@dataclass(frozen=True, kw_only=True)
class Faults:
    """The share of requests each fault hits; the rest is forwarded."""

    shares: Mapping[Fault, float] = field(default_factory=dict)
    stall_seconds: float = 10.0

    def __post_init__(self) -> None:
        if sum(self.shares.values()) > 1:
            raise ValueError(f"fault shares add up to more than 1: {dict(self.shares)}")

    def draw(self, rng: random.Random) -> Fault | None:
        """The fault for the next request, or None to forward it."""
        point = rng.random()
        for fault, share in self.shares.items():
            if point < share:
                return fault
            point -= share
        return None


PASS_THROUGH = Faults()


@dataclass(frozen=True)
class _Request:
    method: str
    target: str  # path and query, exactly as the client sent them
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


class FaultProxy:
    """A reverse proxy to one Azurite's blob and table ports that injects `faults`.

    `counts` holds requests "forwarded", requests whose upstream was "unreachable", and
    each fault injected; `lost_answers` how lost answers ended ("500" or "reset"). Every
    key exists from the start, so another thread may read them while the proxy runs.
    """

    def __init__(
        self, upstream: emulator.Endpoints, *, faults: Faults = PASS_THROUGH, seed: int = 0
    ) -> None:
        self.upstream = upstream
        self.faults = faults
        self.counts: Counter[str] = Counter(dict.fromkeys(["forwarded", "unreachable", *Fault], 0))
        self.lost_answers: Counter[str] = Counter({"500": 0, "reset": 0})
        self._rng = random.Random(seed)
        self._ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def inject(self, faults: Faults) -> None:
        """Apply `faults` to the requests from now on (PASS_THROUGH to end clean)."""
        self.faults = faults

    @property
    def endpoints(self) -> emulator.Endpoints:
        """The proxy's ports, in place of Azurite's (the queue is not proxied)."""
        return emulator.Endpoints(
            host=self.upstream.host,
            blob_port=self._ports["blob"],
            queue_port=self.upstream.queue_port,
            table_port=self._ports["table"],
        )

    @property
    def connection_string(self) -> str:
        """An Azurite connection string that reaches storage through this proxy."""
        return self.endpoints.connection_string

    async def start(self) -> None:
        """Listen on a free port for each service."""
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=60)
        )
        for service in SERVICES:
            server = await asyncio.start_server(
                functools.partial(self._serve, service), self.upstream.host, 0
            )
            self._servers.append(server)
            self._ports[service] = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, drop every connection (stalled ones too) and the upstream pool."""
        for server in self._servers:
            server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _serve(
        self, service: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (request := await _read_request(reader)) is not None:
                if not await self._answer(service, request, writer) or not request.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away; so does its connection
        except asyncio.CancelledError:
            # Only close() cancels; asyncio's stream callback cannot take a cancelled task.
            pass
        finally:
            writer.close()
            self._connections.discard(task)

    async def _answer(self, service: str, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request, faithfully or not; False when the connection was dropped."""
        fault = self.faults.draw(self._rng)
        if fault is not None:
            self.counts[fault] += 1
        if fault is Fault.RESET:
            return _reset(writer)
        if fault is Fault.STALL:
            await asyncio.sleep(self.faults.stall_seconds)
            return _reset(writer)
        if fault in (Fault.ERROR_500, Fault.ERROR_503):
            status = 500 if fault is Fault.ERROR_500 else 503
            writer.write(_error(service, status, head=request.method == "HEAD"))
            await writer.drain()
            return True
        answer = await self._forward(service, request)
        if answer is None:
            return _reset(writer)  # as a network path to a dead server would
        if fault is Fault.LOST_ANSWER:
            ending = self._rng.choice(["500", "reset"])
            self.lost_answers[ending] += 1
            if ending == "reset":
                return _reset(writer)
            answer = _error(service, 500, head=request.method == "HEAD")
        writer.write(answer)
        await writer.drain()
        return True

    async def _forward(self, service: str, request: _Request) -> bytes | None:
        """Send `request` to Azurite as it came; its answer as bytes, or None if unreachable."""
        assert self._session is not None
        port = self.upstream.blob_port if service == "blob" else self.upstream.table_port
        headers = [(k, v) for k, v in request.headers if k.lower() not in _HOP_BY_HOP]
        try:
            async with self._session.request(
                request.method,
                URL(f"http://{self.upstream.host}:{port}{request.target}", encoded=True),
                headers=CIMultiDict(headers),
                data=request.body or None,
                skip_auto_headers=_AUTO_HEADERS,
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError):
            self.counts["unreachable"] += 1
            return None
        self.counts["forwarded"] += 1
        return _response_bytes(response, body, head=request.method == "HEAD")


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on a connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ", 2)
    headers = [(name, value.strip()) for name, value in (line.split(":", 1) for line in lines)]
    fields = CIMultiDict(headers)
    if "chunked" in fields.get("Transfer-Encoding", "").lower():
        raise ConnectionError("the fault proxy only forwards bodies with a Content-Length")
    body = await reader.readexactly(int(fields.get("Content-Length", "0")))
    keep_alive = version == "HTTP/1.1" and fields.get("Connection", "").lower() != "close"
    return _Request(method, target, headers, body, keep_alive)


def _response_bytes(response: aiohttp.ClientResponse, body: bytes, *, head: bool) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {response.reason or ''}".encode("latin-1")]
    sized = False
    for name, value in response.raw_headers:
        lowered = name.decode("latin-1").lower()
        if lowered in _HOP_BY_HOP or lowered == "transfer-encoding":
            continue
        sized = sized or lowered == "content-length"
        lines.append(name + b": " + value)
    if not (head or sized or response.status in (204, 304)):
        lines.append(b"Content-Length: %d" % len(body))  # it came chunked or close-delimited
    return b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if head else body)


def _error(service: str, status: int, *, head: bool) -> bytes:
    """An error answer as the storage service words it."""
    code, text = _ERRORS[status]
    request_id = uuid.uuid4()
    message = f"{text}\nRequestId:{request_id}\nTime:{formatdate(usegmt=True)}"
    if service == "table":
        content_type = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
        document = {"odata.error": {"code": code, "message": {"lang": "en-US", "value": message}}}
        body = json.dumps(document).encode()
    else:
        content_type = "application/xml"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()
    reason = "Internal Server Error" if status == 500 else "Service Unavailable"
    headers = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Length: {0 if head else len(body)}",
        f"Content-Type: {content_type}",
        f"x-ms-error-code: {code}",
        f"x-ms-request-id: {request_id}",
        f"Date: {formatdate(usegmt=True)}",
    ]
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + (b"" if head else body)


def _reset(writer: asyncio.StreamWriter) -> bool:
    """Close the connection with a TCP reset, as a crashed peer or middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    return False


@contextlib.contextmanager
def running(proxy: FaultProxy) -> Iterator[FaultProxy]:
    """Serve `proxy` from an event loop in a thread of its own, for tests that block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(timeout=10)
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
