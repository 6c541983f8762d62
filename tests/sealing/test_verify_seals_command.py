"""`archiver verify --seals` over many threads: checked at once, it prints what checking
one at a time prints; its JSON is the report; it says where to resume, and `--since`
resumes there."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from archiver.core.evidence.signatures import PemSigner
from archiver.core.settings import Settings
from archiver.hosts import azurite as emulator
from archiver.sealing.sealer import Sealer
from archiver.sim.conversations import Shape
from archiver.storage.azure import AzureStorage
from tests.chats import archive, chat
from tests.conftest import archiver_command, fresh_settings, run_archiver, storage_environment
from tests.faultproxy import Fault, FaultProxy, Faults, running
from tests.sealing.test_sealcheck import KEY, sealed, tampered

pytestmark = pytest.mark.process


async def on_azurite(settings: Settings, *, tamper: bool) -> list[str]:
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        if tamper:
            return await tampered(storage, settings)
        return await sealed(storage)
    finally:
        await storage.close()


def public_key(tmp_path: Path) -> str:
    path = tmp_path / "public.pem"
    path.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return str(path)


def verify(settings: Settings, tmp_path: Path, *arguments: str):
    return run_archiver(
        settings, "verify", "--seals", "--public-key", public_key(tmp_path), *arguments
    )


async def test_verify_seals_at_once_prints_what_checking_one_thread_at_a_time_prints(
    settings: Settings, tmp_path: Path
):
    threads = await on_azurite(settings, tamper=True)

    one_at_a_time = verify(settings, tmp_path, "--concurrency", "1")
    at_once = verify(settings, tmp_path, "--concurrency", "8")

    assert one_at_a_time.returncode == at_once.returncode == 1, at_once.stderr
    assert _untimed(at_once.stdout) == _untimed(one_at_a_time.stdout)
    lines = at_once.stdout.splitlines()
    assert (
        sum(line.startswith(("modified: ", "missing: ", "seal missing: ")) for line in lines) == 3
    )
    assert lines[-2].startswith("6 threads, 5 seals, ")
    assert (
        lines[-1]
        == f"cursor: checked up to {threads[-1]}; go on with --since {shlex.quote(threads[-1])}"
    )


async def test_verify_seals_json_is_the_report_and_since_checks_only_the_threads_after_it(
    settings: Settings, tmp_path: Path
):
    threads = await on_azurite(settings, tamper=True)

    whole = verify(settings, tmp_path, "--json")
    rest = verify(settings, tmp_path, "--json", "--since", threads[2])
    none_left = verify(settings, tmp_path, "--json", "--since", threads[-1])

    report = json.loads(whole.stdout)
    assert (report["threads"], report["altered"], report["cursor"]) == (6, 3, threads[-1])
    assert (report["trusted"], report["complete"]) == (True, True)
    after = json.loads(rest.stdout)
    assert rest.returncode == 1
    assert after["threads"] == 3
    assert {f["thread"] for f in after["findings"]} == {threads[3]}
    assert after["findings"] == [f for f in report["findings"] if f["thread"] in threads[3:]]
    assert none_left.returncode == 0
    assert json.loads(none_left.stdout)["threads"] == 0


async def test_a_verify_stopped_by_a_storage_outage_says_where_to_resume(
    azurite: emulator.Endpoints, tmp_path: Path
):
    with running(FaultProxy(azurite)) as proxy:
        settings = fresh_settings(proxy.connection_string)
        threads = await on_azurite(settings, tamper=False)
        proxy.inject(Faults(shares={Fault.ERROR_503: 1.0}))

        stopped = verify(settings, tmp_path, "--since", threads[1])

    assert stopped.returncode == 4
    assert (
        f"stopped: checked up to {threads[1]}; go on with --since {shlex.quote(threads[1])}"
        in stopped.stderr
    )


async def test_ctrl_c_stops_verify_with_what_it_found_and_the_cursor_it_resumes_from(
    settings: Settings, tmp_path: Path
):
    storage = AzureStorage.from_settings(settings)
    try:
        await storage.prepare()
        await archive(storage, chat(5, Shape(threads=30, messages=2, delete_threads=0)).events)
        assert len([r async for r in Sealer(storage, PemSigner(KEY)).seal_all()]) == 30
    finally:
        await storage.close()
    returncode, stdout, drawn = _interrupted_once_drawn(settings, tmp_path)

    assert returncode == 130
    summary, cursor = stdout.splitlines()[-2:]
    done = int(summary.split(" threads, ")[0])
    assert 1 <= done < 30
    assert summary.endswith("nothing altered before it stopped")
    since = cursor.split("--since ")[1]
    assert f"stopped: {cursor.removeprefix('cursor: ')}" in drawn
    resumed = verify(settings, tmp_path, "--json", "--since", shlex.split(since)[0])
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["threads"] == 30 - done


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("verify", "--since", "19:a@thread.v2"), "--since and --concurrency go with --seals"),
        (("verify", "--seals", "--concurrency", "0"), "--concurrency must be at least 1, not 0"),
        (("verify", "--seals", "--since", ""), "--since: --since is empty"),
    ],
)
def test_a_cursor_or_concurrency_verify_cannot_use_is_refused(
    settings: Settings, arguments: tuple[str, ...], message: str
):
    refused = run_archiver(settings, *arguments)

    assert refused.returncode == 2
    assert message in refused.stderr


def _interrupted_once_drawn(settings: Settings, tmp_path: Path) -> tuple[int, str, str]:
    """verify --seals on a terminal, sent SIGINT once its progress bar is first drawn:
    its exit code, stdout and what it drew on the terminal."""
    terminal, stderr = pty.openpty()  # the progress bar is drawn on a terminal only
    command = archiver_command(
        "verify", "--seals", "--concurrency", "1", "--public-key", public_key(tmp_path)
    )
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, env=storage_environment(settings)
    ) as running:
        os.close(stderr)
        drawn = b""
        while b"/30 " not in drawn:
            drawn += os.read(terminal, 4096)
        running.send_signal(signal.SIGINT)
        stdout, _ = running.communicate(timeout=120)
    drawn += _rest(terminal)
    return running.returncode, stdout.decode(), drawn.decode()


def _rest(terminal: int) -> bytes:
    """What is left to read of a terminal whose other end closed."""
    rest = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(terminal, 4096):
            rest += chunk
    os.close(terminal)
    return rest


def _untimed(output: str) -> str:
    return re.sub(r" in \d+\.\d s:", " in _ s:", output)
