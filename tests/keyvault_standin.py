"""Key Vault's key operations on 127.0.0.1, answering the real azure-keyvault-keys SDK as
the service would: the bearer challenge, get key and sign, over https (tests.tls).

It holds EC P-256 keys by name and version, signs only SHA-256 digests (ES256, the
signature as r || s), and records what it was asked, so a spec can show that the app
sends Key Vault a digest and never the seal itself.
"""

from __future__ import annotations

import base64
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, TCPConnector, web
from aiohttp.abc import AbstractResolver, ResolveResult
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import AioHttpTransport
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from tests.standin import Standin

TOKEN = "key-vault-test-token"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Loopback(AbstractResolver):
    """Every name is 127.0.0.1."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
             "proto": 0, "flags": socket.AI_NUMERICHOST}
        ]  # fmt: skip

    async def close(self) -> None:
        return None


class StaticCredential:
    """An async token credential that always has TOKEN (the stand-in checks it)."""

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken(TOKEN, 2**31 - 1)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticCredential:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


@dataclass
class KeyVaultStandin(Standin):
    """A vault with EC P-256 keys; `signed` holds every digest it signed."""

    keys: dict[tuple[str, str], ec.EllipticCurvePrivateKey] = field(default_factory=dict)
    signed: list[bytes] = field(default_factory=list)
    unauthenticated: int = 0
    _sessions: list[ClientSession] = field(default_factory=list)

    def create_key(self, name: str) -> str:
        """A new version of key `name`; returns the version."""
        version = secrets.token_hex(16)
        self.keys[(name, version)] = ec.generate_private_key(ec.SECP256R1())
        return version

    def public_key(self, name: str, version: str) -> ec.EllipticCurvePublicKey:
        return self.keys[(name, version)].public_key()

    @property
    def url(self) -> str:
        """`https://vault.localhost:PORT`, the vault's URL (see `transport`)."""
        return f"https://vault.localhost:{self.port}"

    @property
    def resource(self) -> str:
        """What its challenge names: `https://localhost:PORT`, of which the vault's host
        is a subdomain, as `https://vault.azure.net` is of a real vault's."""
        return f"https://localhost:{self.port}"

    def transport(self) -> AioHttpTransport:
        """An SDK transport that finds `vault.localhost` at 127.0.0.1 (nothing resolves
        it otherwise); the clients it is given to share it and never close it."""
        session = ClientSession(connector=TCPConnector(resolver=_Loopback()))
        self._sessions.append(session)
        return AioHttpTransport(session=session, session_owner=False)

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._challenge])
        app.router.add_get("/keys/{name}", self._get)
        app.router.add_get("/keys/{name}/", self._get)  # the SDK's "latest version"
        app.router.add_get("/keys/{name}/versions", self._versions)  # before {version}
        app.router.add_get("/keys/{name}/{version}", self._get)
        app.router.add_post("/keys/{name}/{version}/sign", self._sign)
        return app

    async def closing(self) -> None:
        for session in self._sessions:
            await session.close()

    @web.middleware
    async def _challenge(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.unauthenticated += 1
            challenge = (
                'Bearer authorization="https://login.microsoftonline.com/'
                f'72f988bf-86f1-41af-91ab-2d7cd011db47", resource="{self.resource}"'
            )
            return web.json_response(
                {"error": {"code": "Unauthorized", "message": "no token"}},
                status=401,
                headers={"WWW-Authenticate": challenge},
            )
        return await handler(request)

    def _latest(self, name: str, version: str | None) -> tuple[str, ec.EllipticCurvePrivateKey]:
        versions = [v for (n, v) in self.keys if n == name]
        if not versions or (version is not None and version not in versions):
            raise web.HTTPNotFound(
                text='{"error": {"code": "KeyNotFound"}}', content_type="application/json"
            )
        chosen = version or versions[-1]
        return chosen, self.keys[(name, chosen)]

    async def _get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        version, key = self._latest(name, request.match_info.get("version") or None)
        numbers = key.public_key().public_numbers()
        return web.json_response(
            {
                "key": {
                    "kid": f"{self.url}/keys/{name}/{version}",
                    "kty": "EC",
                    "crv": "P-256",
                    "key_ops": ["sign", "verify"],
                    "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big")),
                },
                "attributes": {"enabled": True},
            }
        )

    async def _versions(self, request: web.Request) -> web.Response:
        """Key Vault's "Get Key Versions": every version's id, one page."""
        name = request.match_info["name"]
        versions = [v for (n, v) in self.keys if n == name]
        if not versions:
            raise web.HTTPNotFound(
                text='{"error": {"code": "KeyNotFound"}}', content_type="application/json"
            )
        listed = [
            {"kid": f"{self.url}/keys/{name}/{v}", "attributes": {"enabled": True}}
            for v in versions
        ]
        return web.json_response({"value": listed, "nextLink": None})

    async def _sign(self, request: web.Request) -> web.Response:
        name, version = request.match_info["name"], request.match_info["version"]
        _, key = self._latest(name, version)
        asked = await request.json()
        digest = unb64url(asked["value"])
        if asked.get("alg") != "ES256" or len(digest) != 32:
            return web.json_response({"error": {"code": "BadParameter"}}, status=400)
        self.signed.append(digest)
        r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return web.json_response({"kid": f"{self.url}/keys/{name}/{version}", "value": b64url(raw)})
