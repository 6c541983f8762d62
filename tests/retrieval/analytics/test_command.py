"""`archiver export --format parquet`: the tables to a folder or the analytics container,
recorded in the audit trail first; options that do not apply, and a missing pyarrow,
are one clear line each."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from archiver.bootstrap import build
from archiver.cli.export import PYARROW
from archiver.core.settings import Settings
from tests.chats import archive
from tests.conftest import PROJECT, archiver_command, run_archiver, storage_environment
from tests.retrieval.analytics.chats import ORDER, events

pytestmark = pytest.mark.process


def _run(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_archiver(settings, "export", "--settings", "absent.json", *arguments)


async def test_the_command_writes_the_tables_to_a_folder_and_to_blobs_each_export_audited(
    settings: Settings, tmp_path: Path
):
    services = build(settings)
    try:
        await archive(services.storage, tuple(events((ORDER,))))
    finally:
        await services.close()
    folder = tmp_path / "analytics" / "2026-11"

    filed = _run(settings, "--all", "--format", "parquet", "--output", str(folder))
    stored = _run(settings, "--thread", ORDER.thread_id, "--format", "parquet", "--blob", "nov")
    again = _run(settings, "--all", "--format", "parquet", "--blob", "nov.parquet", "--labels")

    assert filed.returncode == 0, filed.stderr
    assert f"Wrote {folder / 'messages.parquet'}" in filed.stderr
    assert len(pq.read_table(folder / "messages.parquet")) == len(ORDER.lines)
    assert stored.returncode == 0, stored.stderr
    container = settings.analytics_container
    assert f"Wrote {container}/threads/nov.parquet" in stored.stderr
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "archiver: messages/nov.parquet already exists; choose another name"
    ]
    services = build(settings)
    try:
        blob = await services.storage.container(container).read("threads/nov.parquet")
        records = [r async for r in services.trail.records() if r["action"] == "export"]
    finally:
        await services.close()
    assert pq.read_table(io.BytesIO(blob)).column("thread_id").to_pylist() == [ORDER.thread_id]
    blobs = f"{container}/messages/nov.parquet {container}/threads/nov.parquet"
    assert [(r["target"], r["details"]) for r in records] == [
        ({"file": str(folder)}, {"threads": "all", "format": "parquet", "labels": False}),
        (
            {"file": blobs, "threadId": ORDER.thread_id},
            {"threads": [ORDER.thread_id], "format": "parquet", "labels": False},
        ),
        ({"file": blobs}, {"threads": "all", "format": "parquet", "labels": True}),
    ]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (("--all-versions", "--output", "x"), "counts every version: leave out --all-versions"),
        (("--slice", "day", "--output", "x"), "--slice is only for --format rsmf"),
        (("--no-bom", "--output", "x"), "--no-bom is only for --format csv"),
        ((), "writes two files: give --output FOLDER or --blob [NAME]"),
        (("--blob", "../up"), "is not a safe blob name"),
        (("--output", "pyproject.toml"), "cannot be a folder: File exists"),
        (("--since", "2026-12-01", "--until", "2026-11-01", "--output", "x"), "--since must be"),
    ],
)
def test_what_does_not_apply_to_parquet_is_refused_in_one_line(settings, arguments, says):
    done = _run(settings, "--all", "--format", "parquet", *arguments)

    [line] = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert line.startswith("archiver: ")
    assert says in line
    assert done.stdout == ""


def test_labels_are_refused_for_a_transcript_which_has_them_anyway(settings):
    done = _run(settings, "--all", "--format", "csv", "--labels")

    assert done.returncode == 2
    assert "--labels is only for --format parquet" in done.stderr


def test_without_pyarrow_the_command_says_how_to_get_it(settings, tmp_path: Path):
    arguments = ["export", "--all", "--format", "parquet", "--output", str(tmp_path)]
    without = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from archiver.cli.main import main\n"
        f"raise SystemExit(main({arguments!r}))\n"
    )
    command = archiver_command()
    done = subprocess.run(
        [command[0], "-c", without],
        cwd=PROJECT,
        env=storage_environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "archiver: --format parquet needs pyarrow, which the app does not carry: "
        f"pip install {PYARROW}"
    ]


def test_the_version_the_command_names_is_the_one_the_development_install_pins():
    pins = (PROJECT / "requirements-dev.txt").read_text().splitlines()

    assert PYARROW in pins
    assert sys.modules["pyarrow"].__version__ == PYARROW.split("==")[1]
