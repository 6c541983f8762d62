"""A local OpenID provider that issues tokens the way Microsoft Entra ID does.

`OpenIdProvider` serves https on 127.0.0.1 (a free port, a certificate of the test
session's own CA: tests/tls.py) with a discovery document at
`/{tenant}/v2.0/.well-known/openid-configuration` and the JWKS it names. It signs RS256
access tokens with RSA keys it generates, claims shaped like Entra's (`iss`, `aud`,
`exp`, `nbf`, `iat`, `tid`, `oid`, `appid`/`azp`, `roles`, `name`), and can rotate to a
new key. `jwks_served` counts the key-set fetches, so a refresh storm shows. The forged
tokens (`alg: none`, HS256 keyed with the public key) are built here by hand, since
PyJWT rightly refuses to make them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from types import TracebackType
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import tls

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://acs-chat-archiver-tests"
CLIENT_APP = "0c8a3f5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"  # a reader's own app registration
EVENT_GRID_APP = "4962773b-9cdb-44cf-a8bf-237846a00ab7"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key, as Entra signs with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _segment(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def _json_segment(value: dict[str, Any]) -> str:
    return _segment(json.dumps(value).encode())


class OpenIdProvider:
    """Discovery, a JWKS and RS256 tokens, over https on a free local port."""

    def __init__(self, tenant: str = TENANT) -> None:
        self.tenant = tenant
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current = self.rotate()
        self.jwks_served = 0
        self.available = True  # False: discovery and keys answer 503
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def base(self) -> str:
        assert self._port is not None, "start the provider first"
        return f"https://127.0.0.1:{self._port}/{self.tenant}"

    @property
    def issuer(self) -> str:
        return f"{self.base}/v2.0"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def rotate(self) -> str:
        """Sign with a new key from now on; the old ones stay published (as Entra does)."""
        kid = uuid.uuid4().hex
        self.keys[kid] = new_key()
        self.current = kid
        return kid

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """A reader's access token claims: Archive.Read, valid for an hour."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now - 5,
            "nbf": now - 5,
            "exp": now + 3600,
            "tid": self.tenant,
            "oid": "9d2f1e3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
            "azp": CLIENT_APP,
            "name": "Ada Reader",
            "roles": ["Archive.Read"],
            "ver": "2.0",
        }
        return {k: v for k, v in (claims | overrides).items() if v is not None}

    def event_grid_claims(self, **overrides: Any) -> dict[str, Any]:
        """Event Grid's token: a v1 token issued to its first-party application."""
        return self.claims(
            **{
                "iss": f"https://sts.windows.net/{self.tenant}/",
                "appid": EVENT_GRID_APP,
                "azp": None,
                "name": None,
                "roles": ["AzureEventGridSecureWebhookSubscriber"],
                "ver": "1.0",
                **overrides,
            }
        )

    def token(
        self,
        claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """An RS256 token, by default signed with the current key and naming its kid."""
        kid = kid or self.current
        signer = key or self.keys[kid]
        return jwt.encode(
            claims if claims is not None else self.claims(),
            signer,
            algorithm="RS256",
            headers={"kid": kid},
        )

    def unsigned(self, claims: dict[str, Any] | None = None) -> str:
        """The same claims with `alg: none` and no signature."""
        header = {"alg": "none", "typ": "JWT", "kid": self.current}
        return f"{_json_segment(header)}.{_json_segment(claims or self.claims())}."

    def hmac_with_public_key(self, claims: dict[str, Any] | None = None) -> str:
        """HS256, keyed with the published public key's PEM: the algorithm confusion forgery."""
        public = (
            self.keys[self.current]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": self.current}
        signed = f"{_json_segment(header)}.{_json_segment(claims or self.claims())}"
        mac = hmac.new(public, signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{_segment(mac)}"

    def jwks(self) -> dict[str, Any]:
        """The published key set, shaped like Entra's."""
        entries = []
        for kid, key in self.keys.items():
            entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            entries.append(entry | {"kid": kid, "use": "sig", "x5t": kid[:27]})
        return {"keys": entries}

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(f"/{self.tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        app.router.add_get(f"/{self.tenant}/discovery/v2.0/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=tls.server_context()).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenIdProvider:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _metadata(self, request: web.Request) -> web.Response:
        if not self.available:
            return web.Response(status=503)
        return web.json_response(
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.base}/discovery/v2.0/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint": f"{self.base}/oauth2/v2.0/token",
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        if not self.available:
            return web.Response(status=503)
        self.jwks_served += 1
        return web.json_response(self.jwks())
