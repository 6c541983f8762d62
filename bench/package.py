"""What `azd deploy` ships: the project's files that .funcignore keeps, bytecode included.

The source files are the ones git knows (tracked, or new and not ignored); the bytecode is
what scripts/compile-bytecode wrote into the product's `__pycache__` folders. Both pass
through .funcignore (gitignore syntax), as azd and Core Tools apply it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pathspec

PROJECT = Path(__file__).resolve().parent.parent


def deployable(project: Path = PROJECT) -> list[str]:
    """The files the package holds, as paths relative to `project`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    bytecode = [
        path.relative_to(project).as_posix()
        for folder in (project / "__pycache__", *project.glob("archiver/**/__pycache__"))
        for path in sorted(folder.glob("*.pyc"))
    ]
    ignored = pathspec.PathSpec.from_lines(
        "gitignore", (project / ".funcignore").read_text().splitlines()
    )
    return sorted(
        name
        for name in {*listed, *bytecode}
        if (project / name).is_file() and not ignored.match_file(name)
    )


def compile_bytecode(project: Path = PROJECT) -> None:
    """Write the product's bytecode as azd's prepackage hook does."""
    subprocess.run([str(project / "scripts" / "compile-bytecode")], cwd=project, check=True)


def copy_package(into: Path, project: Path = PROJECT, *, bytecode: bool = True) -> list[str]:
    """Copy the deployable files into `into`, as the package would hold them (without
    its bytecode when not `bytecode`: as a package without the prepackage hook)."""
    names = [n for n in deployable(project) if bytecode or not n.endswith(".pyc")]
    for name in names:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / name, into / name)
    return names
