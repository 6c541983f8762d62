"""The one `archiver` command: every subcommand explains itself with an example that runs it."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.cli.main import _parser
from tests.conftest import PROJECT, archiver_command
from tests.shell import shell_words

COMMANDS = [
    "serve",
    "azurite",
    "simulate",
    "verify",
    "checkpoint",
    "demo",
    "export",
    "index",
    "search",
    "disclose",
    "replay-deadletters",
    "archive-thread",
    "create-identity",
    "seal",
    "jobs",
    "hold",
    "dispose",
    "audit",
    "redact",
    "erase",
    "restriction-key",
]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    [group] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(group.choices)


def examples(name: str) -> list[str]:
    """The command lines a subcommand's help gives as examples."""
    text = subcommands()[name].format_help()
    shown = text[text.index("example") :]
    return re.findall(
        rf"^\s*(?:example: )?((?:python -m )?archiver {re.escape(name)}\b.*)$", shown, re.M
    )


def test_the_command_line_offers_exactly_the_documented_commands():
    assert sorted(subcommands()) == sorted(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example_of_itself_that_parses(name):
    shown = examples(name)

    assert shown, f"`archiver {name} --help` shows no example of itself"
    for line in shown:
        words = shell_words(line)
        arguments = words[words.index("archiver") + 1 :]
        assert _parser().parse_args(arguments).run is not None, line


@pytest.mark.process
def test_the_archiver_command_is_installed_beside_the_interpreter():
    command = Path(sys.executable).parent / "archiver"

    done = subprocess.run(
        [str(command), "--help"], cwd=PROJECT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "exit codes: 0 done; 1 done, but something needs attention" in done.stdout
    assert set(re.findall(r"^    ([a-z-]+)\s", done.stdout, re.M)) == set(COMMANDS)


@pytest.mark.process
def test_a_mistyped_command_is_a_usage_error_in_a_few_lines():
    done = subprocess.run(
        archiver_command("exprot"), cwd=PROJECT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 2
    assert "invalid choice: 'exprot'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_waits_longer_for_one_storage_answer_than_the_webhook(tmp_path):
    from archiver.cli.options import COMMAND_READ_TIMEOUT_SECONDS, load_settings
    from archiver.core.settings import Settings

    command = load_settings(tmp_path / "absent.json")
    webhook = Settings.from_mapping({})

    assert command.storage.read_timeout_seconds == COMMAND_READ_TIMEOUT_SECONDS == 60
    assert webhook.storage.read_timeout_seconds == 10
