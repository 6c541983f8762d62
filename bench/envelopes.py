"""python -m bench.envelopes: the webhook's archiving in plain mode against envelope mode
(ARCHIVE_ENVELOPE=on), in one run, on the same machine.

Round after round, each mode archives the same traffic through its own `bench.host` (the
local host, counting storage requests) on a fresh in-memory Azurite
(bench.contenders.run_served), the mode that goes first alternating; envelope mode's root
key is 32 random bytes made for the run (a development key, in a file of the run's own).
Reported per workload: the median events per second of each mode, envelope/plain time
per version (the median of the ratios within each round; issue 26's bar is at most
1.15), and storage requests per version of each mode. Beside it, what sealing and
opening one 1 KiB event costs in this process (archiver.core.erasure.envelopes), against
the whole webhook's time per version in plain mode.

python -m bench.envelopes                       # 1,000 versions, 3 rounds
python -m bench.envelopes --rounds 1 --versions 200   # a quick look
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import sys
import tempfile
import timeit
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archiver.core.erasure.envelopes import Header, open_version, seal_version
from archiver.core.erasure.keys import new_key, new_key_id, wrap_data_key
from archiver.core.records import Action
from bench.__main__ import SEED, WORKLOADS
from bench.against import WORKLOADS as COMPARED
from bench.contenders import BenchError, Result, run_served
from bench.workload import Traffic, traffic

BAR = 1.15  # envelope mode's time per version, at most this times plain mode's
EVENT_BYTES = 1024
MODES = ("plain", "envelope")


def main(argv: list[str] | None = None) -> int:
    """Run both modes, alternating; print the tables (and --json); 1 only when a run failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.envelopes", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--json", metavar="FILE")
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1 or arguments.versions < 1:
        parser.error("--rounds and --versions must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "root.key"
        root.touch(mode=0o600)
        root.write_text(base64.b64encode(secrets.token_bytes(32)).decode("ascii"))
        settings = {
            "plain": {},
            "envelope": {"ARCHIVE_ENVELOPE": "on", "ARCHIVE_ROOT_KEY": str(root)},
        }
        try:
            runs = _rounds(settings, arguments.rounds, arguments.versions)
        except BenchError as exc:
            print(f"bench.envelopes: {exc}", file=sys.stderr)
            return 1
    micro = cryptography_cost()
    figures = {"workloads": _figures(runs, micro), "micro": micro, "runs": runs}
    print(_report(figures, versions=arguments.versions, rounds=arguments.rounds))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return 0


def _rounds(
    settings: dict[str, dict[str, str]], rounds: int, versions: int
) -> list[dict[str, Any]]:
    by_name = {w.name: w for w in WORKLOADS}
    workloads = [by_name[name] for name in COMPARED]
    traffics: dict[str, Traffic] = {
        w.name: traffic(w, versions=versions, seed=SEED) for w in workloads
    }
    runs = []
    for number in range(rounds):
        for workload in workloads:
            for mode in MODES if number % 2 == 0 else MODES[::-1]:
                result = run_served(
                    workload,
                    traffics[workload.name],
                    contender="archiver",
                    senders=workload.senders,
                    settings=settings[mode],
                )
                runs.append(_run(result, mode=mode, round_number=number))
    return runs


def _run(result: Result, *, mode: str, round_number: int) -> dict[str, Any]:
    return {
        "workload": result.workload,
        "mode": mode,
        "round": round_number,
        "versions": result.versions,
        "events": result.events,
        "seconds": result.seconds,
        "eps": result.events_per_second,
        "µs per version": 1e6 * result.seconds / result.versions,
        "rpv": result.storage_per_version,
        "key table rpv": sum(n for k, n in result.storage.items() if k.startswith("keys "))
        / result.versions,
        "storage": result.storage,
    }


def _figures(runs: list[dict[str, Any]], micro: dict[str, float]) -> dict[str, dict[str, Any]]:
    figures = {}
    for workload in dict.fromkeys(r["workload"] for r in runs):
        mine = [r for r in runs if r["workload"] == workload]
        by = {(r["round"], r["mode"]): r for r in mine}
        rounds = sorted({r["round"] for r in mine})
        ratios = [
            by[(n, "envelope")]["µs per version"] / by[(n, "plain")]["µs per version"]
            for n in rounds
        ]
        row: dict[str, Any] = {
            "envelope/plain time per version": statistics.median(ratios),
            "envelope/plain by round": ratios,
        }
        for mode in MODES:
            of = [r for r in mine if r["mode"] == mode]
            row[f"{mode} eps"] = statistics.median(r["eps"] for r in of)
            row[f"{mode} µs per version"] = statistics.median(r["µs per version"] for r in of)
            row[f"{mode} rpv"] = statistics.median(r["rpv"] for r in of)
        row["envelope key table rpv"] = statistics.median(
            r["key table rpv"] for r in mine if r["mode"] == "envelope"
        )
        row["seal + open share of plain"] = micro["seal + open µs"] / row["plain µs per version"]
        figures[workload] = row
    return figures


def cryptography_cost(*, number: int = 2000, repeat: int = 5) -> dict[str, float]:
    """Microseconds per version, the median of `repeat` timings of `number` each: sealing
    and opening a 1 KiB event, and making and wrapping its data key."""
    event = one_kib_event()
    key = new_key()
    header = Header(
        thread_id="19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2",
        message_id="1793610000000",
        version=1793610000000,
        action=Action.RECEIVED,
        compose_time=datetime(2026, 11, 2, 9, tzinfo=UTC),
        edit_time=None,
        delete_time=None,
        sender=secrets.token_hex(32),
        subject_key_id=new_key_id(),
        data_key_id=new_key_id(),
    )
    sealed = seal_version(event, header=header, data_key=key)

    def per_version(work: Any) -> float:
        return 1e6 * statistics.median(timeit.repeat(work, number=number, repeat=repeat)) / number

    seal = per_version(lambda: seal_version(event, header=header, data_key=key))
    opened = per_version(lambda: open_version(sealed, data_key=key))
    wrap = per_version(
        lambda: wrap_data_key(
            new_key(), data_key_id=new_key_id(), subject_key=key, subject_key_id="subject"
        )
    )
    return {
        "event bytes": float(len(event)),
        "seal µs": seal,
        "open µs": opened,
        "seal + open µs": seal + opened,
        "data key made and wrapped µs": wrap,
    }


def one_kib_event() -> bytes:
    """A thread-level event of the benchmark's traffic, its body cut or filled to make it
    exactly 1 KiB."""
    [workload] = [w for w in WORKLOADS if w.name == COMPARED[0]]
    event = json.loads(traffic(workload, versions=1, seed=SEED).events[0])
    event["data"]["messageBody"] = ""
    room = EVENT_BYTES - len(json.dumps(event, separators=(",", ":")).encode())
    event["data"]["messageBody"] = ("please bring your insurance card " * 40)[:room]
    text = json.dumps(event, separators=(",", ":")).encode()
    assert len(text) == EVENT_BYTES
    return text


def _report(figures: dict[str, Any], *, versions: int, rounds: int) -> str:
    lines = [
        f"## Plain mode against envelope mode: {versions} versions, {rounds} round(s)",
        "",
        f"| Workload | events/s, plain | events/s, envelope | envelope/plain time per version "
        f"(bar ≤ {BAR}) | requests/version, plain → envelope (key table) |",
        "|---|--:|--:|--:|---|",
    ]
    for name, row in figures["workloads"].items():
        ratio = row["envelope/plain time per version"]
        lines.append(
            f"| {name} | {row['plain eps']:,.0f} | {row['envelope eps']:,.0f} | "
            f"{_at_most(ratio, BAR)} {'✓' if ratio <= BAR else '✗'} | "
            f"{row['plain rpv']:.2f} → {row['envelope rpv']:.2f} "
            f"({row['envelope key table rpv']:.2f}) |"
        )
    micro = figures["micro"]
    lines += [
        "",
        f"seal_version {micro['seal µs']:.1f} µs + open_version {micro['open µs']:.1f} µs "
        f"= {micro['seal + open µs']:.1f} µs a {micro['event bytes']:.0f}-byte event "
        f"(its data key made and wrapped: {micro['data key made and wrapped µs']:.1f} µs)",
        "",
        "| Workload | webhook µs/version, plain | envelope | seal + open, share of plain |",
        "|---|--:|--:|--:|",
    ]
    for name, row in figures["workloads"].items():
        lines.append(
            f"| {name} | {row['plain µs per version']:,.0f} | "
            f"{row['envelope µs per version']:,.0f} | "
            f"{100 * row['seal + open share of plain']:.1f} % |"
        )
    return "\n".join(lines)


def _at_most(value: float, bound: float) -> str:
    """Two places, or three where two would round a miss down to the bound (1.154 is
    not 1.15)."""
    two = f"{value:.2f}"
    return two if (float(two) <= bound) == (value <= bound) else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
