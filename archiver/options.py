"""Command-line options every command shares."""

from __future__ import annotations

import argparse
from pathlib import Path


def settings_option(parser: argparse.ArgumentParser) -> None:
    """`--settings FILE`: the local.settings.json whose Values the command reads."""
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path("local.settings.json"),
        help="local.settings.json to read Values from (the environment overrides them)",
    )
