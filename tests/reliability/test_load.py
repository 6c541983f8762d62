"""Load: 10k+ events of per-user, shuffled, redelivered traffic, held by one or two processes.

Everything runs as processes, as users run it: `serve` (once or twice, on one storage),
`simulate` playing ACS and Event Grid, and `verify --exact` against the ground truth.
With two processes every batch goes to both at once (`--mirror`), so every version is
raced by two writers: more contention than any load balancer would cause.
`ARCHIVER_SOAK=1` (./scripts/soak) runs the same with several times the traffic.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from archiver.hosts import azurite as emulator
from tests.conftest import fresh_settings, serving
from tests.reliability.figures import FIGURES
from tests.sim.test_simulation import simulate, verify

pytestmark = pytest.mark.process

SOAK = os.environ.get("ARCHIVER_SOAK") == "1"
THREADS, MESSAGES = (40, 300) if SOAK else (12, 150)
# The soak's runs hold seven times the events: give each command as much more time.
TIMEOUT = 2400 if SOAK else 300


@pytest.mark.parametrize("processes", [1, 2])
def test_ten_thousand_hostile_events_land_exactly_on_one_or_two_processes(
    own_azurite: emulator.Endpoints, tmp_path, processes: int
):
    settings = fresh_settings(own_azurite.connection_string)
    truth = tmp_path / "truth.json"
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(serving(settings, tmp_path / f"serve-{n}.log"))
            for n in range(processes)
        ]
        mirror = ["--mirror", f"{urls[1]}/api/events"] if processes == 2 else []
        summary = simulate(
            settings,
            urls[0],
            truth,
            "--seed",
            str(20261121 + processes),
            "--threads",
            str(THREADS),
            "--messages",
            str(MESSAGES),
            "--participants",
            "2-8",
            "--flavour",
            "per-user",
            "--redelivery",
            "0.3",
            "--shuffle-window",
            "200",
            "--concurrency",
            "8",
            "--max-events",
            "50",
            "--no-progress",
            *mirror,
            timeout=TIMEOUT,
        )
    code, findings = verify(settings, tmp_path, "--truth", str(truth), "--exact", timeout=TIMEOUT)

    assert summary["events"] >= 10_000
    assert summary["deadLettered"] == 0
    assert summary["delivered"] == summary["deliveries"]
    if processes == 2:
        assert summary["mirror"]["deadLettered"] == 0
    assert (code, findings["ok"]) == (0, True), findings
    FIGURES.load(
        f"per-user, 30% redelivered, shuffled, 8 senders, {processes} process(es)",
        events=summary["deliveries"] * processes,
        requests=summary["requests"] * processes,
        seconds=summary["seconds"],
        processes=processes,
        lost=0,
    )
