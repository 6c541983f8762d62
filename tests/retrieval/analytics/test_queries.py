"""The Analytics page's export command and DuckDB queries, run as the page shows them,
over a hand-written chat: each query answers what the chat is known to say."""

from __future__ import annotations

import re
import statistics
import subprocess
from pathlib import Path

import duckdb
import pytest

from archiver.bootstrap import build
from archiver.core.settings import Settings
from tests.builders import ALICE, BOB, TEAMS_USER
from tests.chats import archive
from tests.conftest import PROJECT, archiver_command, storage_environment
from tests.retrieval.analytics.chats import TALKS, events
from tests.shell import shell_words

pytestmark = pytest.mark.process
PAGE = (PROJECT / "docs" / "analytics.md").read_text()
QUERIES = re.findall(r"```sql\n(.*?)```", PAGE, re.S)
KINDS = {ALICE: "communicationUser", BOB: "communicationUser", TEAMS_USER: "microsoftTeamsUser"}


@pytest.fixture
async def exported(settings: Settings, tmp_path: Path) -> Path:
    """The hand-written chat archived, then exported by the page's first command, run in
    an empty folder as a reader would."""
    services = build(settings)
    try:
        await archive(services.storage, tuple(events()))
    finally:
        await services.close()
    run_shown_export(settings, tmp_path)
    return tmp_path


def run_shown_export(settings: Settings, folder: Path) -> None:
    [shown] = re.findall(r"^archiver export .*--output analytics$", PAGE, re.M)
    done = subprocess.run(
        archiver_command(*shell_words(shown)[1:]),
        cwd=folder,
        env=storage_environment(settings) | {"PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def answer(folder: Path, query: str) -> list[tuple[object, ...]]:
    with duckdb.connect() as connection:
        connection.execute("SET file_search_path = ?", [str(folder)])
        return connection.sql(query).fetchall()


def test_the_page_shows_two_queries():
    assert len(QUERIES) == 2


def test_the_median_first_response_per_day_is_the_known_one(exported: Path):
    days = sorted({talk.start.date() for talk in TALKS})
    expected = []
    for day in days:
        begun = [talk for talk in TALKS if talk.start.date() == day]
        answered = [t.first_response for t in begun if t.first_response is not None]
        median = statistics.median(answered) if answered else None
        expected.append((day, len(begun), len(answered), median))

    assert answer(exported, QUERIES[0]) == expected


def test_the_messages_per_kind_of_sender_are_the_known_ones(exported: Path):
    expected = []
    for kind in sorted(set(KINDS.values())):
        lines = [
            (line, reply)
            for talk in TALKS
            for line, reply in zip(talk.lines, talk.replies, strict=True)
            if KINDS[line.sender] == kind
        ]
        replies = [reply for _, reply in lines if reply is not None]
        expected.append(
            (
                kind,
                len(lines),
                sum(bool(line.edits) for line, _ in lines),
                sum(line.deleted is not None for line, _ in lines),
                statistics.median(replies) if replies else None,
            )
        )

    assert answer(exported, QUERIES[1]) == expected
