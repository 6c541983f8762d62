"""What every command shares: where its settings come from, and argument types."""

from __future__ import annotations

import argparse
import getpass
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from archiver.core.fields import parse_timestamp
from archiver.core.governance.principals import Principal
from archiver.core.settings import Settings, read_local_settings


def settings_option(parser: argparse.ArgumentParser) -> None:
    """`--settings FILE`: the local.settings.json whose Values the command reads."""
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path("local.settings.json"),
        help="local.settings.json to read Values from (the environment overrides them)",
    )


# A command waits longer for one storage answer than the webhook does: nobody retries
# it for 24 hours, and an emulator holding many blobs can take seconds to list them.
COMMAND_READ_TIMEOUT_SECONDS = 60.0


def load_settings(path: Path) -> Settings:
    """Settings from local.settings.json Values, overridden by the environment, with a
    command's patience for storage."""
    settings = Settings.from_mapping(environment(path))
    storage = replace(settings.storage, read_timeout_seconds=COMMAND_READ_TIMEOUT_SECONDS)
    return replace(settings, storage=storage)


def environment(path: Path) -> dict[str, str]:
    """local.settings.json Values, overridden by the environment, as Core Tools does."""
    return {**read_local_settings(path), **os.environ}


def moment(text: str) -> datetime:
    """An ISO 8601 time argument."""
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc} (e.g. 2026-11-01T09:00:00Z)") from exc


def positive(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def cli_principal(settings: Settings) -> Principal:
    """Who a command runs as, for the audit trail: the Azure identity it signs in to
    storage with (its object id and name from the token, read for naming only), or the
    local user when storage is reached with a connection string."""
    if settings.storage.connection_string is not None:
        return Principal(kind="local", name=getpass.getuser())
    from azure.core.exceptions import AzureError
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = settings.storage.client_id
    credential: Any = (
        ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()
    )
    try:
        token = credential.get_token("https://storage.azure.com/.default").token
    except AzureError:  # no token here means storage refuses the command anyway
        return Principal(kind="cli", name=getpass.getuser())
    finally:
        credential.close()
    claims = jwt.decode(token, options={"verify_signature": False})  # naming only
    name = claims.get("upn") or claims.get("preferred_username") or claims.get("name")
    return Principal(kind="cli", object_id=claims.get("oid"), app_id=claims.get("appid"), name=name)
