"""The settings of end-of-conversation summaries, off unless both of the first two are set:
they send chat text to a language model.

ARCHIVE_SUMMARY_DEPLOYMENT names the Azure OpenAI model deployment that writes them and
AZURE_OPENAI_ENDPOINT the account it is on (`https://<account>.openai.azure.com`, signed
in to with the app's Microsoft Entra identity, never a key); ARCHIVE_SUMMARY_API_VERSION
the REST API version spoken; ARCHIVE_SUMMARY_HELD whether a thread under legal hold may
be summarised too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from archiver.core.errors import ConfigurationError
from archiver.core.flags import read_flag

DEPLOYMENT = "ARCHIVE_SUMMARY_DEPLOYMENT"
ENDPOINT = "AZURE_OPENAI_ENDPOINT"
API_VERSION = "ARCHIVE_SUMMARY_API_VERSION"
HELD = "ARCHIVE_SUMMARY_HELD"
# The newest generally available inference version of the deployments API, and the first
# with structured outputs (a JSON schema the answer must follow) out of preview.
DEFAULT_API_VERSION = "2024-10-21"
# Azure OpenAI deployment names: letters, digits, `_`, `-` and `.`, up to 64. The name
# goes into the request's path, so nothing else is let through.
_DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


@dataclass(frozen=True, kw_only=True)
class SummarySettings:
    """Which model deployment summarises finished threads, where, and whether held ones too."""

    endpoint: str  # https://<account>.openai.azure.com, no trailing slash
    deployment: str
    api_version: str = DEFAULT_API_VERSION
    held: bool = False  # threads under legal hold are summarised too


def read_summary(values: Mapping[str, str]) -> SummarySettings | None:
    """The summary settings, or None when summaries are off (neither of the two set);
    raise ConfigurationError naming the setting that is missing or malformed."""
    deployment = values.get(DEPLOYMENT, "").strip()
    endpoint = values.get(ENDPOINT, "").strip()
    held = read_flag(values, HELD)
    version = values.get(API_VERSION, "").strip() or DEFAULT_API_VERSION
    if not _API_VERSION.match(version):
        raise ConfigurationError(
            f"{API_VERSION} must be an Azure OpenAI API version such as "
            f"{DEFAULT_API_VERSION!r}, got {version!r}"
        )
    if not deployment:
        # AZURE_OPENAI_ENDPOINT alone may be for search's embeddings: summaries stay off.
        return None
    if not endpoint:
        raise ConfigurationError(
            f"{ENDPOINT} is required with {DEPLOYMENT}: the Azure OpenAI account "
            "(https://<account>.openai.azure.com) the deployment is on"
        )
    if not _DEPLOYMENT_NAME.match(deployment):
        raise ConfigurationError(
            f"{DEPLOYMENT} must be a deployment name (letters, digits, '.', '_' and '-', "
            f"up to 64), got {deployment!r}"
        )
    where = urlsplit(endpoint)
    if where.scheme != "https" or not where.hostname or where.path.strip("/") or where.query:
        raise ConfigurationError(
            f"{ENDPOINT} must be https://<account>.openai.azure.com (https, no path), "
            f"got {endpoint!r}"
        )
    return SummarySettings(
        endpoint=endpoint.rstrip("/"), deployment=deployment, api_version=version, held=held
    )
