"""The gate against a local OpenID provider: which tokens it admits, and why not the rest."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from archiver.access.gate import EVENT_GRID_APP_ID, Gate
from archiver.core.accesssettings import AccessSettings
from archiver.core.errors import Forbidden, IdentityUnavailable, Unauthenticated
from archiver.core.governance.principals import ADMIN_ROLE, READ_ROLE, Principal
from archiver.core.http import HttpRequest
from tests.openid import AUDIENCE, CLIENT_APP, EVENT_GRID_APP, TENANT, OpenIdProvider, new_key

REFRESH_SECONDS = 0.5


def entra(provider: OpenIdProvider, **overrides: object) -> AccessSettings:
    """Access settings as read_access gives them for `provider`'s tenant."""
    values: dict[str, object] = {
        "read_auth": "entra",
        "webhook_auth": "entra",
        "tenant_id": TENANT,
        "audiences": (AUDIENCE,),
        "metadata_url": provider.metadata_url,
        "issuers": (f"https://sts.windows.net/{TENANT}/",),
        "key_refresh_seconds": REFRESH_SECONDS,
    }
    return AccessSettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
async def provider() -> AsyncIterator[OpenIdProvider]:
    async with OpenIdProvider() as running:
        yield running


@pytest.fixture
async def gate(provider: OpenIdProvider) -> AsyncIterator[Gate]:
    checking = Gate(entra(provider))
    yield checking
    await checking.close()


def bearing(token: str) -> HttpRequest:
    return HttpRequest("GET", headers={"Authorization": f"Bearer {token}"})


async def refused(gate: Gate, request: HttpRequest) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await gate.admit(request, role=READ_ROLE)
    return str(caught.value)


async def test_a_token_with_the_read_role_is_admitted_as_its_principal(provider, gate):
    principal = await gate.admit(bearing(provider.token()), role=READ_ROLE)

    assert principal == Principal(
        kind="entra",
        object_id="9d2f1e3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
        app_id=CLIENT_APP,
        name="Ada Reader",
        roles=frozenset({READ_ROLE}),
    )


async def test_a_v1_token_from_sts_windows_net_is_admitted_too(provider, gate):
    claims = provider.claims(iss=f"https://sts.windows.net/{TENANT}/", ver="1.0", upn="ada@x")

    principal = await gate.admit(bearing(provider.token(claims)), role=READ_ROLE)

    assert principal.name == "Ada Reader"


async def test_a_valid_token_without_the_role_is_forbidden(provider, gate):
    with pytest.raises(Forbidden, match=r"Archive\.Admin"):
        await gate.admit(bearing(provider.token()), role=ADMIN_ROLE)
    with pytest.raises(Forbidden):
        await gate.admit(bearing(provider.token(provider.claims(roles=None))), role=READ_ROLE)


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"exp": -600}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"iat": 600}, "not valid yet"),
        ({"aud": "api://someone-else"}, "another audience"),
        ({"iss": "https://login.microsoftonline.com/other/v2.0"}, "another issuer"),
        ({"exp": None}, "exp"),
    ],
    ids=["expired", "not-yet-valid", "issued-in-the-future", "audience", "issuer", "no-exp"],
)
async def test_a_token_that_is_not_current_or_not_for_this_app_is_refused(
    provider, gate, claims, says
):
    now = provider.claims()["iat"] + 5
    shifted = {k: now + v if isinstance(v, int) else v for k, v in claims.items()}

    assert says in await refused(gate, bearing(provider.token(provider.claims(**shifted))))


async def test_the_leeway_is_a_minute_for_clock_skew(provider, gate):
    now = provider.claims()["iat"] + 5

    await gate.admit(bearing(provider.token(provider.claims(exp=now - 30))), role=READ_ROLE)


async def test_forged_tokens_are_refused_before_any_key_is_used(provider, gate):
    assert "RS256" in await refused(gate, bearing(provider.unsigned()))
    assert "RS256" in await refused(gate, bearing(provider.hmac_with_public_key()))
    assert provider.jwks_served == 0


async def test_a_token_signed_with_a_key_the_tenant_does_not_publish_is_refused(provider, gate):
    unknown = provider.token(kid=uuid.uuid4().hex, key=new_key())
    impostor = provider.token(kid=provider.current, key=new_key())

    assert "does not publish" in await refused(gate, bearing(unknown))
    assert "signature" in await refused(gate, bearing(impostor))


async def test_a_tampered_payload_is_refused(provider, gate):
    header, payload, signature = provider.token(provider.claims(roles=[])).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = [READ_ROLE, ADMIN_ROLE]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert "signature" in await refused(gate, bearing(f"{header}.{forged}.{signature}"))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer " + "x" * 20_000},
    ],
    ids=["none", "empty", "basic", "not-a-jwt", "garbage", "huge"],
)
async def test_a_missing_or_malformed_authorization_header_is_refused(gate, headers):
    await refused(gate, HttpRequest("GET", headers=headers))


async def test_a_new_key_is_picked_up_when_a_token_names_it(provider, gate):
    await gate.admit(bearing(provider.token()), role=READ_ROLE)
    await asyncio.sleep(REFRESH_SECONDS)

    provider.rotate()
    principal = await gate.admit(bearing(provider.token()), role=READ_ROLE)

    assert principal.kind == "entra"
    assert provider.jwks_served == 2


async def test_a_storm_of_unknown_key_ids_costs_at_most_one_fetch_per_interval(provider, gate):
    await gate.admit(bearing(provider.token()), role=READ_ROLE)
    await asyncio.sleep(REFRESH_SECONDS)
    forged = [provider.token(kid=uuid.uuid4().hex, key=provider.keys[provider.current])] * 50

    results = await asyncio.gather(
        *(gate.admit(bearing(token), role=READ_ROLE) for token in forged), return_exceptions=True
    )
    again = await asyncio.gather(
        *(gate.admit(bearing(token), role=READ_ROLE) for token in forged), return_exceptions=True
    )

    assert all(isinstance(result, Unauthenticated) for result in results + again)
    assert provider.jwks_served == 2


async def test_an_unreachable_provider_is_unavailable_not_a_refusal(provider, gate):
    provider.available = False

    with pytest.raises(IdentityUnavailable):
        await gate.admit(bearing(provider.token()), role=READ_ROLE)


async def test_event_grid_is_admitted_by_its_application_id_and_no_one_else(provider, gate):
    grid = await gate.admit_event_grid(bearing(provider.token(provider.event_grid_claims())))

    assert EVENT_GRID_APP_ID == EVENT_GRID_APP  # the id Microsoft's guide names
    assert (grid.kind, grid.app_id) == ("event-grid", EVENT_GRID_APP)
    with pytest.raises(Unauthenticated, match="Event Grid"):
        await gate.admit_event_grid(bearing(provider.token()))
    with pytest.raises(Unauthenticated):
        await gate.admit_event_grid(HttpRequest("POST"))


async def test_with_function_keys_the_gate_admits_the_key_holder_and_fetches_nothing(provider):
    gate = Gate(AccessSettings())

    assert (await gate.admit(HttpRequest("GET"), role=ADMIN_ROLE)).kind == "function-key"
    assert (await gate.admit_event_grid(HttpRequest("POST"))).kind == "function-key"
    assert gate.keys is None
