"""The commands for trying the archiver on one machine: simulate and demo.

`simulate` exits 0 when every event was delivered, 1 when any was dead-lettered or
the handshake failed; `demo` exits 0 when the archive it filled verified.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
from pathlib import Path
from typing import Any

from archiver.cli.exits import Exit
from archiver.cli.options import load_settings, positive, settings_option
from archiver.cli.progress import ProgressBar
from archiver.sim.conversations import MAX_PARTICIPANTS, Shape
from archiver.sim.delivery import Policy
from archiver.sim.publication import Flavour, Schema
from archiver.sim.schedule import Batching
from archiver.sim.simulator import DEFAULT_URL, Simulation, describe, simulate


def add_commands(commands: Any) -> None:
    """Register `simulate` and `demo` on the CLI's subparsers."""
    _simulate_parser(commands)
    show = commands.add_parser(
        "demo",
        help="start Azurite, the local host and the viewer, simulate, then verify",
        description="The whole local stack in one command: Azurite (for development "
        "storage), the local host with the live viewer (opened in a browser), a short paced "
        "simulation, and verify. Exits 0 when the archive verified.",
        epilog="example: python -m archiver demo --stay",
    )
    show.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    show.add_argument("--port", type=int, default=7071, help="port to bind (7071)")
    show.add_argument("--no-browser", action="store_true", help="do not open the viewer")
    show.add_argument("--stay", action="store_true", help="keep serving after verify")
    settings_option(show)
    show.add_argument("--seed", type=int, help="random seed (default: a new one)")
    show.add_argument("--threads", type=positive, default=3, help="threads (3)")
    show.add_argument("--messages", type=positive, default=12, help="messages per thread (12)")
    show.add_argument("--rate", type=float, default=15.0, help="events per second (15; 0 = max)")
    show.add_argument(
        "--truth", type=Path, default=Path("demo-ground-truth.json"), help="ground-truth file"
    )
    show.set_defaults(run=_demo)


def _simulate_parser(commands: Any) -> None:
    run = commands.add_parser(
        "simulate",
        help="play ACS + Event Grid: generate chat traffic and deliver it to a webhook",
        description="Generate realistic ACS chat conversations and deliver their events like "
        "Event Grid (batched, shuffled, repeated, retried), write the ground truth, and "
        "print a summary. The same --seed gives the same run.",
        epilog="example: python -m archiver simulate --threads 5 --messages 40 "
        "--flavour per-user --redelivery 0.3 --concurrency 8",
    )
    run.add_argument("--url", default=DEFAULT_URL, help=f"webhook URL ({DEFAULT_URL})")
    run.add_argument("--function-key", help="sent as x-functions-key")
    run.add_argument("--mirror", help="also deliver the same batches to this URL")
    run.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    run.add_argument("--threads", type=positive, default=3, help="threads (3)")
    run.add_argument("--messages", type=positive, default=20, help="new messages per thread (20)")
    run.add_argument(
        "--participants", type=_span, default=(2, 6), help="participants per thread, MIN-MAX (2-6)"
    )
    run.add_argument("--flavour", type=Flavour, choices=list(Flavour), default=Flavour.THREAD)
    run.add_argument("--schema", type=Schema, choices=list(Schema), default=Schema.EVENTGRID)
    run.add_argument("--max-events", type=positive, default=10, help="maxEventsPerBatch (10)")
    run.add_argument(
        "--preferred-kb", type=positive, default=64, help="preferredBatchSizeInKilobytes (64)"
    )
    run.add_argument("--shuffle-window", type=int, default=50, help="reordering distance (50)")
    run.add_argument("--redelivery", type=_share, default=0.0, help="share redelivered (0)")
    run.add_argument("--concurrency", type=positive, default=4, help="parallel senders (4)")
    run.add_argument("--max-attempts", type=positive, default=30, help="attempts per batch (30)")
    run.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    run.add_argument("--rate", type=float, help="events per second (default: as fast as possible)")
    run.add_argument("--handshake", action="store_true", help="validate the subscription first")
    run.add_argument(
        "--truth", type=Path, default=Path("ground-truth.json"), help="(ground-truth.json)"
    )
    run.add_argument("--dead-letter", type=Path, help="write dead-lettered events here (JSONL)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(run=_simulate)


def _simulate(arguments: argparse.Namespace) -> int:
    simulation = Simulation(
        url=arguments.url,
        mirror=arguments.mirror,
        function_key=arguments.function_key,
        seed=_seed(arguments.seed),
        shape=Shape(
            threads=arguments.threads,
            messages=arguments.messages,
            participants=arguments.participants,
        ),
        flavour=arguments.flavour,
        schema=arguments.schema,
        batching=Batching(
            max_events=arguments.max_events,
            preferred_kb=arguments.preferred_kb,
            shuffle_window=arguments.shuffle_window,
            redelivery=arguments.redelivery,
        ),
        policy=Policy(
            concurrency=arguments.concurrency,
            max_attempts=arguments.max_attempts,
            timeout_seconds=arguments.timeout,
            rate=arguments.rate,
        ),
        handshake=arguments.handshake,
        truth_path=arguments.truth,
        dead_letter_path=arguments.dead_letter,
    )
    shown = not arguments.no_progress and not arguments.json
    outcome = asyncio.run(
        simulate(
            simulation,
            progress=(lambda total: ProgressBar(total, label="delivering")) if shown else None,
        )
    )
    if arguments.json:
        print(json.dumps(outcome.to_json(), indent=1))
    else:
        describe(outcome, sys.stdout)
    return Exit.OK if outcome.ok else Exit.PROBLEM


def _demo(arguments: argparse.Namespace) -> int:
    from archiver.sim.demo import Demo, run_demo

    logging.getLogger("archiver").setLevel(logging.WARNING)  # the viewer shows each event
    demo = Demo(
        host=arguments.host,
        port=arguments.port,
        browser=not arguments.no_browser,
        stay=arguments.stay,
        simulation=Simulation(
            seed=_seed(arguments.seed),
            shape=Shape(threads=arguments.threads, messages=arguments.messages),
            batching=Batching(max_events=5, redelivery=0.1, shuffle_window=10),
            policy=Policy(concurrency=2, rate=arguments.rate or None),
            handshake=True,
            truth_path=arguments.truth,
        ),
    )
    return run_demo(demo, load_settings(arguments.settings), out=sys.stdout)


def _seed(given: int | None) -> int:
    return given if given is not None else random.SystemRandom().randrange(10**6)


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _span(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        span = (int(low), int(high or low))
    except ValueError:
        span = (0, 0)
    if not 2 <= span[0] <= span[1] <= MAX_PARTICIPANTS:
        raise argparse.ArgumentTypeError(
            f"must be MIN-MAX with 2 <= MIN <= MAX <= {MAX_PARTICIPANTS}, got {text!r}"
        )
    return span
