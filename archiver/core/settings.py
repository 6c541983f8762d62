"""Settings, read once from the environment into frozen values.

Library code never reads os.environ: an entry point calls `Settings.from_mapping` with
the environment (and, for the local host, local.settings.json) and passes the result
in. Every invalid value fails here, at start, with the setting's name in the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from archiver.core.accesssettings import AccessSettings, read_access
from archiver.core.acssettings import DEFAULT_INACTIVE_DAYS, AcsSettings, read_acs
from archiver.core.errors import ConfigurationError
from archiver.core.evidence.signatures import PublicKey
from archiver.core.flags import read_flag as read_flag
from archiver.core.jobsettings import JobSettings, read_jobs
from archiver.core.keysettings import KeySettings, read_keys
from archiver.core.sealsettings import SealKey, read_seal_key, read_trusted_keys
from archiver.core.searchsettings import SearchSettings, read_search
from archiver.core.storagesettings import (
    DEVELOPMENT_STORAGE as DEVELOPMENT_STORAGE,
)
from archiver.core.storagesettings import (
    StorageSettings as StorageSettings,
)
from archiver.core.storagesettings import (
    read_storage,
    service_uri,
)
from archiver.core.summarysettings import SummarySettings, read_summary

DEFAULT_CONTAINER = "chat-archive"
DEFAULT_DEAD_LETTER_CONTAINER = "eventgrid-deadletter"
DEFAULT_CHECKPOINTS_CONTAINER = "chat-checkpoints"
DEFAULT_ANALYTICS_CONTAINER = "chat-analytics"
DEFAULT_MESSAGES_TABLE = "ChatMessages"
DEFAULT_THREADS_TABLE = "ChatThreads"
DEFAULT_HOLDS_TABLE = "ChatHolds"
# Event Grid caps a delivery at 1 MB of events; the margin covers envelopes and
# pretty-printing, so a legal batch is never refused.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024 + 128 * 1024
DEFAULT_STORAGE_CONCURRENCY = 32
# Event Grid waits 30 s for an answer; 20 s leaves room for the host and the network.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 20.0

_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the archiver can be told, validated."""

    storage: StorageSettings = StorageSettings()
    container: str = DEFAULT_CONTAINER
    # Where Event Grid dead-letters (the replay_dead_letter function replays what lands).
    dead_letter_container: str = DEFAULT_DEAD_LETTER_CONTAINER
    messages_table: str = DEFAULT_MESSAGES_TABLE
    threads_table: str = DEFAULT_THREADS_TABLE
    holds_table: str = DEFAULT_HOLDS_TABLE
    allowed_topics: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allowed_rate: str = "*"
    storage_concurrency: int = DEFAULT_STORAGE_CONCURRENCY
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    acs: AcsSettings | None = None
    inactive_days: int = DEFAULT_INACTIVE_DAYS
    # Where the metrics go (Application Insights); none are recorded without it. With
    # APPLICATIONINSIGHTS_AUTHENTICATION_STRING "ClientId=...;Authorization=AAD" (as the
    # Bicep sets), they are sent as that managed identity.
    application_insights: str | None = None
    application_insights_client_id: str | None = None
    seal_key: SealKey | None = None  # ARCHIVE_SEAL_KEY: what seals are signed with
    # ARCHIVE_SEAL_TRUSTED_KEYS: other public keys seals may be signed with (rotations).
    trusted_keys: tuple[PublicKey, ...] = ()
    # ARCHIVE_CHECKPOINTS_CONTAINER: signed checkpoints, in a container of their own.
    checkpoints_container: str = DEFAULT_CHECKPOINTS_CONTAINER
    # ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri: the account of that container, when it
    # is not the archive's (in Azure, an account of its own), reached as the same identity.
    checkpoints_blob_service_uri: str | None = None
    access: AccessSettings = AccessSettings()  # ARCHIVE_READ_AUTH, ARCHIVE_WEBHOOK_AUTH, ...
    retention_days: int = 0  # ARCHIVE_RETENTION_DAYS: 0 keeps every thread forever
    blob_legal_holds: bool = False  # ARCHIVE_BLOB_LEGAL_HOLDS: set blob legal-hold flags
    jobs: JobSettings = JobSettings()  # the daily jobs' activity table and queue
    keys: KeySettings = KeySettings()  # ARCHIVE_KEYS_TABLE: envelope mode's wrapped keys
    search: SearchSettings = SearchSettings()  # ARCHIVE_SEARCH and its index
    summary: SummarySettings | None = None  # ARCHIVE_SUMMARY_DEPLOYMENT: off when None
    # ARCHIVE_ANALYTICS_CONTAINER: where `export --format parquet --blob` writes, apart
    # from the record, so that a reader of the figures is given no access to the text.
    analytics_container: str = DEFAULT_ANALYTICS_CONTAINER

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Read settings from environment-style values; raise ConfigurationError."""
        return cls(
            storage=read_storage(values),
            container=_matching(
                values,
                "ARCHIVE_CONTAINER",
                DEFAULT_CONTAINER,
                _CONTAINER_NAME,
                "3-63 lower-case letters, digits and single hyphens",
            ),
            dead_letter_container=_matching(
                values,
                "ARCHIVE_DEAD_LETTER_CONTAINER",
                DEFAULT_DEAD_LETTER_CONTAINER,
                _CONTAINER_NAME,
                "3-63 lower-case letters, digits and single hyphens",
            ),
            messages_table=_matching(
                values,
                "ARCHIVE_MESSAGES_TABLE",
                DEFAULT_MESSAGES_TABLE,
                _TABLE_NAME,
                "3-63 letters and digits, starting with a letter",
            ),
            threads_table=_matching(
                values,
                "ARCHIVE_THREADS_TABLE",
                DEFAULT_THREADS_TABLE,
                _TABLE_NAME,
                "3-63 letters and digits, starting with a letter",
            ),
            holds_table=_matching(
                values,
                "ARCHIVE_HOLDS_TABLE",
                DEFAULT_HOLDS_TABLE,
                _TABLE_NAME,
                "3-63 letters and digits, starting with a letter",
            ),
            allowed_topics=_topics(values.get("ARCHIVE_ALLOWED_TOPICS", "")),
            max_body_bytes=_number(
                values, "ARCHIVE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, int, minimum=1024
            ),
            allowed_rate=_rate(values.get("ARCHIVE_WEBHOOK_ALLOWED_RATE", "*")),
            storage_concurrency=_number(
                values, "ARCHIVE_STORAGE_CONCURRENCY", DEFAULT_STORAGE_CONCURRENCY, int, minimum=1
            ),
            request_timeout_seconds=_number(
                values,
                "ARCHIVE_REQUEST_TIMEOUT_SECONDS",
                DEFAULT_REQUEST_TIMEOUT_SECONDS,
                float,
                minimum=1,
            ),
            acs=read_acs(values),
            inactive_days=_number(
                values, "ARCHIVE_INACTIVE_DAYS", DEFAULT_INACTIVE_DAYS, int, minimum=0
            ),
            application_insights=values.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or None,
            application_insights_client_id=_entra_client_id(
                values.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "")
            ),
            seal_key=read_seal_key(values),
            trusted_keys=read_trusted_keys(values),
            checkpoints_container=_matching(
                values,
                "ARCHIVE_CHECKPOINTS_CONTAINER",
                DEFAULT_CHECKPOINTS_CONTAINER,
                _CONTAINER_NAME,
                "3-63 lower-case letters, digits and single hyphens",
            ),
            checkpoints_blob_service_uri=service_uri(
                values, "ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri"
            ),
            access=read_access(values),
            retention_days=_number(values, "ARCHIVE_RETENTION_DAYS", 0, int, minimum=0),
            blob_legal_holds=read_flag(values, "ARCHIVE_BLOB_LEGAL_HOLDS"),
            jobs=read_jobs(values),
            keys=read_keys(values),
            search=read_search(values),
            summary=read_summary(values),
            analytics_container=_matching(
                values,
                "ARCHIVE_ANALYTICS_CONTAINER",
                DEFAULT_ANALYTICS_CONTAINER,
                _CONTAINER_NAME,
                "3-63 lower-case letters, digits and single hyphens",
            ),
        )

    @property
    def origin(self) -> str:
        """The name checkpoints and search indexes give the archive: `{account}/{container}`."""
        account = "devstoreaccount1"
        storage = self.storage
        if storage.connection_string is not None:
            parts = dict(
                part.split("=", 1) for part in storage.connection_string.split(";") if "=" in part
            )
            account = parts.get("AccountName", account)
        elif storage.blob_service_uri is not None:
            account = urlsplit(storage.blob_service_uri).netloc.split(".", 1)[0]
        return f"{account}/{self.container}"

    def topic_allowed(self, topic: str | None) -> bool:
        """True when no allow-list is set, or `topic` is on it (case-insensitive)."""
        if not self.allowed_topics:
            return True
        return topic is not None and topic.strip().lower() in self.allowed_topics


def _entra_client_id(authentication: str) -> str | None:
    """The managed identity's client id in "ClientId=...;Authorization=AAD", or None."""
    parts = dict(part.split("=", 1) for part in authentication.split(";") if part.count("=") == 1)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    return parts.get("ClientId") or None


def read_local_settings(path: Path) -> dict[str, str]:
    """Return the `Values` of a local.settings.json, as Core Tools reads them."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not readable JSON: {exc}") from exc
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path}: 'Values' must be a JSON object")
    return {str(key): "" if value is None else str(value) for key, value in values.items()}


def _matching(
    values: Mapping[str, str], name: str, default: str, pattern: re.Pattern[str], rule: str
) -> str:
    value = values.get(name, "").strip() or default
    if not pattern.match(value):
        raise ConfigurationError(f"{name} must be {rule}, got {value!r}")
    return value


def _number(
    values: Mapping[str, str], name: str, default: _T, kind: Callable[[str], _T], *, minimum: float
) -> _T:
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value >= minimum:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be a number >= {minimum}, got {text!r}")
    return value


def _topics(text: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


def _rate(text: str) -> str:
    value = text.strip() or "*"
    if value != "*" and not (value.isdigit() and int(value) > 0):
        raise ConfigurationError(
            f"ARCHIVE_WEBHOOK_ALLOWED_RATE must be '*' or a positive integer, got {text!r}"
        )
    return value
