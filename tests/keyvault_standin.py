"""Key Vault's key operations on 127.0.0.1, answering the real azure-keyvault-keys SDK as
the service would: the bearer challenge, get key, list versions, sign, wrap key and
unwrap key, over https (tests.tls), as Microsoft's Key Vault REST reference has them.

It holds EC P-256 keys (seal keys), which sign only SHA-256 digests (ES256, the signature
as r || s), and RSA keys (root keys), which wrap and unwrap with RSA-OAEP-256 only, by
name and version; a new version of a name is a rotation. It records every request and
what it signed, so a spec can show what the app sent Key Vault and what it never sent.
Each key operation can be refused as Key Vault's RBAC refuses it (403), and the whole
vault can fail (`outage`, a status for every request).
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
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from tests.standin import Standin

TOKEN = "key-vault-test-token"
OAEP_256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _big_endian(number: int) -> bytes:
    """A JWK's unsigned big-endian integer, in as few bytes as it takes."""
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


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
    """A vault with EC P-256 and RSA keys; `signed` holds every digest it signed,
    `requests` every request as (method, path) and `answered` those with the token (past
    the challenge), `refused` the operations (`get`, `sign`, `wrapKey`, `unwrapKey`) its
    RBAC refuses the caller."""

    keys: dict[tuple[str, str], PrivateKey] = field(default_factory=dict)
    operations: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    signed: list[bytes] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    answered: list[tuple[str, str]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    outage: int | None = None
    unauthenticated: int = 0
    _sessions: list[ClientSession] = field(default_factory=list)

    def create_key(self, name: str) -> str:
        """A new version of EC P-256 key `name`; returns the version."""
        version = secrets.token_hex(16)
        self.keys[(name, version)] = ec.generate_private_key(ec.SECP256R1())
        self.operations[(name, version)] = ["sign", "verify"]
        return version

    def create_rsa_key(
        self, name: str, *, size: int = 3072, operations: tuple[str, ...] = ("wrapKey", "unwrapKey")
    ) -> str:
        """A new version of RSA key `name` (a rotation when it exists); returns the version."""
        version = secrets.token_hex(16)
        self.keys[(name, version)] = rsa.generate_private_key(public_exponent=65537, key_size=size)
        self.operations[(name, version)] = list(operations)
        return version

    def public_key(self, name: str, version: str) -> ec.EllipticCurvePublicKey:
        key = self.keys[(name, version)]
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key.public_key()

    def kid(self, name: str, version: str) -> str:
        """Key Vault's id of one version: `{vault}/keys/{name}/{version}`."""
        return f"{self.url}/keys/{name}/{version}"

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
        app = web.Application(middlewares=[self._record, self._challenge])
        app.router.add_get("/keys/{name}", self._get)
        app.router.add_get("/keys/{name}/", self._get)  # the SDK's "latest version"
        app.router.add_get("/keys/{name}/versions", self._versions)  # before {version}
        app.router.add_get("/keys/{name}/{version}", self._get)
        app.router.add_post("/keys/{name}/{version}/sign", self._sign)
        app.router.add_post("/keys/{name}/{version}/wrapkey", self._wrap)
        app.router.add_post("/keys/{name}/{version}/unwrapkey", self._unwrap)
        return app

    async def closing(self) -> None:
        for session in self._sessions:
            await session.close()

    @web.middleware
    async def _record(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.outage is not None:
            return web.json_response(
                {"error": {"code": "ServiceUnavailable", "message": "try again"}},
                status=self.outage,
            )
        return await handler(request)

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
        self.answered.append((request.method, request.path))
        return await handler(request)

    def _latest(self, name: str, version: str | None) -> tuple[str, PrivateKey]:
        versions = [v for (n, v) in self.keys if n == name]
        if not versions or (version is not None and version not in versions):
            raise web.HTTPNotFound(
                text='{"error": {"code": "KeyNotFound"}}', content_type="application/json"
            )
        chosen = version or versions[-1]
        return chosen, self.keys[(name, chosen)]

    def _allowed(self, operation: str) -> None:
        """A 403 as Key Vault's RBAC gives it, for an operation the caller may not do."""
        if operation in self.refused:
            raise web.HTTPForbidden(
                text='{"error": {"code": "Forbidden", "message": "Caller is not authorized '
                'to perform action on resource.", "innererror": {"code": "ForbiddenByRbac"}}}',
                content_type="application/json",
            )

    async def _get(self, request: web.Request) -> web.Response:
        self._allowed("get")
        name = request.match_info["name"]
        version, key = self._latest(name, request.match_info.get("version") or None)
        jwk: dict[str, Any] = {
            "kid": self.kid(name, version),
            "key_ops": self.operations[(name, version)],
        }
        if isinstance(key, rsa.RSAPrivateKey):
            public = key.public_key().public_numbers()
            jwk |= {"kty": "RSA", "n": b64url(_big_endian(public.n)),
                    "e": b64url(_big_endian(public.e))}  # fmt: skip
        else:
            numbers = key.public_key().public_numbers()
            jwk |= {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
                    "y": b64url(numbers.y.to_bytes(32, "big"))}  # fmt: skip
        return web.json_response({"key": jwk, "attributes": {"enabled": True}})

    async def _versions(self, request: web.Request) -> web.Response:
        """Key Vault's "Get Key Versions": every version's id, one page."""
        self._allowed("get")
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
        self._allowed("sign")
        name, version = request.match_info["name"], request.match_info["version"]
        _, key = self._latest(name, version)
        asked = await request.json()
        digest = unb64url(asked["value"])
        if (
            not isinstance(key, ec.EllipticCurvePrivateKey)
            or asked.get("alg") != "ES256"
            or len(digest) != 32
        ):
            return web.json_response({"error": {"code": "BadParameter"}}, status=400)
        self.signed.append(digest)
        r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return web.json_response({"kid": f"{self.url}/keys/{name}/{version}", "value": b64url(raw)})

    async def _rsa_operation(
        self, request: web.Request, operation: str
    ) -> tuple[str, rsa.RSAPrivateKey, bytes]:
        """The key and `value` of a wrapkey or unwrapkey request, or Key Vault's refusal."""
        self._allowed(operation)
        name, version = request.match_info["name"], request.match_info["version"]
        _, key = self._latest(name, version)
        asked = await request.json()
        if not isinstance(key, rsa.RSAPrivateKey) or asked.get("alg") != "RSA-OAEP-256":
            raise web.HTTPBadRequest(
                text='{"error": {"code": "BadParameter", "message": "Invalid algorithm"}}',
                content_type="application/json",
            )
        return self.kid(name, version), key, unb64url(asked["value"])

    async def _wrap(self, request: web.Request) -> web.Response:
        kid, key, value = await self._rsa_operation(request, "wrapKey")
        wrapped = key.public_key().encrypt(value, OAEP_256)
        return web.json_response({"kid": kid, "value": b64url(wrapped)})

    async def _unwrap(self, request: web.Request) -> web.Response:
        kid, key, value = await self._rsa_operation(request, "unwrapKey")
        try:
            unwrapped = key.decrypt(value, OAEP_256)
        except ValueError:
            return web.json_response(
                {"error": {"code": "BadParameter",
                           "message": "Error occurred while decoding OAEP padding."}},
                status=400,
            )  # fmt: skip
        return web.json_response({"kid": kid, "value": b64url(unwrapped)})
