"""`python -m archiver demo`: the whole local stack in one command, ending with verify.

Starts Azurite (when the settings use development storage and none is running), the
local host with the live viewer, opens the viewer, runs a short paced simulation,
and verifies the archive against its ground truth. Exit code 0 means verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import webbrowser
from typing import TextIO

from aiohttp import web

from archiver.bootstrap import build
from archiver.core.settings import DEVELOPMENT_STORAGE, Settings
from archiver.hosts import azurite as emulator
from archiver.hosts.devhost import create_app
from archiver.hosts.feed import Feed
from archiver.sim.judge import verify
from archiver.sim.simulator import Simulation, describe, simulate
from archiver.verification.findings import report


@dataclasses.dataclass(frozen=True, kw_only=True)
class Demo:
    """Where to serve, and what to simulate."""

    host: str = "127.0.0.1"
    port: int = 7071
    browser: bool = True
    stay: bool = False  # keep serving after verify, until Ctrl-C
    simulation: Simulation


def run_demo(demo: Demo, settings: Settings, *, out: TextIO) -> int:
    """Run the demo; return 0 when the archive verified."""
    azurite = None
    project = emulator.project_folder()
    if settings.storage.connection_string == DEVELOPMENT_STORAGE:
        azurite = emulator.start_local(project)
        if azurite is not None:
            print(f"Started Azurite (data in {project / '.azurite'})", file=out)
    try:
        return asyncio.run(_demo(demo, settings, out))
    finally:
        if azurite is not None:
            emulator.stop(azurite)


async def _demo(demo: Demo, settings: Settings, out: TextIO) -> int:
    feed = Feed()
    services = build(settings, observer=feed.observe)
    runner = web.AppRunner(create_app(services, feed=feed), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, demo.host, demo.port).start()
        base = f"http://{demo.host}:{demo.port}"
        print(f"Local host: {base}/api/events   Live viewer: {base}/viewer", file=out)
        if demo.browser and webbrowser.open(f"{base}/viewer"):
            await asyncio.sleep(2)  # let the page connect before the first event
        simulation = dataclasses.replace(demo.simulation, url=f"{base}/api/events")
        outcome = await simulate(simulation)
        describe(outcome, out)
        print("Verifying the archive against the ground truth...", file=out)
        findings = await verify(services.storage, outcome.truth)
        report(findings, out)
        if demo.stay:
            stopped = _interruption()
            print(f"Still serving; watch {base}/viewer. Press Ctrl-C to stop.", file=out)
            await stopped.wait()
        return 0 if outcome.ok and findings.ok else 1
    finally:
        await runner.cleanup()
        await services.close()


def _interruption() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM (handlers installed before anyone is told)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    return stop
