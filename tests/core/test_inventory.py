"""Blob names read back into what they hold; anything off the storage contract is a stray."""

from __future__ import annotations

import pytest

from archiver.core.inventory import MessageBlob, QuarantineBlob, ThreadBlob, TranscriptBlob, entry
from archiver.core.records import Action, ThreadChange

THREAD = "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2"


def test_a_message_version_name_gives_its_ids_version_and_action():
    name = f"messages/{THREAD}/1613694358927/00000001613694500804-edited.json"

    assert entry(name) == MessageBlob(
        name=name,
        thread_id=THREAD,
        message_id="1613694358927",
        version=1613694500804,
        action=Action.EDITED,
    )


def test_escaped_keys_are_decoded_back_to_the_ids():
    name = "messages/19:a~2Fb@thread.v2/~2E~2E/00000000000000000001-received.json"

    found = entry(name)

    assert isinstance(found, MessageBlob)
    assert (found.thread_id, found.message_id) == ("19:a/b@thread.v2", "..")


def test_a_participant_change_name_gives_the_participant():
    name = f"threads/{THREAD}/00000001613782482822-participantAdded-4:~2B14255550123.json"

    assert entry(name) == ThreadBlob(
        name=name,
        thread_id=THREAD,
        version=1613782482822,
        change=ThreadChange.PARTICIPANT_ADDED,
        participant_id="4:+14255550123",
    )


def test_a_thread_change_without_participant_has_none():
    found = entry(f"threads/{THREAD}/00000001613782482822-created.json")

    assert isinstance(found, ThreadBlob)
    assert found.participant_id is None


def test_a_quarantine_name_is_a_sha256():
    name = f"quarantine/{'ab' * 32}.json"

    assert entry(name) == QuarantineBlob(name=name)


@pytest.mark.parametrize(
    "name",
    ["transcripts/x.json", f"transcripts/{THREAD}/20261202T070000Z.csv", "transcripts/q/a.jsonl"],
)
def test_a_safe_name_under_transcripts_is_a_transcript(name):
    assert entry(name) == TranscriptBlob(name=name)


@pytest.mark.parametrize(
    "name",
    [
        "notes/readme.txt",
        "messages/bad-name.json",
        f"messages/{THREAD}/1/1613694358927-received.json",  # version not 20 digits
        f"messages/{THREAD}/1/00000001613694358927-undone.json",
        f"messages/{THREAD}/1/00000001613694358927-received.txt",
        f"messages/{THREAD}/a/b/00000001613694358927-received.json",
        f"threads/{THREAD}/00000001613782482822-renamed.json",
        "quarantine/not-a-hash.json",
        "messages/19:~FF@thread.v2/1/00000000000000000001-received.json",  # not UTF-8
        "transcripts/../x.json",
        "transcripts/a b.csv",
        "transcripts/",
    ],
)
def test_anything_else_is_a_stray(name):
    assert entry(name) is None
