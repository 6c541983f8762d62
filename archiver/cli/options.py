"""What every command shares: where its settings come from, and argument types."""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

from archiver.core.fields import parse_timestamp
from archiver.core.settings import Settings, read_local_settings


def settings_option(parser: argparse.ArgumentParser) -> None:
    """`--settings FILE`: the local.settings.json whose Values the command reads."""
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path("local.settings.json"),
        help="local.settings.json to read Values from (the environment overrides them)",
    )


def load_settings(path: Path) -> Settings:
    """Settings from local.settings.json Values, overridden by the environment."""
    return Settings.from_mapping(environment(path))


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
