"""The gate the read API and the webhook ask first: who sent this request, and may they.

With a function key (`key`, the default) the Functions host has checked the key before
the app is called, so the gate admits the key holder. With Microsoft Entra ID (`entra`)
the gate checks the bearer token and the app role the route needs. Every request it
refuses is counted in its `Refusals` (one record per caller and minute), not recorded one
by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archiver.core.accesssettings import AccessSettings
from archiver.core.errors import ArchiverError, Forbidden, Unauthenticated
from archiver.core.governance.principals import FUNCTION_KEY, Principal
from archiver.core.http import HttpRequest, status_of

if TYPE_CHECKING:
    from archiver.access.keys import SigningKeys
    from archiver.access.refusals import Refusals

# Event Grid's first-party application ("Microsoft.EventGrid"), the same in every tenant:
# its tokens carry this as appid (v1) or azp (v2). Microsoft's "Deliver events to
# Microsoft Entra protected endpoints" names it.
EVENT_GRID_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"


class Gate:
    """Admits a request or raises Unauthenticated (401) or Forbidden (403)."""

    def __init__(
        self,
        access: AccessSettings,
        *,
        keys: SigningKeys | None = None,
        refusals: Refusals | None = None,
    ) -> None:
        self._access = access
        self._keys = keys
        self._refusals = refusals
        if keys is None and access.uses_entra:
            # Imported only then: with function keys, PyJWT is never loaded.
            from archiver.access.discovery import Discovery
            from archiver.access.keys import SigningKeys

            assert access.metadata_url is not None  # read_access derives it
            self._keys = SigningKeys(
                Discovery(access.metadata_url), refresh_seconds=access.key_refresh_seconds
            )

    @property
    def keys(self) -> SigningKeys | None:
        """The tenant's cached keys, when a route checks tokens."""
        return self._keys

    @property
    def refusals(self) -> Refusals | None:
        """Where the requests this gate refuses are counted."""
        return self._refusals

    async def admit(self, request: HttpRequest, *, role: str, route: str = "read") -> Principal:
        """Who reads: the key holder, or the token's principal holding `role`; a refusal
        is counted under `route` (the audited action) before it is raised."""
        if self._access.read_auth == "key":
            return FUNCTION_KEY
        principal: Principal | None = None
        try:
            principal = _principal("entra", await self._claims(request))
            if not principal.has(role):
                raise Forbidden(
                    f"The token does not grant the app role {role}.", principal=principal
                )
        except ArchiverError as exc:
            self._refused(request, route, exc, principal)
            raise
        else:
            return principal

    async def admit_event_grid(self, request: HttpRequest) -> Principal:
        """Who delivers events: the key holder, or Event Grid's own application; a
        refusal is counted under `events`."""
        if self._access.webhook_auth == "key":
            return FUNCTION_KEY
        principal: Principal | None = None
        try:
            principal = _principal("event-grid", await self._claims(request))
            if principal.app_id != EVENT_GRID_APP_ID:
                raise Unauthenticated("The token was not issued to Event Grid.")
        except ArchiverError as exc:
            self._refused(request, "events", exc, principal)
            raise
        else:
            return principal

    async def close(self) -> None:
        """Store the refusals counted, then release the identity provider's connections."""
        if self._refusals is not None:
            await self._refusals.close()
        if self._keys is not None:
            await self._keys.close()

    def _refused(
        self, request: HttpRequest, route: str, exc: ArchiverError, principal: Principal | None
    ) -> None:
        if self._refusals is not None:
            status, _ = status_of(exc)
            self._refusals.note(request, route=route, status=status, principal=principal)

    async def _claims(self, request: HttpRequest) -> dict[str, Any]:
        from archiver.access.tokens import bearer, claims_of

        token = bearer(request)
        assert self._keys is not None  # built for entra in __init__
        return await claims_of(
            token, self._keys, audiences=self._access.audiences, issuers=self._access.issuers
        )


def _principal(kind: str, claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles")
    return Principal(
        kind=kind,
        object_id=_text(claims.get("oid")),
        app_id=_text(claims.get("appid")) or _text(claims.get("azp")),
        name=_text(claims.get("name"))
        or _text(claims.get("upn"))
        or _text(claims.get("preferred_username")),
        roles=frozenset(r for r in roles if isinstance(r, str))
        if isinstance(roles, list)
        else frozenset(),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
