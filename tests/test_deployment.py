"""What ships to Azure: the files .funcignore leaves, and that the app runs from them alone.

Core Tools and `azd deploy` zip the project folder minus what .funcignore (gitignore
syntax) names. These specs compute that set the same way and import function_app
from a copy of it, in a fresh interpreter, so a product module that reached for the
simulator, the local host or the command line would fail here before it failed in Azure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.hosts.azurite import ACCOUNT_KEY
from bench.package import compile_bytecode, copy_package, deployable
from tests.conftest import PROJECT, printed_json

pytestmark = pytest.mark.process
TOOLING = (
    "archiver/hosts/",
    "archiver/sim/",
    "archiver/cli/",
    "archiver/retrieval/analytics/",
    "bench/",
    "tests/",
    "docs/",
)


def run_in(folder: Path, code: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter in `folder`, with nothing of this environment but PATH."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "ARCHIVE_STORAGE": "UseDevelopmentStorage=true"}
        | environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_only_the_product_ships():
    files = deployable()

    assert {"function_app.py", "host.json", "requirements.txt"} <= set(files)
    assert "archiver/bootstrap.py" in files
    assert [name for name in files if name.startswith(TOOLING)] == []
    assert [name for name in files if not name.startswith(("archiver/", "__pycache__/"))] == [
        "function_app.py",
        "host.json",
        "requirements.txt",
    ]


def test_no_shipped_file_holds_the_storage_emulators_well_known_key():
    holders = [
        name for name in deployable() if ACCOUNT_KEY.encode() in (PROJECT / name).read_bytes()
    ]

    assert holders == []


def test_the_function_app_imports_and_indexes_from_the_shipped_files_alone(tmp_path):
    copy_package(tmp_path)
    probe = (
        "import json, sys, function_app, archiver\n"
        "print(json.dumps({'package': archiver.__file__,"
        " 'functions': sorted(f.get_function_name() for f in function_app.app.get_functions()),"
        " 'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'archiver')}))\n"
    )

    done = run_in(tmp_path, probe)

    assert done.returncode == 0, done.stderr
    found = printed_json(done)
    assert Path(found["package"]).is_relative_to(tmp_path)
    assert found["functions"] == [
        "archive_event",
        "archive_inactive_threads",
        "change_hold",
        "dispose_expired_threads",
        "erase",
        "events",
        "health_check",
        "index_versions",
        "participant_hold",
        "read_messages",
        "read_thread",
        "read_versions",
        "redact",
        "replay_dead_letter",
        "report_poisoned_job",
        "run_job",
        "seal_threads",
        "search",
        "verify_archive",
    ]
    tooling = [m for m in found["modules"] if m.split(".")[1:2] in (["hosts"], ["sim"], ["cli"])]
    assert tooling == []


# Read-only, like the package the Function App runs from: nothing can be cached there.
COUNT_COMPILES = """
import importlib.machinery, json, sys
compiled = []
source_to_code = importlib.machinery.SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counting
import function_app
function_app.runtime.services()
print(json.dumps(compiled))
"""


def test_the_shipped_bytecode_covers_every_product_module_and_nothing_else():
    compile_bytecode()

    files = deployable()

    sources = [n for n in files if n.endswith(".py")]
    bytecode = {n for n in files if n.endswith(".pyc")}
    tag = sys.implementation.cache_tag
    expected = {str(Path(n).parent / "__pycache__" / f"{Path(n).stem}.{tag}.pyc") for n in sources}
    assert bytecode == expected


def test_a_cold_start_from_the_package_compiles_no_source(tmp_path):
    compile_bytecode()
    copy_package(tmp_path)
    for path in tmp_path.rglob("*"):
        path.chmod(path.stat().st_mode & ~0o222)

    done = run_in(tmp_path, COUNT_COMPILES)

    assert done.returncode == 0, done.stderr
    compiled = json.loads(done.stdout.splitlines()[-1])
    assert [path for path in compiled if Path(path).is_relative_to(tmp_path)] == []


def test_changed_source_is_never_run_from_stale_bytecode(tmp_path):
    compile_bytecode()
    copy_package(tmp_path)
    health = tmp_path / "archiver" / "capture" / "health.py"
    health.write_text(health.read_text() + "\nCHANGED_AFTER_COMPILING = True\n")

    done = run_in(
        tmp_path,
        "import archiver.capture.health as h; print(h.CHANGED_AFTER_COMPILING)",
        PYTHONDONTWRITEBYTECODE="1",
    )

    assert done.stdout.strip() == "True", done.stderr
