"""The one `archiver` command: every subcommand explains itself with an example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, archiver_command

pytestmark = pytest.mark.process

COMMANDS = [
    "serve",
    "azurite",
    "simulate",
    "verify",
    "demo",
    "export",
    "replay-deadletters",
    "archive-thread",
    "create-identity",
]


def test_the_archiver_command_is_installed_beside_the_interpreter():
    command = Path(sys.executable).parent / "archiver"

    done = subprocess.run(
        [str(command), "--help"], cwd=PROJECT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: archiver")
    assert "exit codes: 0 done; 1 done, but something needs attention" in done.stdout
    for name in COMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name):
    done = subprocess.run(
        archiver_command(name, "--help"), cwd=PROJECT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0
    assert "example" in done.stdout
    assert "archiver" in done.stdout


def test_a_mistyped_command_is_a_usage_error_in_a_few_lines():
    done = subprocess.run(
        archiver_command("exprot"), cwd=PROJECT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 2
    assert "invalid choice: 'exprot'" in done.stderr
    assert "Traceback" not in done.stderr
