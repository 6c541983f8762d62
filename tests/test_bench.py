"""The benchmark runs end to end, and the storage work it counts is the least possible.

Rates are not asserted here (the machine is shared; see README, Performance): the
request counts are, because they do not depend on timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import WORKLOADS
from bench.report import ratio_text

pytestmark = pytest.mark.process

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("bench") / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| Target | Measured | Met |" in done.stdout
    loaded: dict = json.loads(output.read_text())
    return loaded


def runs_of(figures: dict, contender: str) -> dict[str, dict]:
    return {r["workload"]: r for r in figures["runs"] if r["contender"] == contender}


def test_every_workload_ran_on_every_contender_and_delivered_everything(figures):
    for contender in ("floor", "archiver", "naive"):
        runs = runs_of(figures, contender)
        assert set(runs) >= {w.name for w in WORKLOADS}
        for workload in WORKLOADS:
            run = runs[workload.name]
            expected = run["versions"] * (workload.fan_out if contender != "floor" else 1)
            assert run["events"] == expected, (contender, workload.name)


@pytest.mark.parametrize("workload", [w for w in WORKLOADS if not w.edits], ids=lambda w: w.name)
def test_new_messages_cost_two_requests_and_a_thread_one_read_more_than_the_floor(
    figures, workload
):
    archiver = runs_of(figures, "archiver")[workload.name]
    floor = runs_of(figures, "floor")[workload.name]
    threads = floor["threads"]

    # The floor inserts each thread's final row once; the archiver, to which every
    # thread is new, reads the row first (there is none) and then inserts it. The
    # traffic spans less than a quarter hour, so activity never moves a row again.
    assert archiver["threads"] == threads > 0
    assert sum(floor["storage"].values()) == 2 * floor["versions"] + threads
    assert sum(archiver["storage"].values()) == 2 * archiver["versions"] + 2 * threads


@pytest.mark.parametrize("workload", [w for w in WORKLOADS if w.edits], ids=lambda w: w.name)
def test_edits_and_deletions_cost_at_most_three_requests_a_version(figures, workload):
    # Two when this process wrote the row before (blob, conditional replace); a read
    # more when an edit overtook its message or another instance moved the row.
    assert runs_of(figures, "archiver")[workload.name]["storagePerVersion"] <= 3


@pytest.mark.parametrize("workload", [w for w in WORKLOADS if w.fan_out > 1], ids=lambda w: w.name)
def test_the_naive_handler_writes_every_copy(figures, workload):
    naive = runs_of(figures, "naive")[workload.name]

    assert naive["storagePerVersion"] == 2 * workload.fan_out


def test_memory_and_cold_start_are_measured(figures):
    memory, imports = figures["memory"], figures["imports"]

    assert 1000 * 1024 < memory["request_bytes"] <= 1024 * 1024
    assert memory["peak_mib"] >= memory["idle_mib"] > 0
    assert imports["app_seconds"] > 0
    assert imports["bare_seconds"] > 0
    assert [t["name"] for t in figures["targets"]][-1].startswith("function_app cold import")


@pytest.mark.parametrize(
    ("value", "bound", "shown"),
    [(0.8963, 0.9, "0.896"), (0.9, 0.9, "0.90"), (1.154, 0.9, "1.15"), (0.8463, 0.85, "0.846")],
)
def test_a_missed_target_never_reads_as_its_bound(value: float, bound: float, shown: str):
    assert ratio_text(value, bound) == shown
