"""`simulate` → `verify` against `python -m archiver serve` and a real Azurite, as users run it.

Everything runs as separate processes through the command line: the local host,
the simulator (playing ACS + Event Grid) and the verifier.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from archiver.hosts import azurite as emulator
from archiver.sim.truth import GroundTruth
from tests.conftest import (
    PROJECT,
    archiver_command,
    fresh_settings,
    printed_json,
    serving,
    storage_environment,
)

pytestmark = pytest.mark.process


def run(settings, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        archiver_command(*arguments),
        cwd=PROJECT,
        env=storage_environment(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def simulate(settings, url: str, truth: Path, *options: str, timeout: float = 300) -> dict:
    done = run(
        settings,
        "simulate",
        "--url",
        f"{url}/api/events",
        "--truth",
        str(truth),
        "--json",
        *options,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict = printed_json(done)
    return summary


def verify(settings, tmp_path: Path, *options: str, timeout: float = 300) -> tuple[int, dict]:
    done = run(
        settings,
        "verify",
        "--settings",
        str(tmp_path / "absent.json"),
        "--json",
        *options,
        timeout=timeout,
    )
    return done.returncode, printed_json(done)


def test_a_default_simulation_verifies_exactly(served, tmp_path):
    url, settings = served
    truth_file = tmp_path / "truth.json"

    summary = simulate(settings, url, truth_file, "--seed", "11", "--handshake")
    code, findings = verify(settings, tmp_path, "--truth", str(truth_file), "--exact")

    truth = GroundTruth.read(truth_file)
    assert summary["handshake"] == "passed"
    assert summary["deadLettered"] == 0
    assert summary["delivered"] == summary["events"] > 0
    assert (code, findings["ok"]) == (0, True), findings
    assert findings["checked"] == {
        "versions": len(truth.versions),
        "changes": len(truth.changes),
        "rows": len(truth.latest),
        "thread rows": len(truth.threads),
    }


def test_a_hostile_simulation_verifies_exactly(served, tmp_path):
    # Per-user fan-out, CloudEvents, 30% redeliveries, shuffled, 8 concurrent senders.
    url, settings = served
    truth_file = tmp_path / "truth.json"

    summary = simulate(
        settings,
        url,
        truth_file,
        *("--seed", "20261121", "--handshake", "--flavour", "per-user"),
        *("--schema", "cloudevents", "--redelivery", "0.3", "--shuffle-window", "200"),
        *("--concurrency", "8", "--threads", "4", "--messages", "40", "--participants", "3-9"),
    )
    code, findings = verify(settings, tmp_path, "--truth", str(truth_file), "--exact")

    assert summary["deliveries"] > summary["events"] * 1.2, "redeliveries were sent"
    assert summary["events"] > 2 * len(GroundTruth.read(truth_file).versions), "fan-out"
    assert set(summary["statuses"]) == {"200"}
    assert (code, findings["ok"]) == (0, True), findings


def test_both_flavours_at_once_collapse_to_one_blob_per_version(served, tmp_path):
    url, settings = served
    truth_file = tmp_path / "truth.json"

    simulate(
        settings,
        url,
        truth_file,
        *("--seed", "5", "--flavour", "both", "--max-events", "100", "--participants", "20-40"),
    )
    code, findings = verify(settings, tmp_path, "--truth", str(truth_file), "--exact")

    assert (code, findings["ok"]) == (0, True), findings


def test_verify_without_truth_checks_consistency(served, tmp_path):
    url, settings = served
    simulate(settings, url, tmp_path / "truth.json", "--seed", "3", "--redelivery", "0.5")

    code, findings = verify(settings, tmp_path)

    assert (code, findings["ok"]) == (0, True), findings
    assert findings["checked"]["rows"] > 0


def test_events_a_webhook_refuses_are_dead_lettered_and_fail_the_run(azurite, tmp_path):
    settings = fresh_settings(azurite.connection_string)
    letters = tmp_path / "dead-letter.jsonl"
    with serving(settings, tmp_path / "serve.log", "--function-key", "s3cret") as url:
        refused = run(
            settings,
            *("simulate", "--url", f"{url}/api/events", "--seed", "2", "--json"),
            *("--truth", str(tmp_path / "truth.json"), "--dead-letter", str(letters)),
        )
        accepted = run(
            settings,
            *("simulate", "--url", f"{url}/api/events", "--seed", "2", "--json"),
            *("--truth", str(tmp_path / "truth.json"), "--function-key", "s3cret"),
        )

    summary = printed_json(refused)
    dead = [json.loads(line) for line in letters.read_text().splitlines()]
    assert refused.returncode == 1
    assert summary["requests"] == summary["batches"], "401 is final: no retries"
    assert summary["deadLettered"] == summary["events"] == len(dead)
    assert {(d["deadLetterReason"], d["lastDeliveryOutcome"]) for d in dead} == {
        ("DeliveryFailed", "Unauthorized")
    }
    assert accepted.returncode == 0, accepted.stdout


def test_an_unreachable_webhook_is_retried_then_dead_lettered(azurite, tmp_path):
    settings = fresh_settings(azurite.connection_string)
    [port] = emulator.free_ports(1)

    done = run(
        settings,
        *("simulate", "--url", f"http://127.0.0.1:{port}/api/events", "--json"),
        *("--seed", "4", "--threads", "1", "--messages", "3", "--max-attempts", "3"),
        *("--truth", str(tmp_path / "truth.json")),
    )

    summary = printed_json(done)
    assert done.returncode == 1
    assert summary["statuses"] == {"connection error": summary["batches"] * 3}
    assert summary["deadLettered"] == summary["events"]


def test_the_same_seed_gives_the_same_ground_truth(tmp_path, azurite):
    settings = fresh_settings(azurite.connection_string)
    [port] = emulator.free_ports(1)
    texts = []
    for name in ("first.json", "second.json"):
        run(
            settings,
            *("simulate", "--url", f"http://127.0.0.1:{port}/api/events", "--seed", "99"),
            *("--max-attempts", "1", "--truth", str(tmp_path / name)),
        )
        texts.append((tmp_path / name).read_text())

    assert texts[0] == texts[1]
    assert len(GroundTruth.read(tmp_path / "first.json").versions) > 0


def test_the_demo_serves_simulates_and_ends_with_verify_passing(azurite, tmp_path):
    settings = fresh_settings(azurite.connection_string)
    [port] = emulator.free_ports(1)

    done = run(
        settings,
        *("demo", "--no-browser", "--port", str(port), "--rate", "0", "--seed", "1"),
        *("--threads", "2", "--messages", "5", "--truth", str(tmp_path / "truth.json")),
        *("--settings", str(tmp_path / "absent.json")),
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"http://127.0.0.1:{port}/viewer" in done.stdout
    assert "OK: the archive is complete and correct" in done.stdout


def test_a_mirror_receives_the_same_stream(served, azurite, tmp_path):
    url, settings = served
    other = fresh_settings(azurite.connection_string)
    truth_file = tmp_path / "truth.json"
    with serving(other, tmp_path / "mirror.log") as mirror:
        summary = simulate(
            settings,
            url,
            truth_file,
            *("--seed", "31", "--redelivery", "0.2", "--mirror", f"{mirror}/api/events"),
        )

    assert summary["mirror"]["requests"] == summary["requests"]
    for archive in (settings, other):
        code, findings = verify(archive, tmp_path, "--truth", str(truth_file), "--exact")
        assert (code, findings["ok"]) == (0, True), findings


def test_the_demo_can_stay_serving_until_stopped(azurite, tmp_path):
    settings = fresh_settings(azurite.connection_string)
    [port] = emulator.free_ports(1)
    process = subprocess.Popen(
        archiver_command(
            *("demo", "--no-browser", "--stay", "--port", str(port), "--rate", "0"),
            *("--threads", "1", "--messages", "3", "--truth", str(tmp_path / "truth.json")),
            *("--settings", str(tmp_path / "absent.json")),
        ),
        cwd=PROJECT,
        env=storage_environment(settings) | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Still serving"):
            break

    process.terminate()
    exit_code = process.wait(timeout=10)
    process.stdout.close()
    assert exit_code == 0, "".join(lines)
    assert any(line.startswith("OK:") for line in lines)


def test_a_command_that_prints_no_json_fails_the_spec_with_its_stderr():
    done = subprocess.CompletedProcess(
        ["archiver", "verify", "--json"], 1, "", "archiver: ARCHIVE_STORAGE is not set\n"
    )

    with pytest.raises(AssertionError) as failed:
        printed_json(done)

    assert "exited 1 and printed no JSON" in str(failed.value)
    assert "archiver: ARCHIVE_STORAGE is not set" in str(failed.value)
