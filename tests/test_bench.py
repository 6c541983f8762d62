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

from bench.__main__ import SEED, WORKLOADS
from bench.against import WORKLOADS as COMPARED
from bench.report import ratio_text
from bench.workload import traffic

pytestmark = pytest.mark.process

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    return bench_figures(folder, "bench", "--quick", shows="| Target | Measured | Met |")


def bench_figures(tmp_path: Path, module: str, *arguments: str, shows: str = "") -> dict:
    """The figures a benchmark module writes with --json, run small; it must succeed (and
    print `shows`)."""
    output = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments, "--json", str(output)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert shows in done.stdout
    loaded: dict = json.loads(output.read_text())
    return loaded


def runs_of(figures: dict, contender: str) -> dict[str, dict]:
    return {r["workload"]: r for r in figures["runs"] if r["contender"] == contender}


def test_every_workload_ran_on_every_contender_and_delivered_everything(figures):
    for workload in WORKLOADS:
        for contender in ("floor", "tx floor", "archiver", "naive"):
            run = runs_of(figures, contender).get(workload.name)
            if contender == "naive" and not workload.naive:
                assert run is None
                continue
            assert run is not None, (contender, workload.name)
            copies = workload.fan_out if contender in ("archiver", "naive") else 1
            assert run["events"] == run["versions"] * copies, (contender, workload.name)


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_the_archiver_needs_at_most_two_requests_more_than_the_transaction_floor_per_thread(
    figures, workload
):
    archiver = runs_of(figures, "archiver")[workload.name]
    floor = runs_of(figures, "tx floor")[workload.name]
    threads = floor["threads"]

    # The floor inserts each thread's final row once; the archiver, to which every
    # thread is new, reads the row first (there is none) and then inserts it. The
    # traffic spans less than a quarter hour, so activity never moves a row again.
    # Everything else is the floor's work exactly: each version's blob once, and one
    # table request per thread per delivery, whatever the fan-out, edits or order. At
    # most: deliveries that share messages wait for each other and then write their rows
    # together, so on a loaded machine two of them now and then cost one transaction.
    # Beside that, the first delivery of the hour to each thread records its activity
    # (ChatActivity, 0.8): at most one request per thread, one for all the new threads
    # of a delivery.
    assert archiver["threads"] == threads > 0
    assert archiver["storage"]["blob PUT"] == archiver["versions"]
    assert sum(archiver["storage"].values()) <= sum(floor["storage"].values()) + 2 * threads
    assert sum(archiver["storage"].values()) >= archiver["versions"] + 2 * threads


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_the_row_floor_writes_each_version_and_each_thread_once(figures, workload):
    floor = runs_of(figures, "floor")[workload.name]

    assert sum(floor["storage"].values()) == 2 * floor["versions"] + floor["threads"]


@pytest.mark.parametrize(
    ("workload", "threads"),
    [("thread-level, batch 100, 1 thread", 1), ("thread-level, batch 100, 10 threads", 10)],
)
def test_a_delivery_costs_one_table_request_per_thread_it_touches(figures, workload, threads):
    floor = runs_of(figures, "tx floor")[workload]
    versions = floor["versions"]

    # --quick sends every version in one delivery of under 100 events.
    assert floor["storage"] == {"blob PUT": versions, "table POST": threads + threads}


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


def test_the_seal_benchmark_seals_and_checks_every_version_it_archived(tmp_path):
    figures = bench_figures(tmp_path, "bench.seals", "--versions", "400", "--threads", "4")

    assert figures["threads"] == 4
    assert figures["blobs checked"] == figures["versions"] >= 390
    assert (figures["altered"], figures["unsealed"]) == (0, 0)
    assert figures["seal versions per second"] > 0
    assert figures["verify blobs per second"] > 0
    # The bare SDK loop reads what verify read: every version and each thread's seal.
    assert figures["blobs read"] == figures["blobs checked"] + 4
    assert figures["bare SDK reads blobs per second"] > 0
    assert figures["verify --seals / bare SDK rate"] > 0
    assert figures["verify --seals Azurite CPU ms per blob"] > 0
    assert figures["checkpoint threads"] == 4
    assert figures["verify --checkpoint seconds"] >= 0


def test_the_analytics_benchmark_exports_both_sizes_and_measures_each_peak(tmp_path):
    output = tmp_path / "analytics.json"

    done = subprocess.run(
        [sys.executable, "-m", "bench.analytics", "--threads", "5", "20", "--messages", "3",
         "--json", str(output)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    small, large = json.loads(output.read_text())
    assert (small["threads"], small["messages"], large["messages"]) == (5, 15, 60)
    assert small["versions"] == 2 * small["messages"]  # each message sent, then edited
    for run in (small, large):
        assert run["python_peak_bytes"] > 0
        assert run["arrow_peak_bytes"] > 0
        assert run["seconds"] > 0
        assert set(run["file_bytes"]) == {"messages.parquet", "threads.parquet"}
    assert "x the messages: Python peak" in done.stdout


def test_the_jobs_benchmark_seals_one_changed_thread_at_either_size_and_fans_out(tmp_path):
    figures = bench_figures(
        tmp_path, "bench.jobs", "--small", "20", "--large", "80", "--changed", "12"
    )

    for size in (20, 80):
        assert figures[f"changed run, {size} at rest"]["visited"] == 1
        assert figures[f"changed run, {size} at rest"]["sealed"] == 1
    assert figures["walk, per thread"]["threads"] >= 15
    for workers in (1, 2):
        assert figures[f"fan-out, {workers} workers"]["threads"] >= 10
    assert figures["ratios"]["large/small"] > 0


def test_the_webhook_benchmark_against_a_commit_runs_both_sides(tmp_path):
    figures = bench_figures(tmp_path, "bench.against", "HEAD", "--rounds", "1", "--versions", "60")

    assert len(figures) == 3
    for row in figures.values():
        assert row["ref eps"] > 0
        assert row["this eps"] > 0
        # The same code does the same storage work (a loaded machine may coalesce rows).
        assert row["this rpv"] == pytest.approx(row["ref rpv"], rel=0.2)


def test_the_envelopes_benchmark_runs_both_modes_and_counts_the_key_tables_requests(tmp_path):
    figures = bench_figures(
        tmp_path,
        "bench.envelopes",
        *("--rounds", "1", "--versions", "60"),
        shows="| Workload | events/s, plain | events/s, envelope |",
    )

    assert list(figures["workloads"]) == list(COMPARED)
    for workload in (w for w in WORKLOADS if w.name in COMPARED):
        runs = {r["mode"]: r for r in figures["runs"] if r["workload"] == workload.name}
        plain, envelope = runs["plain"], runs["envelope"]
        delivered = traffic(workload, versions=60, seed=SEED).batches
        senders = [{sender_of(event) for event in batch.events} for batch in delivered]
        keys = {k: n for k, n in envelope["storage"].items() if k.startswith("keys ")}
        others = {k: n for k, n in envelope["storage"].items() if k not in keys}

        assert plain["events"] == envelope["events"] == plain["versions"] * workload.fan_out
        # Each version's blob once in either mode, the envelope in place of the document,
        # and the same rows (a loaded machine may coalesce rows, in either run).
        assert plain["storage"]["blob PUT"] == others["blob PUT"] == plain["versions"]
        assert sum(others.values()) == pytest.approx(sum(plain["storage"].values()), rel=0.2)
        # Beside them, one subject-key read per new sender in the process, and one
        # key-table transaction per delivery and sender at most (concurrent deliveries
        # may share one), at least one per sender.
        every_sender = set().union(*senders)
        assert keys["keys GET"] == len(every_sender)
        assert len(every_sender) <= keys["keys POST"] <= sum(len(s) for s in senders)
        row = figures["workloads"][workload.name]
        assert row["plain eps"] > 0
        assert row["envelope eps"] > 0
        assert row["envelope/plain time per version"] > 0
        assert row["envelope rpv"] > row["plain rpv"]
    micro = figures["micro"]
    assert micro["event bytes"] == 1024
    assert micro["seal + open µs"] == micro["seal µs"] + micro["open µs"] > 0


def sender_of(event: str) -> str:
    raw_id: str = json.loads(event)["data"]["senderCommunicationIdentifier"]["rawId"]
    return raw_id


@pytest.fixture(scope="module")
def scale(tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("scale") / "scale.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--quick", "--json", str(output)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| Step | Per | Requests per unit |" in done.stdout
    loaded: dict = json.loads(output.read_text())
    return loaded


def test_the_scale_model_measures_a_cost_for_every_step_it_is_built_from(scale):
    steps = scale["steps"]

    assert set(steps) == {
        "first delivery", "later delivery", "activity window", "first seal", "cursor moved",
        "checkpoint", "re-seal", "catalog listing", "sweep visit",
        "checkpoint, nothing changed", "verify", "queue", "disposal",
    }  # fmt: skip
    for name, step in steps.items():
        assert step["units"] > 0, name
        assert step["total per unit"] > 0, name
        assert step["cpu seconds per unit"] > 0, name
    assert steps["first delivery"]["units"] == scale["threads"] == 10


def test_only_a_threads_first_delivery_of_the_hour_writes_its_activity(scale):
    first, later = scale["steps"]["first delivery"], scale["steps"]["later delivery"]

    # One activity row per thread per hour: the first delivery's one request, the later
    # one's none; the later delivery is its one blob and its one row transaction.
    activity = {k: v for k, v in first["requests per unit"].items() if k.startswith("activity")}
    assert sum(activity.values()) == 1
    assert not [k for k in later["requests"] if k.startswith("activity")]
    assert later["requests per unit"] == {"blob PUT": 1, "table POST": 1}


def test_a_sealing_job_leases_each_thread_and_the_queue_costs_three_requests_a_batch(scale):
    steps = scale["steps"]

    for name in ("first seal", "re-seal", "sweep visit"):
        per = steps[name]["requests per unit"]
        assert (per["activity POST"], per["activity DELETE"]) == (1, 1), name
    assert steps["sweep visit"]["total per unit"] < steps["first seal"]["total per unit"]
    # A batch: one send, one delete, and its share of the receive that fetched it.
    queue = steps["queue"]["requests per unit"]
    assert (queue["queue POST"], queue["queue DELETE"]) == (1, 1)
    assert 0 < queue["queue GET"] <= 2
    assert steps["activity window"]["requests"] == {"activity GET": 2}


def test_the_search_benchmark_indexes_queries_and_updates(tmp_path):
    figures = bench_figures(
        tmp_path, "bench.search", "--versions", "400", "--added", "30", "--queries", "24"
    )

    assert figures["indexed"] == 400
    assert figures["update indexed"] == 30, "the update read the threads written since"
    assert figures["queries"] == 24
    assert figures["index/read"] > 0
    assert figures["query p95 ms"] >= figures["query p50 ms"]
    alone = bench_figures(
        tmp_path, "bench.search", "--index-only", "--versions", "600", "--added", "20"
    )
    assert (alone["known"], alone["added"]) == (600, 20)
    assert alone["index write versions per second"] > 0
