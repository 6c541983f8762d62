"""Process crash: the archiver killed (SIGKILL) at random moments mid-batch, and restarted.

Batches in flight die with the process: between a blob and its row, between two
messages of one batch, before the answer. Event Grid (the simulator) sees a broken
connection and redelivers, and the restarted process must finish the job: every
version stored once, every latest row right. `--redelivery 0` means a batch is sent
again only when it failed, so a false success would show as a missing version.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from archiver.hosts import azurite as emulator
from tests.conftest import (
    PROJECT,
    archiver_command,
    fresh_settings,
    printed_json,
    storage_environment,
    wait_until_healthy,
)
from tests.reliability.figures import FIGURES
from tests.sim.test_simulation import verify

pytestmark = pytest.mark.process

SOAK = os.environ.get("ARCHIVER_SOAK") == "1"
KILLS = 40 if SOAK else 8


def start_serving(settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            archiver_command(
                "serve", "--port", str(port), "--settings", str(log.parent / "absent.json")
            ),
            cwd=PROJECT,
            env=storage_environment(settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_until_healthy(f"http://127.0.0.1:{port}", process)
    return process


def test_an_archiver_killed_mid_batch_and_restarted_loses_nothing(
    own_azurite: emulator.Endpoints, tmp_path: Path
):
    settings = fresh_settings(own_azurite.connection_string)
    [port] = emulator.free_ports(1)
    log = tmp_path / "serve.log"
    truth = tmp_path / "truth.json"
    server = start_serving(settings, port, log)
    simulation = subprocess.Popen(
        archiver_command(
            "simulate",
            "--url",
            f"http://127.0.0.1:{port}/api/events",
            "--truth",
            str(truth),
            "--seed",
            "4711",
            "--threads",
            str(KILLS),
            "--messages",
            "60",
            "--flavour",
            "both",
            "--max-events",
            "40",
            "--concurrency",
            "8",
            "--rate",
            "600",
            "--max-attempts",
            "60",
            "--json",
            "--no-progress",
        ),
        cwd=PROJECT,
        env=storage_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    chance = random.Random(7)
    kills = 0
    try:
        while kills < KILLS and simulation.poll() is None:
            time.sleep(chance.uniform(0.2, 0.9))
            server.kill()
            server.wait()
            kills += 1
            server = start_serving(settings, port, log)
        output, errors = simulation.communicate(timeout=2400 if SOAK else 600)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if simulation.poll() is None:
            simulation.kill()
            simulation.wait()
    summary = printed_json(
        subprocess.CompletedProcess(simulation.args, simulation.returncode, output, errors)
    )
    code, findings = verify(settings, tmp_path, "--truth", str(truth), "--exact")

    assert kills == KILLS, "the simulation ended before every planned kill"
    assert simulation.returncode == 0, errors
    assert summary["deadLettered"] == 0
    assert summary["statuses"].get("connection error", 0) > 0, summary["statuses"]
    assert (code, findings["ok"]) == (0, True), findings
    FIGURES.fault("archiver-killed", kills)
    FIGURES.load(
        "both flavours, archiver killed and restarted mid-run",
        events=summary["deliveries"],
        requests=summary["requests"],
        seconds=summary["seconds"],
        processes=1,
        lost=0,
    )
