"""`archiver audit` shows a minute of refusals as one readable line (or CSV row): how many,
from whom, between when, with which statuses and on which routes; the reads around them
as before."""

from __future__ import annotations

import csv
import io
import json

import pytest

from archiver.access.refusals import Refusals
from archiver.core.governance.principals import Principal
from archiver.core.http import HttpRequest
from archiver.core.settings import Settings
from archiver.governance.trail import AuditTrail
from archiver.storage.azure import AzureStorage
from tests.builders import THREAD
from tests.conftest import run_archiver

EVE = Principal(kind="entra", object_id="0b7c-eve", name="Eve")


async def audited(settings: Settings) -> None:
    """A read, then a thousand anonymous 401s and Eve's two 403s, stored at shutdown."""
    storage = AzureStorage.from_settings(settings)
    trail = AuditTrail(storage)
    refusals = Refusals(trail)
    try:
        await trail.record("read.thread", EVE, outcome="allowed", target={"threadId": THREAD},
                           status=200, client_ip="198.51.100.4")  # fmt: skip
        for n in range(1000):
            route = "events" if n % 4 == 0 else "read.thread"
            refusals.note(
                HttpRequest("GET", client_ip="203.0.113.7"), route=route, status=401, principal=None
            )
        for _ in range(2):
            refusals.note(
                HttpRequest("PUT", client_ip="198.51.100.4"), route="hold.add", status=403,
                principal=EVE,
            )  # fmt: skip
        await refusals.close()
    finally:
        await storage.close()


def audit(settings: Settings, *arguments: str) -> str:
    done = run_archiver(settings, "audit", *arguments, "--settings", "/nonexistent.json")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.process
async def test_audit_lists_a_minute_of_refusals_as_one_readable_line(settings: Settings):
    await audited(settings)

    text = audit(settings, "--format", "text").splitlines()
    table = list(csv.reader(io.StringIO(audit(settings, "--format", "csv"))))
    anonymous = audit(settings, "--principal", "203.0.113.7", "--format", "jsonl").splitlines()

    read, flood, eve = text
    assert read.endswith(f"  read.thread  allowed 200  Eve  {THREAD}")
    assert "  refusals  1000 refused from 203.0.113.7, " in flood
    assert flood.endswith(": 401 (1000); events (250), read.thread (750)")
    assert "  refusals  2 refused to Eve (entra) at 198.51.100.4, " in eve
    assert eve.endswith(": 403 (2); hold.add (2)")
    header, *rows = table
    assert header[-3:] == ["count", "statuses", "routes"]
    assert [(r[1], r[4], r[-3], r[-2]) for r in rows] == [
        ("read.thread", "Eve", "", ""),
        ("refusals", "anonymous", "1000", "401 (1000)"),
        ("refusals", "Eve", "2", "403 (2)"),
    ]
    assert [json.loads(line)["details"]["count"] for line in anonymous] == [1000]
