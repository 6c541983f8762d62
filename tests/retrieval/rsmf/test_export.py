"""Exporting a thread as RSMF: what the files hold, read back, against what the archive
holds; slicing, windows, evidence, and that a file breaking the rules is never written."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from archiver.bootstrap import build
from archiver.core.errors import AlreadyStored, InvalidExport, InvalidQuery
from archiver.core.fields import format_timestamp
from archiver.core.records import ThreadChange
from archiver.retrieval.readback import every_version
from archiver.retrieval.rsmf.export import rsmf_files, to_blobs, to_files
from archiver.retrieval.rsmf.file import GENERATOR, headers, read_manifest
from archiver.retrieval.rsmf.rules import problems
from archiver.sim.conversations import Changed, Shape
from archiver.storage.ports import Storage, Window
from tests.builders import BOB, THREAD, message_event, thread_event
from tests.chats import Chat, archive, chat
from tests.conftest import run_archiver


@pytest.fixture(scope="module")
def conversation() -> Chat:
    return chat(7, Shape(threads=2, messages=40, participants=(2, 5)))


def recovered(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each message as an RSMF file tells it: sender, compose time, every body, edits."""
    accounts = {p["id"]: p.get("account_id") for p in manifest["participants"]}
    messages = {}
    for event in manifest["events"]:
        if event["type"] != "message":
            continue
        edits = event.get("edits", [])
        bodies = [event.get("body"), *(edit["new"] for edit in edits)]
        assert [edit.get("previous") for edit in edits] == bodies[:-1]
        custom = {c["name"]: c["value"] for c in event.get("custom", [])}
        messages[event["id"]] = {
            "sender": accounts[event["participant"]],
            "composeTime": event["timestamp"],
            "bodies": bodies,
            "edits": [(accounts[edit["participant"]], edit["timestamp"]) for edit in edits],
            "deleted": event.get("deleted", False),
            "deleteTime": custom.get("deleteTime"),
        }
    return messages


def archived(versions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each message as the archive holds it, every version, from readback.every_version."""
    by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in versions:
        by_message[entry["messageId"]].append(entry)
    messages = {}
    for message_id, entries in by_message.items():
        kept = [e for e in entries if e["action"] != "deleted"]
        edited = [e for e in entries if e["action"] == "edited"]
        gone = [e for e in entries if e["action"] == "deleted"]
        messages[message_id] = {
            "sender": entries[0]["senderId"],
            "composeTime": entries[0]["composeTime"],
            "bodies": [e["body"] for e in kept],
            "edits": [(e["senderId"], e["editTime"]) for e in edited],
            "deleted": bool(gone),
            "deleteTime": gone[0]["deleteTime"] if gone else None,
        }
    return messages


async def test_every_version_of_every_message_comes_back_out_of_the_rsmf_file(
    storage: Storage, conversation: Chat, tmp_path: Path
):
    await archive(storage, conversation.events)
    thread = conversation.threads[0]
    happened = [h for h in conversation.happenings if h.thread_id == thread]

    [path] = to_files(await rsmf_files(storage, thread), tmp_path / "thread.rsmf")
    manifest = read_manifest(path.read_bytes())

    versions = [e async for e in every_version(storage, thread, Window())]
    assert {e["action"] for e in versions} == {"received", "edited", "deleted"}
    assert recovered(manifest) == archived(versions)
    assert problems(manifest) == []
    accounts = {p["id"]: p["account_id"] for p in manifest["participants"]}
    comings = {
        (e["type"], accounts[e["participant"]], e["timestamp"])
        for e in manifest["events"]
        if e["type"] in ("join", "leave")
    }
    people = {
        ThreadChange.PARTICIPANT_ADDED: "join",
        ThreadChange.PARTICIPANT_REMOVED: "leave",
    }
    assert comings == {
        (people[h.change], h.participant.raw_id, format_timestamp(h.time))
        for h in happened
        if isinstance(h, Changed) and h.change in people and h.participant is not None
    }
    assert {"join", "leave"} <= {kind for kind, _, _ in comings}
    topics = [e["body"] for e in manifest["events"] if "changed the topic" in e.get("body", "")]
    assert topics == [
        f"{h.actor.name} changed the topic to {h.topic!r}"
        for h in happened
        if isinstance(h, Changed) and h.change is ThreadChange.PROPERTIES_UPDATED
    ]
    assert [e["timestamp"] for e in manifest["events"]] == sorted(
        e["timestamp"] for e in manifest["events"]
    )


async def test_the_file_is_an_eml_with_the_rsmf_headers_of_its_events(
    storage: Storage, conversation: Chat
):
    await archive(storage, conversation.events)

    [file] = await rsmf_files(storage, conversation.threads[1])
    content = file.content()
    said = headers(content)
    times = [e["timestamp"] for e in file.manifest["events"]]

    assert content.startswith(b"From: ACS chat archiver <archiver@acs-chat-archiver.invalid>\r\n")
    assert {k: v for k, v in said.items() if k.startswith("X-RSMF-")} == {
        "X-RSMF-Version": "2.0.0",
        "X-RSMF-BeginDate": min(times),
        "X-RSMF-EndDate": max(times),
        "X-RSMF-EventCount": str(len(times)),
        "X-RSMF-Generator": GENERATOR,
    }
    assert said["Subject"] == file.manifest["conversations"][0]["display"]
    assert {"To", "Date", "MIME-Version", "Content-Type"} <= set(said)
    assert read_manifest(content) == file.manifest
    assert file.content() == content  # the same manifest packs to the same bytes


@pytest.mark.parametrize(
    ("topic", "subject"),
    [
        ("Q3 plan\r\nBcc: x", "Q3 plan Bcc: x"),
        ("Q3 plan\r\n\r\nInjected body\r\n", "Q3 plan Injected body"),
        (
            "Q3\nplan\rnow\tand\x0bthen\x1b[31m\x85red\u2028\u2029!",
            "Q3 plan now and then [31m red !",
        ),
    ],
)
async def test_a_topic_with_line_breaks_exports_and_injects_no_header(
    storage: Storage, topic: str, subject: str
):
    await archive(
        storage,
        (
            thread_event("ChatThreadCreated", subject_line=topic, time="2026-11-02T07:00:00Z"),
            message_event(time="2026-11-02T08:00:00Z"),
        ),
    )

    [file] = await rsmf_files(storage, THREAD)
    content = file.content()

    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert "Bcc" not in parsed
    assert [name for name in parsed if name.startswith("X-")] == [
        "X-RSMF-Version",
        "X-RSMF-BeginDate",
        "X-RSMF-EndDate",
        "X-RSMF-EventCount",
        "X-RSMF-Generator",
    ]
    assert parsed["Subject"] == subject
    assert parsed["To"].groups[0].display_name == subject
    body = parsed.get_body(("plain",))
    assert body is not None
    summary = body.get_content().splitlines()
    assert summary[:2] == [subject, ""]
    assert summary[2].startswith("2 events from ")
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["rsmf.zip"]
    assert read_manifest(content)["conversations"][0]["display"] == topic


async def test_sliced_by_day_each_day_is_a_file_named_for_it_and_split_at_the_limit(
    storage: Storage, tmp_path: Path
):
    days = ["2026-11-02T23:59:00Z", "2026-11-03T00:00:00Z", "2026-11-03T01:00:00Z"]
    for n, time in enumerate(days):
        await archive(storage, (message_event(message_id=f"179{n}", time=time, body=str(n)),))
    days_later = (message_event(message_id="1799", time="2026-11-03T02:00:00Z"),)
    await archive(storage, days_later)

    files = await rsmf_files(storage, THREAD, by_day=True, limit=2)
    paths = to_files(files, tmp_path / "case.rsmf")

    assert [p.name for p in paths] == [
        "case-2026-11-02.rsmf",
        "case-2026-11-03-1.rsmf",
        "case-2026-11-03-2.rsmf",
    ]
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)
    counts = [headers(p.read_bytes())["X-RSMF-EventCount"] for p in paths]
    assert counts == ["1", "2", "1"]
    assert [e["id"] for p in paths for e in read_manifest(p.read_bytes())["events"]] == [
        "1790",
        "1791",
        "1792",
        "1799",
    ]


async def test_a_window_keeps_messages_composed_and_changes_made_in_it(storage: Storage):
    from datetime import UTC, datetime

    edit = message_event("edited", message_id="1791", time="2026-11-02T09:30:00Z")
    edit["data"]["composeTime"] = "2026-11-02T08:00:00Z"
    await archive(
        storage,
        (
            message_event(message_id="1791", time="2026-11-02T08:00:00Z"),
            message_event(message_id="1792", time="2026-11-02T09:00:00Z"),
            edit,
            thread_event(
                "ChatThreadParticipantAdded",
                participant=BOB,
                time="2026-11-02T08:30:00Z",
                version=1,
            ),
            thread_event(
                "ChatThreadParticipantRemoved",
                participant=BOB,
                time="2026-11-02T09:30:00Z",
                version=2,
            ),
        ),
    )
    window = Window(
        since=datetime(2026, 11, 2, 8, tzinfo=UTC), until=datetime(2026, 11, 2, 9, tzinfo=UTC)
    )

    [file] = await rsmf_files(storage, THREAD, window=window)

    events = file.manifest["events"]
    assert [(e["type"], e["timestamp"]) for e in events] == [
        ("message", "2026-11-02T08:00:00.000Z"),
        ("join", "2026-11-02T08:30:00.000Z"),
    ]
    assert [edit["timestamp"] for edit in events[0]["edits"]] == ["2026-11-02T09:30:00.000Z"]
    with pytest.raises(InvalidQuery, match="no events of thread"):
        await rsmf_files(storage, THREAD, window=Window(since=datetime(2027, 1, 1, tzinfo=UTC)))


async def test_evidence_is_named_in_the_conversations_custom_properties(storage: Storage):
    await archive(storage, (message_event(),))

    [file] = await rsmf_files(storage, THREAD, evidence=(("seal", "sha256:abc"),))

    assert file.manifest["conversations"][0]["custom"] == [{"name": "seal", "value": "sha256:abc"}]


async def test_a_file_that_would_break_the_rsmf_rules_is_refused_and_nothing_written(
    storage: Storage,
):
    await archive(storage, (message_event(),))

    with pytest.raises(InvalidExport, match=r"custom\[0\]\.value: must not be empty"):
        await rsmf_files(storage, THREAD, evidence=(("seal", ""),))

    assert [name async for name in storage.blobs.names("transcripts/")] == []


async def test_rsmf_blobs_are_written_once_under_transcripts(storage: Storage):
    await archive(storage, (message_event(),))
    files = await rsmf_files(storage, THREAD)

    names = await to_blobs(storage, files, "transcripts/cases/4471")
    with pytest.raises(AlreadyStored):
        await to_blobs(storage, files, "transcripts/cases/4471.rsmf")

    assert names == ["transcripts/cases/4471.rsmf"]
    assert read_manifest(await storage.blobs.read(names[0])) == files[0].manifest


def _run(settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_archiver(settings, "export", "--settings", "absent.json", *arguments)


@pytest.mark.process
async def test_the_export_command_writes_rsmf_files_and_blobs(settings, tmp_path: Path):
    services = build(settings)
    try:
        await archive(services.storage, (message_event(time="2026-11-02T08:00:00Z"),))
    finally:
        await services.close()

    filed = _run(
        settings,
        "--thread",
        THREAD,
        "--format",
        "rsmf",
        "--slice",
        "day",
        "--output",
        str(tmp_path / "case.rsmf"),
    )
    stored = _run(settings, "--thread", THREAD, "--format", "rsmf", "--blob", "cli/case.rsmf")

    assert filed.returncode == 0, filed.stderr
    assert f"Wrote {tmp_path / 'case-2026-11-02.rsmf'}" in filed.stderr
    manifest = read_manifest((tmp_path / "case-2026-11-02.rsmf").read_bytes())
    assert [e["id"] for e in manifest["events"]] == ["1613694358927"]
    assert stored.returncode == 0, stored.stderr
    assert "Wrote transcripts/cli/case.rsmf" in stored.stderr


@pytest.mark.process
async def test_the_export_command_writes_a_thread_whose_topic_breaks_lines(
    settings, tmp_path: Path
):
    services = build(settings)
    try:
        await archive(
            services.storage,
            (
                thread_event(
                    "ChatThreadCreated", subject_line="Q3\r\nBcc: x", time="2026-11-02T07:00:00Z"
                ),
                message_event(time="2026-11-02T08:00:00Z"),
            ),
        )
    finally:
        await services.close()

    done = _run(
        settings, "--thread", THREAD, "--format", "rsmf", "--output", str(tmp_path / "q3.rsmf")
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    parsed = email.message_from_bytes(
        (tmp_path / "q3.rsmf").read_bytes(), policy=email.policy.default
    )
    assert (parsed["Subject"], "Bcc" in parsed) == ("Q3 Bcc: x", False)


@pytest.mark.process
@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (("--thread", THREAD, "--slice", "day"), "--slice is only for --format rsmf"),
        (("--all", "--format", "rsmf", "--output", "x.rsmf"), "exports one thread"),
        (
            ("--thread", THREAD, "--thread", THREAD, "--format", "rsmf", "--output", "x.rsmf"),
            "exports one thread",
        ),
        (("--thread", THREAD, "--format", "rsmf"), "give --output FILE or --blob"),
        (("--thread", THREAD, "--format", "rsmf", "--blob", "../x"), "not a safe blob name"),
    ],
)
def test_the_rsmf_export_says_what_is_wrong_in_one_line(settings, arguments, says):
    done = _run(settings, *arguments)

    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
