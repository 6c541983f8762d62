"""`pip install .` gives a working `archiver`: every package, the viewer page, the function
app the local host reads its routes from, the command, and the runtime dependencies.

The wheel is built and installed into a folder of its own, then run from elsewhere,
so nothing of the checkout is on the path.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import archiver
from tests.conftest import PROJECT

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(out),
            str(PROJECT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("acs_chat_archiver-*.whl")
    return built


def test_the_wheel_holds_every_package_the_viewer_page_and_the_function_app(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {
        path.parent.relative_to(PROJECT).as_posix()
        for path in (PROJECT / "archiver").rglob("__init__.py")
    }

    assert {f"{package}/__init__.py" for package in packages} <= names
    assert {"archiver/hosts/viewer.html", "function_app.py"} <= names
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]


def test_the_wheel_declares_the_runtime_dependencies_and_the_command(wheel):
    archive = zipfile.ZipFile(wheel)
    [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    [entry_points] = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    declared = email.message_from_bytes(archive.read(metadata)).get_all("Requires-Dist") or []
    wanted = [
        line.split("#")[0].strip()
        for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]

    assert sorted(map(_normal, declared)) == sorted(map(_normal, wanted))
    assert "archiver = archiver.cli.main:main" in archive.read(entry_points).decode()


def test_the_package_says_the_version_the_wheel_and_the_changelog_say(wheel):
    archive = zipfile.ZipFile(wheel)
    [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    version = email.message_from_bytes(archive.read(metadata))["Version"]
    changelog = (PROJECT / "CHANGELOG.md").read_text()

    assert archiver.__version__ == version
    # The newest released heading: one marked "(unreleased)" is still being written.
    released = re.search(r"^## (\S+) (?!\(unreleased\))", changelog, re.M)
    assert released is not None
    assert released.group(1) == version


def test_the_installed_command_runs_from_anywhere(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import archiver, function_app\n"
        "from archiver.hosts.devhost import functions\n"
        "from archiver.cli.main import main\n"
        "routes, triggers = functions()\n"
        "print(archiver.__file__, function_app.__file__, len(routes), sorted(triggers))\n"
        "raise SystemExit(main(['verify', '--help']))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0].split()
    assert all(Path(path).is_relative_to(site) for path in first[:2])
    assert first[2:] == ["10", "['archive_event',", "'replay_dead_letter']"]  # 10 HTTP routes
    assert "usage: archiver verify" in done.stdout


def _normal(requirement: str) -> tuple[str, str, str]:
    parsed = Requirement(requirement)
    return parsed.name.lower(), str(parsed.specifier), str(parsed.marker or "")
