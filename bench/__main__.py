"""python -m bench: the archiver against both floors and the naive handler, in one run.

python -m bench                  # the full run (~10 minutes on 2 cores)
python -m bench --quick          # a small run that checks the benchmark works
python -m bench --json out.json  # the figures as data too
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from typing import Any

from bench.contenders import TRANSACTION_FLOOR, BenchError, Result, run_floor, run_served
from bench.footprint import imports, memory
from bench.report import Figures, median, noise, table, targets, verdict_table
from bench.workload import Workload, traffic

WORKLOADS = (
    Workload(name="thread-level, batch 100, new", fan_out=1, batch=100),
    Workload(
        name="thread-level, batch 100, 1 thread", fan_out=1, batch=100, threads=1, naive=False
    ),
    Workload(
        name="thread-level, batch 100, 10 threads", fan_out=1, batch=100, threads=10, naive=False
    ),
    Workload(
        name="thread-level, batch 100, 100 threads", fan_out=1, batch=100, threads=100, naive=False
    ),
    Workload(name="thread-level, batch 1, new", fan_out=1, batch=1, senders=32),
    Workload(name="per-user ×5, batch 100, new", fan_out=5, batch=100),
    Workload(name="per-user ×5, batch 1, new", fan_out=5, batch=1, senders=32),
    Workload(name="per-user ×20, batch 100, new", fan_out=20, batch=100),
    Workload(name="thread-level, batch 100, edit-heavy", fan_out=1, batch=100, edits=3),
    Workload(name="per-user ×5, batch 100, edit-heavy", fan_out=5, batch=100, edits=3),
)
# The naive handler takes one event per request, from as many senders as the busiest
# archiver workload, so its storage concurrency matches the archiver's and the floor's.
NAIVE_SENDERS = 32
SEED = 20261121


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table and the targets; 1 on --strict misses."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--versions", type=int, default=2000, help="unique versions per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each pair (median)")
    parser.add_argument("--quick", action="store_true", help="60 versions, one round")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args(argv)
    versions, rounds = (60, 1) if options.quick else (options.versions, options.rounds)
    began = time.monotonic()
    try:
        figures = measure(versions=versions, rounds=rounds, import_runs=3 if options.quick else 9)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    verdicts = targets(figures)
    print(
        f"## Benchmark: {versions} unique versions per run, {rounds} round(s)\n\n"
        "Rates are the median run; ratios the median of each round's ratio.\n"
    )
    print(table(figures))
    print()
    print(noise(figures))
    print()
    print(verdict_table(verdicts))
    print(f"\n{time.monotonic() - began:.0f} s in all.")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(_as_json(figures, verdicts), out, indent=2, ensure_ascii=False)
    return 1 if options.strict and not all(t.met for t in verdicts) else 0


def measure(*, versions: int, rounds: int, import_runs: int) -> Figures:
    """Every run of every workload, the paced latency run, memory and imports."""
    runs: list[Result] = []
    for round_number in range(rounds):
        for workload in WORKLOADS:
            plain = traffic(workload, versions=versions, seed=SEED)
            naive = traffic(
                workload, versions=max(1, versions // workload.fan_out), seed=SEED, batch=1
            )
            contenders = ["floor", TRANSACTION_FLOOR, "archiver"] + ["naive"] * workload.naive
            shift = round_number % len(contenders)  # no contender always goes first
            for contender in contenders[shift:] + contenders[:shift]:
                if contender == "floor":
                    result = run_floor(workload, plain)
                elif contender == TRANSACTION_FLOOR:
                    result = run_floor(workload, plain, transactions=True)
                elif contender == "archiver":
                    result = run_served(
                        workload, plain, contender="archiver", senders=workload.senders
                    )
                else:
                    result = run_served(workload, naive, contender="naive", senders=NAIVE_SENDERS)
                _progress(round_number, result)
                runs.append(replace(result, round_number=round_number))
    peak = median(runs, WORKLOADS[0].name, "archiver").events_per_second
    paced_workload = Workload(
        name=f"{WORKLOADS[0].name}, paced at half the peak ({peak / 2:,.0f} events/s)",
        fan_out=1,
        batch=100,
    )
    paced = run_served(
        paced_workload,
        traffic(paced_workload, versions=versions, seed=SEED + 1),
        contender="archiver",
        senders=paced_workload.senders,
        rate=peak / 2,
    )
    _progress(rounds, paced)
    return Figures(
        tuple(WORKLOADS),
        tuple(runs),
        paced=paced,
        memory=memory(seed=SEED),
        imports=imports(runs=import_runs),
    )


def _progress(round_number: int, result: Result) -> None:
    print(
        f"round {round_number + 1}: {result.workload:<40} {result.contender:<8} "
        f"{result.versions_per_second:8,.0f} versions/s  "
        f"{result.storage_per_version:5.2f} requests/version",
        file=sys.stderr,
        flush=True,
    )


def _as_json(figures: Figures, verdicts: list[Any]) -> dict[str, Any]:
    return {
        "runs": [
            {k: v for k, v in asdict(r).items() if k != "latencies"}
            | {
                "versionsPerSecond": r.versions_per_second,
                "eventsPerSecond": r.events_per_second,
                "storagePerVersion": r.storage_per_version,
                "p50": r.percentile(0.5),
                "p99": r.percentile(0.99),
            }
            for r in (*figures.runs, figures.paced)
        ],
        "memory": asdict(figures.memory),
        "imports": asdict(figures.imports) | {"ratio": figures.imports.ratio},
        "targets": [asdict(t) for t in verdicts],
    }


if __name__ == "__main__":
    sys.exit(main())
