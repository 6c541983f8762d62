"""The settings that say where the archive's storage account is, and how it is reached."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.core.errors import ConfigurationError

DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
_PROXY_VARIABLES = tuple(
    name for base in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY") for name in (base, base.lower())
)


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """Where the archive lives: a connection string, or service URIs plus an identity."""

    connection_string: str | None = DEVELOPMENT_STORAGE
    blob_service_uri: str | None = None
    table_service_uri: str | None = None
    # ARCHIVE_STORAGE__queueServiceUri: the jobs queue's service (the Bicep sets it).
    queue_service_uri: str | None = None
    client_id: str | None = None
    proxy_from_environment: bool = False  # HTTP(S)_PROXY is set: storage goes through it
    # How long one storage answer may take: short for the webhook (Event Grid retries for
    # 24 hours, so it answers 503 rather than wait), longer for a command (archiver.cli).
    read_timeout_seconds: float = 10.0

    @property
    def uses_identity(self) -> bool:
        """True when the archive is reached with Microsoft Entra ID, not a key."""
        return self.connection_string is None


def read_storage(values: Mapping[str, str]) -> StorageSettings:
    proxied = any(values.get(name) for name in _PROXY_VARIABLES)
    blob_uri = values.get("ARCHIVE_STORAGE__blobServiceUri") or None
    table_uri = values.get("ARCHIVE_STORAGE__tableServiceUri") or None
    if blob_uri or table_uri:
        for name, uri in (
            ("ARCHIVE_STORAGE__blobServiceUri", blob_uri),
            ("ARCHIVE_STORAGE__tableServiceUri", table_uri),
        ):
            if not uri:
                raise ConfigurationError(
                    f"{name} is required when identity-based storage is configured"
                )
            if urlsplit(uri).scheme not in ("https", "http") or not urlsplit(uri).netloc:
                raise ConfigurationError(f"{name} must be an http(s) URL, got {uri!r}")
        return StorageSettings(
            connection_string=None,
            blob_service_uri=blob_uri,
            table_service_uri=table_uri,
            queue_service_uri=values.get("ARCHIVE_STORAGE__queueServiceUri") or None,
            client_id=values.get("ARCHIVE_STORAGE__clientId") or None,
            proxy_from_environment=proxied,
        )
    connection = values.get("ARCHIVE_STORAGE", "").strip() or DEVELOPMENT_STORAGE
    if connection != DEVELOPMENT_STORAGE and "=" not in connection:
        raise ConfigurationError(
            "ARCHIVE_STORAGE must be a storage connection string "
            "(for example 'UseDevelopmentStorage=true')"
        )
    return StorageSettings(connection_string=connection, proxy_from_environment=proxied)


def service_uri(values: Mapping[str, str], name: str) -> str | None:
    """An https service URI (None when unset); it is reached with the archive's
    identity, so identity-based storage must be configured."""
    uri = values.get(name, "").strip() or None
    if uri is None:
        return None
    if urlsplit(uri).scheme != "https" or not urlsplit(uri).netloc:
        raise ConfigurationError(f"{name} must be an https URL, got {uri!r}")
    if not values.get("ARCHIVE_STORAGE__blobServiceUri"):
        raise ConfigurationError(
            f"{name} is reached as the archive's identity: set ARCHIVE_STORAGE__blobServiceUri "
            "and ARCHIVE_STORAGE__tableServiceUri (identity-based storage) too"
        )
    return uri
