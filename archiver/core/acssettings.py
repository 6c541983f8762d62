"""The settings that say how the archiver reaches ACS (archive-thread and its timer)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archiver.core.errors import ConfigurationError

DEFAULT_INACTIVE_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class AcsSettings:
    """How the archiver reaches ACS to list finished threads, and as whom.

    With an access key the archiver mints a chat token for `archiver_user_id`; with a
    token it uses that; with neither it asks the Identity API for one with Microsoft
    Entra ID (the function's managed identity).
    """

    endpoint: str  # https://<resource>.communication.azure.com, no trailing slash
    access_key: str | None = field(default=None, repr=False)
    archiver_user_id: str | None = None
    archiver_token: str | None = field(default=None, repr=False)


def read_acs(values: Mapping[str, str]) -> AcsSettings | None:
    """The ACS settings, or None when no ACS endpoint is set; raise ConfigurationError."""
    connection = values.get("ACS_CONNECTION_STRING", "").strip()
    parts = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
    parts = {key.strip().lower(): value.strip() for key, value in parts.items()}
    if connection and not ("endpoint" in parts and "accesskey" in parts):
        raise ConfigurationError(
            "ACS_CONNECTION_STRING must be 'endpoint=https://...;accesskey=...' "
            "(the ACS resource's Keys page)"
        )
    endpoint = values.get("ACS_ENDPOINT", "").strip() or parts.get("endpoint", "")
    key = values.get("ACS_ACCESS_KEY", "").strip() or parts.get("accesskey") or None
    user = values.get("ACS_ARCHIVER_USER_ID", "").strip() or None
    token = values.get("ACS_ARCHIVER_TOKEN", "").strip() or None
    if not endpoint:
        if key or user or token:
            raise ConfigurationError(
                "ACS_ENDPOINT (or ACS_CONNECTION_STRING) is required with the other ACS_ settings"
            )
        return None
    where = urlsplit(endpoint)
    if not where.netloc or where.scheme != "https":
        raise ConfigurationError(
            f"ACS_ENDPOINT must be https://<resource>.communication.azure.com, got {endpoint!r}"
        )
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigurationError("ACS_ACCESS_KEY must be the resource's base64 key") from None
    if token is not None and user is None:
        raise ConfigurationError(
            "ACS_ARCHIVER_USER_ID is required with ACS_ARCHIVER_TOKEN: the identity it was "
            "issued to"
        )
    return AcsSettings(
        endpoint=endpoint.rstrip("/"), access_key=key, archiver_user_id=user, archiver_token=token
    )
