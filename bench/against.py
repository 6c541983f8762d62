"""python -m bench.against REF: the webhook path of this checkout against an earlier
commit's, in one run, on the same machine.

REF is checked out into a temporary git worktree (its node_modules linked to this
checkout's); then, round after round, each side archives the same traffic through its
own `archiver serve` on a fresh in-memory Azurite (bench.contenders.run_served), the
side that goes first alternating. Reported per workload: the median events per second
and storage requests per version of each side, and the ratio this/REF (a ratio below 1
means this checkout is slower).

python -m bench.against 97216ef                 # against 0.7.0, 3 rounds
python -m bench.against 97216ef --rounds 1 --versions 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.contenders import PROJECT

WORKLOADS = (
    "thread-level, batch 100, new",
    "per-user ×5, batch 100, new",
    "thread-level, batch 1, new",
)
_ONE_RUN = """
import json, sys
from bench.__main__ import SEED, WORKLOADS
from bench.contenders import run_served
from bench.workload import traffic
[workload] = [w for w in WORKLOADS if w.name == sys.argv[1]]
result = run_served(workload, traffic(workload, versions=int(sys.argv[2]), seed=SEED),
                    contender="archiver", senders=workload.senders)
print(json.dumps({"eps": result.events_per_second, "rpv": result.storage_per_version}))
"""


def main(argv: list[str] | None = None) -> int:
    """Run both sides, alternating; print the table (and --json)."""
    parser = argparse.ArgumentParser(prog="python -m bench.against", description=__doc__)
    parser.add_argument("ref", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--json", metavar="FILE")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), arguments.ref],
            cwd=PROJECT,
            check=True,
            capture_output=True,
        )
        try:
            (base / "node_modules").symlink_to(PROJECT / "node_modules")
            found = _rounds(base, arguments.rounds, arguments.versions)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base)], cwd=PROJECT, check=False
            )
    figures = _figures(found)
    print(
        f"## This checkout against {arguments.ref}: {arguments.versions} versions, "
        f"{arguments.rounds} round(s)\n"
    )
    print("| Workload | events/s, REF | events/s, this | this/REF | requests/version, REF → this |")
    print("|---|---|---|---|---|")
    for name, row in figures.items():
        print(
            f"| {name} | {row['ref eps']:,.0f} | {row['this eps']:,.0f} | "
            f"{row['ratio']:.2f} | {row['ref rpv']:.2f} → {row['this rpv']:.2f} |"
        )
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return 0


def _rounds(
    base: Path, rounds: int, versions: int
) -> dict[tuple[str, str], list[dict[str, float]]]:
    found: dict[tuple[str, str], list[dict[str, float]]] = {}
    for number in range(rounds):
        for workload in WORKLOADS:
            sides = [("REF", base), ("this", PROJECT)]
            for side, where in sides if number % 2 == 0 else sides[::-1]:
                done = subprocess.run(
                    [sys.executable, "-c", _ONE_RUN, workload, str(versions)],
                    cwd=where,
                    env=_measured(side),
                    check=True,
                    capture_output=True,
                    text=True,
                )
                found.setdefault((workload, side), []).append(
                    json.loads(done.stdout.splitlines()[-1])
                )
    return found


def _measured(side: str) -> dict[str, str]:
    """The environment of one side: REF's code is another checkout's, in a folder gone
    once the run ends, so a coverage measurement of this checkout (the test suite's) must
    not follow into it: its report would look for files that no longer exist."""
    if side == "this":
        return dict(os.environ)
    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS")}


def _figures(found: dict[tuple[str, str], list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    figures = {}
    for workload in WORKLOADS:
        ref, this = found[(workload, "REF")], found[(workload, "this")]
        ref_eps = statistics.median(r["eps"] for r in ref)
        this_eps = statistics.median(r["eps"] for r in this)
        figures[workload] = {
            "ref eps": ref_eps,
            "this eps": this_eps,
            "ratio": this_eps / ref_eps,
            "ref rpv": statistics.median(r["rpv"] for r in ref),
            "this rpv": statistics.median(r["rpv"] for r in this),
        }
    return figures


if __name__ == "__main__":
    sys.exit(main())
