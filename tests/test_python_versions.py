"""Which Pythons the archiver runs on, and which one a newcomer's `./scripts/bootstrap` takes.

Supported are 3.11, 3.12 and 3.13, the Pythons Azure Functions runs that azure-functions
supports (1.x up to 3.12, 2.x from 3.13). scripts/find-python chooses; these specs run it
with stand-in interpreters (small scripts that answer with a version) on an otherwise empty
PATH, so what they prove does not depend on what this machine has installed.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import PROJECT

FIND_PYTHON = PROJECT / "scripts" / "find-python"


def requirements_on(python: str) -> dict[str, SpecifierSet]:
    """The runtime requirements pip installs on Python `python`, by name."""
    environment = {name: str(value) for name, value in default_environment().items()}
    environment |= {"python_version": python, "python_full_version": f"{python}.0"}
    found: dict[str, SpecifierSet] = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        text = line.split("#")[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            assert requirement.name not in found, f"{requirement.name} twice on {python}"
            found[requirement.name] = requirement.specifier
    return found


@pytest.mark.parametrize(("python", "major"), [("3.11", 1), ("3.12", 1), ("3.13", 2)])
def test_azure_functions_is_1_x_below_python_3_13_and_2_x_from_it(python, major):
    specifier = requirements_on(python)["azure-functions"]

    assert Version(f"{major}.99") in specifier
    assert not [v for v in (1, 2, 3) if v != major and Version(f"{v}.99") in specifier]


def test_the_python_worker_is_pinned_from_python_3_13_and_left_to_the_platform_below():
    pinned = requirements_on("3.13")["azure-functions-runtime"]

    assert len(pinned) == 1
    assert next(iter(pinned)).operator == "=="
    assert "azure-functions-runtime" not in requirements_on("3.12")
    assert "azure-functions-worker" not in requirements_on("3.12")


def test_the_package_declares_exactly_the_supported_pythons():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    declared = SpecifierSet(project["requires-python"])

    assert [v for v in ("3.10", "3.11", "3.12", "3.13", "3.14") if Version(v) in declared] == [
        "3.11",
        "3.12",
        "3.13",
    ]
    assert [c.rsplit(" ", 1)[1] for c in project["classifiers"]] == ["3.11", "3.12", "3.13"]


def interpreters(folder: Path, **answers: str | None) -> Path:
    """A folder of stand-in interpreters: each prints its version, or fails like a shim."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in answers.items():
        stub = folder / name.replace("_", ".")
        if version is None:  # a pyenv shim for a version that is not selected
            stub.write_text(
                f"#!/bin/sh\necho 'pyenv: {stub.name}: command not found' >&2\nexit 127\n"
            )
        else:
            stub.write_text(f"#!/bin/sh\necho {version}\n")
        stub.chmod(0o755)
    return folder


def find_python(
    path: Path, *arguments: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    """scripts/find-python with only the stand-ins on the PATH."""
    return subprocess.run(
        ["/bin/sh", str(FIND_PYTHON), *arguments],
        env={"PATH": str(path), "HOME": str(path.parent)} | environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.process
def test_bootstrap_takes_the_newest_supported_python_a_newcomer_has(tmp_path):
    bin = interpreters(tmp_path / "bin", python3_11="3.11", python3_12="3.12", python3_13="3.13")

    assert find_python(bin).stdout.strip() == str(bin / "python3.13")
    (bin / "python3.13").unlink()
    assert find_python(bin).stdout.strip() == str(bin / "python3.12")
    (bin / "python3.12").unlink()
    assert find_python(bin).stdout.strip() == str(bin / "python3.11")


@pytest.mark.process
def test_a_plain_python3_that_is_3_13_is_taken_over_a_python3_11(tmp_path):
    bin = interpreters(tmp_path / "bin", python3="3.13", python3_11="3.11")

    assert find_python(bin).stdout.strip() == str(bin / "python3")


@pytest.mark.process
def test_a_shim_for_an_unselected_python_is_passed_over(tmp_path):
    bin = interpreters(tmp_path / "bin", python3_13=None, python3_12=None, python3="3.11")

    assert find_python(bin).stdout.strip() == str(bin / "python3")


@pytest.mark.process
def test_a_newcomer_with_only_python_3_14_is_told_which_pythons_are_supported(tmp_path):
    bin = interpreters(tmp_path / "bin", python3="3.14", python3_14="3.14")

    refused = find_python(bin)

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "(python3 is 3.14)" in refused.stderr
    assert "needs one of those" in refused.stderr
    assert "Python 3.11, 3.12 or 3.13" in refused.stderr


@pytest.mark.parametrize("version", ["3.10", "3.14"])
@pytest.mark.process
def test_a_python_named_by_python_outside_3_11_to_3_13_is_refused(tmp_path, version):
    bin = interpreters(tmp_path / "bin", python3="3.13", other=version)

    refused = find_python(bin, PYTHON=str(bin / "other"))

    assert refused.returncode == 1
    assert f"is Python {version};" in refused.stderr
    assert "set PYTHON to one of those" in refused.stderr


@pytest.mark.process
def test_an_extra_version_is_found_in_pyenv_when_not_on_the_path(tmp_path):
    bin = interpreters(tmp_path / "bin", python3_13=None)
    pyenv = interpreters(tmp_path / ".pyenv" / "versions" / "3.13.0" / "bin", python3_13="3.13")

    assert find_python(bin, "3.13").stdout.strip() == str(pyenv / "python3.13")
    missing = find_python(bin, "3.12")
    assert missing.returncode == 1
    assert "no Python 3.12 on this machine (set PYTHON312 to one)" in missing.stderr
