"""What ships to Azure: the files .funcignore leaves, and that the app runs from them alone.

Core Tools and `azd deploy` zip the project folder minus what .funcignore (gitignore
syntax) names. These specs compute that set the same way and import function_app
from a copy of it, in a fresh interpreter, so a product module that reached for the
simulator, the local host or the command line would fail here before it failed in Azure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

from archiver.hosts.azurite import ACCOUNT_KEY
from tests.conftest import PROJECT

pytestmark = pytest.mark.process
TOOLING = ("archiver/hosts/", "archiver/sim/", "archiver/cli/", "bench/", "tests/", "docs/")


def deployable() -> list[str]:
    """The project's files (tracked or new, not git-ignored) that .funcignore keeps."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    ignored = pathspec.PathSpec.from_lines(
        "gitignore", (PROJECT / ".funcignore").read_text().splitlines()
    )
    return sorted(
        name for name in listed if (PROJECT / name).is_file() and not ignored.match_file(name)
    )


def test_only_the_product_ships():
    files = deployable()

    assert {"function_app.py", "host.json", "requirements.txt"} <= set(files)
    assert "archiver/bootstrap.py" in files
    assert [name for name in files if name.startswith(TOOLING)] == []
    assert [name for name in files if not name.startswith("archiver/")] == [
        "function_app.py",
        "host.json",
        "requirements.txt",
    ]


def test_no_shipped_file_holds_the_storage_emulators_well_known_key():
    holders = [name for name in deployable() if ACCOUNT_KEY in (PROJECT / name).read_text()]

    assert holders == []


def test_the_function_app_imports_and_indexes_from_the_shipped_files_alone(tmp_path):
    for name in deployable():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / name, tmp_path / name)
    probe = (
        "import json, sys, function_app, archiver\n"
        "print(json.dumps({'package': archiver.__file__,"
        " 'functions': sorted(f.get_function_name() for f in function_app.app.get_functions()),"
        " 'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'archiver')}))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "ARCHIVE_STORAGE": "UseDevelopmentStorage=true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["package"]).is_relative_to(tmp_path)
    assert found["functions"] == [
        "archive_event",
        "archive_inactive_threads",
        "events",
        "health_check",
        "read_messages",
        "read_thread",
        "read_versions",
    ]
    tooling = [m for m in found["modules"] if m.split(".")[1:2] in (["hosts"], ["sim"], ["cli"])]
    assert tooling == []
