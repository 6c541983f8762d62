"""What every stand-in of an Azure service shares: its aiohttp application served over
https with the test session's own CA (tests/tls.py), on a free port of 127.0.0.1, from
`async with` to its end."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from aiohttp import web
from azure.core.credentials import AccessToken

from tests import tls


class Standin:
    """A served stand-in; a subclass says what it answers (`application`) and may close
    more of its own (`closing`)."""

    _runner: web.AppRunner | None = None
    _port: int | None = None

    @property
    def port(self) -> int:
        """The port it listens on (RuntimeError before it is started)."""
        if self._port is None:
            raise RuntimeError("the stand-in has not been started")
        return self._port

    def application(self) -> web.Application:
        """The routes it answers."""
        raise NotImplementedError

    async def closing(self) -> None:
        """Close what the stand-in holds besides its server."""

    async def __aenter__(self) -> Self:
        runner = web.AppRunner(self.application(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.server_context()).start()
        self._runner, self._port = runner, runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.closing()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class RecordingCredential:
    """An async token credential that always has `token`, recording the scopes asked."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, 2**31 - 1)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None
