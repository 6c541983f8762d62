"""The settings that say how callers of the read API and the webhook prove who they are."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from archiver.core.errors import ConfigurationError

Mode = Literal["key", "entra"]
_MODES: tuple[Mode, ...] = ("key", "entra")
_TENANT = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# At most one JWKS fetch per this many seconds for a token signed with an unknown key: a
# rotation is picked up at once, a flood of made-up key ids costs one fetch.
DEFAULT_KEY_REFRESH_SECONDS = 60.0


@dataclass(frozen=True, kw_only=True)
class AccessSettings:
    """Who may read and who may deliver events: a function key (the default), or a
    Microsoft Entra ID access token of the tenant for the audience."""

    read_auth: Mode = "key"  # ARCHIVE_READ_AUTH
    webhook_auth: Mode = "key"  # ARCHIVE_WEBHOOK_AUTH
    tenant_id: str | None = None  # ARCHIVE_ENTRA_TENANT_ID
    audiences: tuple[str, ...] = ()  # ARCHIVE_ENTRA_AUDIENCE, comma-separated
    metadata_url: str | None = None  # ARCHIVE_ENTRA_METADATA_URL (OpenID discovery)
    # Accepted beside the issuer discovery names: the v1 form, since Entra issues v1
    # access tokens unless the app registration sets accessTokenAcceptedVersion 2.
    issuers: tuple[str, ...] = ()
    key_refresh_seconds: float = DEFAULT_KEY_REFRESH_SECONDS

    @property
    def uses_entra(self) -> bool:
        """True when either route checks tokens (and so needs the tenant's keys)."""
        return "entra" in (self.read_auth, self.webhook_auth)


def read_access(values: Mapping[str, str]) -> AccessSettings:
    """The access settings; raise ConfigurationError naming a missing or invalid one."""
    read_auth = _mode(values, "ARCHIVE_READ_AUTH")
    webhook_auth = _mode(values, "ARCHIVE_WEBHOOK_AUTH")
    if "entra" not in (read_auth, webhook_auth):
        return AccessSettings()
    tenant = values.get("ARCHIVE_ENTRA_TENANT_ID", "").strip()
    if not tenant:
        raise ConfigurationError(
            "ARCHIVE_ENTRA_TENANT_ID is required when ARCHIVE_READ_AUTH or "
            "ARCHIVE_WEBHOOK_AUTH is entra: the directory (tenant) id the tokens come from"
        )
    if not _TENANT.match(tenant):
        raise ConfigurationError(
            f"ARCHIVE_ENTRA_TENANT_ID must be the tenant's id (a GUID), got {tenant!r}"
        )
    tenant = tenant.lower()
    audiences = tuple(
        part.strip() for part in values.get("ARCHIVE_ENTRA_AUDIENCE", "").split(",") if part.strip()
    )
    if not audiences:
        raise ConfigurationError(
            "ARCHIVE_ENTRA_AUDIENCE is required when ARCHIVE_READ_AUTH or ARCHIVE_WEBHOOK_AUTH "
            "is entra: the app registration's application id or Application ID URI"
        )
    metadata = values.get("ARCHIVE_ENTRA_METADATA_URL", "").strip() or (
        f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
    )
    where = urlsplit(metadata)
    if where.scheme != "https" or not where.netloc:
        raise ConfigurationError(
            f"ARCHIVE_ENTRA_METADATA_URL must be an https URL, got {metadata!r}"
        )
    return AccessSettings(
        read_auth=read_auth,
        webhook_auth=webhook_auth,
        tenant_id=tenant,
        audiences=audiences,
        metadata_url=metadata,
        issuers=(f"https://sts.windows.net/{tenant}/",),
    )


def _mode(values: Mapping[str, str], name: str) -> Mode:
    text = values.get(name, "").strip().lower() or "key"
    for mode in _MODES:
        if text == mode:
            return mode
    raise ConfigurationError(f"{name} must be key or entra, got {text!r}")
