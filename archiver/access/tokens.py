"""A bearer token's checks: RS256 only, a key the tenant publishes, issuer, audience and
lifetime. The token's own header never chooses the algorithm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt

from archiver.access.keys import SigningKeys
from archiver.core.errors import Unauthenticated
from archiver.core.http import HttpRequest

ALGORITHMS = ["RS256"]
# Clocks drift; a minute either side of exp, nbf and iat is the usual allowance.
LEEWAY_SECONDS = 60
# Entra's access tokens are a few kilobytes; a header larger than this is not one.
MOST_TOKEN_CHARACTERS = 16 * 1024


def bearer(request: HttpRequest) -> str:
    """The token of the `Authorization: Bearer` header; raise Unauthenticated."""
    header = (request.header("Authorization") or "").strip()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("A bearer token is required (Authorization: Bearer <token>).")
    if len(token) > MOST_TOKEN_CHARACTERS:
        raise Unauthenticated("The bearer token is too large to be an access token.")
    return token.strip()


async def claims_of(
    token: str, keys: SigningKeys, *, audiences: Sequence[str], issuers: Sequence[str]
) -> dict[str, Any]:
    """The claims of a token signed with RS256 by one of the tenant's keys, for one of
    `audiences`, from the discovery issuer or one of `issuers`, and current; raise
    Unauthenticated saying why not (the message never holds the token)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The bearer token is not a JSON Web Token.") from exc
    if header.get("alg") not in ALGORITHMS:
        raise Unauthenticated("The bearer token must be signed with RS256.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("The bearer token names no signing key (kid).")
    key = await keys.key(kid)
    accepted = [await keys.issuer(), *issuers]
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=list(audiences),
            issuer=accepted,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The bearer token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthenticated("The bearer token is not valid yet.") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("The bearer token is for another audience.") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthenticated("The bearer token is from another issuer.") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthenticated("The bearer token's signature does not verify.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The bearer token is not valid: {exc}") from exc
    return claims
