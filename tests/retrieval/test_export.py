"""Exporting transcripts: what each format holds, which messages a window keeps, and
that exports stream and never leave a partial file or blob behind."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.bootstrap import build
from archiver.core.errors import AlreadyStored, DamagedArchive, UnknownThread
from archiver.retrieval.export import Export, blob_name, to_blob, to_file, transcript
from archiver.retrieval.formats import LATEST_COLUMNS, VERSION_COLUMNS, Format
from archiver.sim.conversations import Said, Shape
from archiver.storage.ports import Storage, Window
from tests.builders import THREAD, message_event
from tests.chats import Chat, archive, chat, latest_entries, version_entries
from tests.conftest import printed_json, run_archiver
from tests.instrumented import Instrumented

SHAPE = Shape(threads=3, messages=25, participants=(2, 5))
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def conversation() -> Chat:
    return chat(20261202, SHAPE)


async def exported(storage: Storage, export: Export) -> bytes:
    chunks = await transcript(storage, export, clock=lambda: NOW)
    return b"".join([chunk async for chunk in chunks])


async def test_a_json_transcript_holds_each_thread_its_people_and_latest_messages(
    storage: Storage, conversation: Chat
):
    await archive(storage, conversation.events)

    document = json.loads(await exported(storage, Export(threads=conversation.threads)))

    assert {k: document[k] for k in ("format", "exportedAt", "source", "versions")} == {
        "format": "acs-chat-archiver/transcript@1",
        "exportedAt": "2026-12-02T07:00:00.000Z",
        "source": "archive",
        "versions": "latest",
    }
    assert [t["threadId"] for t in document["threads"]] == list(conversation.threads)
    for thread, expected in zip(document["threads"], conversation.truth.thread_rows, strict=True):
        assert thread["messages"] == latest_entries(conversation, thread["threadId"])
        assert thread["topic"] == expected.topic
        assert thread["createdBy"] == expected.created_by
        assert [p["id"] for p in thread["participants"]] == list(expected.participants)
        assert [p["id"] for p in thread["formerParticipants"]] == list(expected.former_participants)


async def test_all_versions_as_json_lines_hold_every_version_once_in_order(
    storage: Storage, conversation: Chat
):
    await archive(storage, conversation.events)

    text = await exported(
        storage, Export(threads=conversation.threads, all_versions=True, form=Format.JSONL)
    )

    lines = [json.loads(line) for line in text.decode().splitlines()]
    assert lines == [e for t in conversation.threads for e in version_entries(conversation, t)]
    assert {line["action"] for line in lines} == {"received", "edited", "deleted"}


async def test_every_thread_is_exported_with_all(storage: Storage, conversation: Chat):
    await archive(storage, conversation.events)

    document = json.loads(await exported(storage, Export()))

    assert sorted(t["threadId"] for t in document["threads"]) == sorted(conversation.threads)


async def test_a_window_keeps_the_messages_composed_in_it(storage: Storage, conversation: Chat):
    await archive(storage, conversation.events)
    said = [h for h in conversation.happenings if isinstance(h, Said)]
    since = said[len(said) // 3].compose_time
    until = said[2 * len(said) // 3].compose_time

    for all_versions in (False, True):
        text = await exported(
            storage,
            Export(window=Window(since=since, until=until), all_versions=all_versions),
        )
        document = json.loads(text)
        composed = {
            datetime.fromisoformat(m["composeTime"])
            for t in document["threads"]
            for m in t["messages"]
        }
        expected = {
            e["messageId"]
            for t in conversation.threads
            for e in (version_entries if all_versions else latest_entries)(conversation, t)
            if since <= datetime.fromisoformat(e["composeTime"]) < until
        }
        assert composed
        assert all(since <= c < until for c in composed)
        assert {m["messageId"] for t in document["threads"] for m in t["messages"]} == expected
        assert (document["since"], document["until"]) == (
            since.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            until.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )


async def test_csv_is_rfc_4180_with_a_bom_and_the_columns_of_its_mode(
    storage: Storage, conversation: Chat
):
    await archive(storage, conversation.events)

    for all_versions, columns in ((False, LATEST_COLUMNS), (True, VERSION_COLUMNS)):
        raw = await exported(
            storage,
            Export(threads=conversation.threads, all_versions=all_versions, form=Format.CSV),
        )
        assert raw.startswith(b"\xef\xbb\xbf")
        assert raw.endswith(b"\r\n")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert tuple(rows[0]) == columns
        expected = [
            e
            for t in conversation.threads
            for e in (version_entries if all_versions else latest_entries)(conversation, t)
        ]
        assert [row[columns.index("messageId")] for row in rows[1:]] == [
            e["messageId"] for e in expected
        ]
        bodies = [row[columns.index("body")] for row in rows[1:]]
        assert bodies == [_guarded(e["body"]) for e in expected]


async def test_cells_a_spreadsheet_would_run_are_defused_and_the_rest_kept_exactly(
    storage: Storage,
):
    bodies = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "＝1", 'a,b\n"c"']
    for n, text in enumerate(bodies):
        await archive(storage, (message_event(message_id=str(1613694358000 + n), body=text),))

    raw = await exported(storage, Export(threads=(THREAD,), form=Format.CSV, bom=False))

    rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
    column = LATEST_COLUMNS.index("body")
    assert [row[column] for row in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tTab",
        "'＝1",
        'a,b\n"c"',
    ]
    assert raw.count(b"\r\n") == len(bodies) + 1  # the newline inside a body stays LF


async def test_a_thread_the_archive_does_not_hold_is_refused_before_any_byte(storage: Storage):
    with pytest.raises(UnknownThread, match=re.escape("19:nothing@thread.v2")):
        await transcript(storage, Export(threads=("19:nothing@thread.v2",)))


async def test_an_export_reads_the_table_a_page_at_a_time_as_it_writes(storage: Storage):
    for n in range(2500):
        await storage.messages.insert(_row(n))
    counted = Instrumented(storage)

    chunks = await transcript(counted, Export(threads=(THREAD,), form=Format.JSONL))
    first = await anext(chunks)

    assert first
    assert counted.calls["page"] == 2  # the existence check, then the first page
    rest = [chunk async for chunk in chunks]
    assert counted.calls["page"] == 4
    assert b"".join([first, *rest]).count(b"\n") == 2500


async def test_a_failed_export_leaves_no_file_behind(storage: Storage, tmp_path: Path):
    await archive(storage, (message_event(message_id="1613694358001"),))
    await storage.blobs.create(
        f"messages/{THREAD}/1613694358001/00000001613694358002-edited.json", b"not json"
    )
    target = tmp_path / "out.jsonl"

    chunks = await transcript(storage, Export(threads=(THREAD,), all_versions=True))
    with pytest.raises(DamagedArchive):
        await to_file(chunks, target)

    assert os.listdir(tmp_path) == []


async def test_a_transcript_blob_is_written_once_under_transcripts(storage: Storage):
    await archive(storage, (message_event(),))
    name = blob_name("cases/4471.json", Format.JSON, at=NOW)

    await to_blob(storage, await transcript(storage, Export(threads=(THREAD,))), name, Format.JSON)
    with pytest.raises(AlreadyStored):
        await to_blob(
            storage, await transcript(storage, Export(threads=(THREAD,))), name, Format.JSON
        )

    assert name == "transcripts/cases/4471.json"
    document = json.loads(await storage.blobs.read(name))
    assert [m["messageId"] for m in document["threads"][0]["messages"]] == ["1613694358927"]


@pytest.mark.parametrize("name", ["../x.json", "a/../../b", "a b.csv", "/abs.csv", "a//b"])
def test_a_blob_name_outside_transcripts_or_unsafe_is_refused(name: str):
    from archiver.core.errors import InvalidQuery

    with pytest.raises(InvalidQuery, match="not a safe blob name"):
        blob_name(name, Format.CSV, at=NOW)


def test_without_a_name_the_blob_is_dated():
    assert blob_name(None, Format.CSV, at=NOW) == "transcripts/exports/20261202T070000Z.csv"


def _guarded(body: str | None) -> str:
    if body is None:
        return ""
    return "'" + body if body.startswith(tuple("=+-@\t\r＝＋－＠")) else body


def _row(n: int):
    from archiver.core.layout import LatestRow
    from archiver.core.records import Action

    message_id = str(1613694358000 + n)
    return LatestRow(
        thread_key=THREAD,
        message_key=message_id,
        thread_id=THREAD,
        message_id=message_id,
        version=int(message_id),
        action=Action.RECEIVED,
        sender_id="8:acs:x",
        sender_kind="communicationUser",
        sender_display_name="X",
        type="text",
        body=f"message {n} " + "x" * 100,
        metadata=None,
        compose_time=datetime(2021, 2, 19, tzinfo=UTC) + timedelta(seconds=n),
        edit_time=None,
        delete_time=None,
        blob_name=f"messages/{THREAD}/{message_id}/{int(message_id):020d}-received.json",
    )


def _run(settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_archiver(settings, "export", "--settings", "absent.json", *arguments)


@pytest.mark.process
async def test_the_export_command_writes_to_stdout_a_file_or_a_blob(settings, tmp_path: Path):
    services = build(settings)
    try:
        await archive(services.storage, (message_event(body="from the command line"),))
    finally:
        await services.close()

    printed = _run(settings, "--thread", THREAD, "--format", "jsonl")
    filed = _run(settings, "--all", "--format", "csv", "--output", str(tmp_path / "all.csv"))
    stored = _run(settings, "--thread", THREAD, "--blob", "cli/one.json")
    again = _run(settings, "--thread", THREAD, "--blob", "cli/one.json")

    assert printed.returncode == 0, printed.stderr
    assert printed_json(printed)["body"] == "from the command line"
    assert filed.returncode == 0, filed.stderr
    assert "from the command line" in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    assert stored.returncode == 0, stored.stderr
    assert "Wrote transcripts/cli/one.json" in stored.stderr
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "archiver: transcripts/cli/one.json already exists; choose another name"
    ]


@pytest.mark.process
@pytest.mark.parametrize(
    ("arguments", "code", "says"),
    [
        (("--thread", "19:nothing@thread.v2"), 3, "holds nothing of thread '19:nothing@thread.v2'"),
        (("--thread", THREAD, "--blob", "../up.json"), 2, "is not a safe blob name"),
        (("--all", "--since", "2026-12-01", "--until", "2026-11-01"), 2, "--since must be"),
        (("--all", "--since", "last week"), 2, "must be an ISO 8601"),
        (("--thread", "19:" + "x" * 300), 2, "threadId is too long"),
    ],
)
def test_the_export_command_says_what_is_wrong_in_one_line(settings, arguments, code, says):
    done = _run(settings, *arguments)

    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
