"""What a summary model is sent and must answer, the summary document and its names: pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from archiver.core.errors import DamagedArchive, ModelError, UnusableAnswer
from archiver.core.evidence.seals import covered_prefixes
from archiver.core.governance.disposals import of_thread
from archiver.core.inventory import SummaryBlob, entry
from archiver.core.summaries import (
    MAX_MESSAGE,
    NOTICE,
    RESPONSE_FORMAT,
    SUMMARIES_PREFIX,
    Answer,
    Completion,
    Prompt,
    Sentiment,
    answer_of,
    is_summary_name,
    prompt_of,
    summary_document,
    summary_name,
)

THREAD = "19:summary-thread@thread.v2"
OTHER = "19:other-thread@thread.v2"


def said(body: str | None, *, sender: str = "8:acs:alice", name: str | None = "Alice", **more):
    return {
        "threadId": THREAD,
        "messageId": more.pop("message_id", "1"),
        "action": more.pop("action", "received"),
        "type": more.pop("type", "text"),
        "senderId": sender,
        "senderDisplayName": name,
        "body": body,
        "metadata": {"crm": "ACC-1234-secret"},
        "composeTime": more.pop("time", "2026-11-02T10:00:00Z"),
    } | more


def transcript(*sections: tuple[str, list[dict[str, Any]]]) -> bytes:
    threads = [{"threadId": t, "topic": f"Topic of {t}", "messages": m} for t, m in sections]
    return json.dumps({"format": "acs-chat-archiver/transcript@1", "threads": threads}).encode()


def sent(prompt: Prompt) -> dict[str, Any]:
    system, user = prompt.messages
    assert (system["role"], user["role"]) == ("system", "user")
    conversation: dict[str, Any] = json.loads(user["content"])
    return conversation


def test_the_model_is_sent_the_topic_and_each_messages_time_sender_and_text_only():
    prompt = prompt_of(
        transcript((THREAD, [said("Where is my order?"), said("It ships today.", name="Bob")])),
        thread_id=THREAD,
    )

    assert sent(prompt) == {
        "topic": f"Topic of {THREAD}",
        "messages": [
            {"time": "2026-11-02T10:00:00Z", "sender": "Alice", "text": "Where is my order?"},
            {"time": "2026-11-02T10:00:00Z", "sender": "Bob", "text": "It ships today."},
        ],
    }
    assert "8:acs:" not in prompt.messages[1]["content"]
    assert "ACC-1234-secret" not in prompt.messages[1]["content"]  # metadata stays home
    assert (prompt.sent, prompt.total) == (2, 2)


def test_nothing_of_another_thread_in_the_same_transcript_is_sent():
    prompt = prompt_of(
        transcript((OTHER, [said("the other thread's secret")]), (THREAD, [said("ours")])),
        thread_id=THREAD,
    )

    assert [m["text"] for m in sent(prompt)["messages"]] == ["ours"]
    assert "secret" not in json.dumps(prompt.messages)


def test_deleted_and_empty_messages_are_left_out_and_html_is_sent_as_its_text():
    prompt = prompt_of(
        transcript(
            (
                THREAD,
                [
                    said(None, action="deleted"),
                    said("  \n "),
                    said("<p>Your appointment is <b>confirmed</b> &amp; paid.</p>", type="html"),
                ],
            )
        ),
        thread_id=THREAD,
    )

    assert [m["text"] for m in sent(prompt)["messages"]] == [
        "Your appointment is confirmed & paid."
    ]
    assert prompt.total == 1


def test_senders_without_a_display_name_are_numbered_never_named_by_their_id():
    prompt = prompt_of(
        transcript(
            (
                THREAD,
                [
                    said("a", sender="8:acs:one", name=None),
                    said("b", sender="8:acs:two", name=None),
                    said("c", sender="8:acs:one", name=None),
                ],
            )
        ),
        thread_id=THREAD,
    )

    assert [m["sender"] for m in sent(prompt)["messages"]] == [
        "participant 1",
        "participant 2",
        "participant 1",
    ]


def test_past_the_budget_the_newest_messages_are_sent_and_the_rest_counted():
    messages = [
        said(f"message number {n:03d}", time=f"2026-11-02T10:{n:02d}:00Z") for n in range(60)
    ]

    prompt = prompt_of(transcript((THREAD, messages)), thread_id=THREAD, budget=2_000)

    conversation = sent(prompt)
    texts = [m["text"] for m in conversation["messages"]]
    assert 0 < len(texts) < 60
    assert texts == [f"message number {n:03d}" for n in range(60 - len(texts), 60)]
    assert conversation["earlierMessagesLeftOut"] == 60 - len(texts)
    assert (prompt.sent, prompt.total) == (len(texts), 60)


def test_one_very_long_message_is_cut():
    prompt = prompt_of(transcript((THREAD, [said("x" * (MAX_MESSAGE + 500))])), thread_id=THREAD)

    assert [len(m["text"]) for m in sent(prompt)["messages"]] == [MAX_MESSAGE]


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"threads": "no"}', transcript((OTHER, [said("x")])), b"[]"],
)
def test_a_blob_that_is_no_transcript_of_the_thread_is_damaged(content):
    with pytest.raises(DamagedArchive, match="not a JSON transcript"):
        prompt_of(content, thread_id=THREAD)


def test_the_response_format_is_a_strict_schema_of_exactly_the_answers_fields():
    schema = RESPONSE_FORMAT["json_schema"]["schema"]

    assert RESPONSE_FORMAT["type"] == "json_schema"
    assert RESPONSE_FORMAT["json_schema"]["strict"] is True
    aliases = {field.alias or name for name, field in Answer.model_fields.items()}
    assert set(schema["properties"]) == set(schema["required"]) == aliases
    assert schema["additionalProperties"] is False
    assert schema["properties"]["sentiment"]["enum"] == [str(s) for s in Sentiment]


def completion(content: str | None, **more: Any) -> Completion:
    return Completion(content=content, model="gpt-4o-mini-2024-07-18", **more)


def test_an_answer_that_follows_the_schema_is_read():
    answer = answer_of(
        completion('{"summary": " Order shipped. ", "sentiment": "mixed", "followUps": ["Call"]}')
    )

    assert (answer.summary, answer.sentiment, answer.follow_ups) == (
        "Order shipped.",
        Sentiment.MIXED,
        ("Call",),
    )


@pytest.mark.parametrize(
    ("content", "finish", "problem"),
    [
        ("Sure! The customer wanted a refund.", "stop", "breaks the summary schema"),
        ('{"summary": "x", "sentiment": "furious", "followUps": []}', "stop", "sentiment"),
        ('{"summary": "x", "sentiment": "neutral"}', "stop", "followUps"),
        ('{"summary": "", "sentiment": "neutral", "followUps": []}', "stop", "summary"),
        ('{"summary": "x", "sentiment": "neutral", "followUps": [], "extra": 1}', "stop", "extra"),
        ('{"summary": "x", "sentiment": "neutral", "followUps": [""]}', "stop", "followUps"),
        (
            '{"summary": "' + "x" * 5000 + '", "sentiment": "neutral", "followUps": []}',
            "stop",
            "summary",
        ),
        ('{"summary": "cut', "length", "cut off"),
        (None, "stop", "empty"),
    ],
)
def test_an_answer_that_does_not_parse_is_unusable_and_the_message_never_quotes_it(
    content, finish, problem
):
    with pytest.raises(UnusableAnswer, match=problem) as raised:
        answer_of(completion(content, finish=finish))

    assert "refund" not in str(raised.value)
    assert "furious" not in str(raised.value)


def test_a_refusal_or_a_filtered_answer_is_no_summary():
    with pytest.raises(ModelError, match="refused"):
        answer_of(completion(None, refusal="I can't help with that."))
    with pytest.raises(ModelError, match="content filter"):
        answer_of(completion('{"summary": "x"}', finish="content_filter"))


def test_the_document_says_it_is_derived_and_what_it_was_made_from_by_what():
    answer = Answer(summary="Shipped.", sentiment=Sentiment.POSITIVE, follow_ups=("Refund",))
    document = json.loads(
        summary_document(
            answer,
            thread_id=THREAD,
            transcript="transcripts/t/20261120T000000Z.json",
            transcript_sha256="ab" * 32,
            prompt=Prompt(messages=(), sent=3, total=5),
            model="gpt-4o-mini-2024-07-18",
            deployment="summaries",
            created_at=datetime(2026, 11, 20, 0, 0, 1, tzinfo=UTC),
        )
    )

    assert document == {
        "format": "acs-chat-archiver/summary@1",
        "derived": True,
        "notice": NOTICE,
        "threadId": THREAD,
        "summary": "Shipped.",
        "sentiment": "positive",
        "followUps": ["Refund"],
        "model": "gpt-4o-mini-2024-07-18",
        "deployment": "summaries",
        "transcript": {
            "name": "transcripts/t/20261120T000000Z.json",
            "sha256": "ab" * 32,
            "messages": 5,
            "sent": 3,
        },
        "createdAt": "2026-11-20T00:00:01.000Z",
    }
    assert "not part of the archive's record" in NOTICE.lower()


def test_a_summary_is_named_after_the_transcript_archive_thread_wrote():
    key = "19:abc@thread.v2"

    assert summary_name(f"transcripts/{key}/20261120T101500Z.json") == (
        f"{SUMMARIES_PREFIX}{key}/20261120T101500Z.json"
    )
    assert summary_name(f"transcripts/{key}/20261120T101500Z.csv") is None
    assert summary_name("transcripts/exports/march.json") is None  # export --blob names
    assert summary_name(f"transcripts/{key}/../x/20261120T101500Z.json") is None


@pytest.mark.parametrize(
    "name",
    [
        "summaries/../abc/20261120T101500Z.json",
        "summaries/abc/../def/20261120T101500Z.json",
        "summaries/abc/sub/20261120T101500Z.json",
        "summaries/abc/20261120T101500Z.json.bak",
        "summaries/abc/latest.json",
        "summaries/.abc/20261120T101500Z.json",
        "summaries//20261120T101500Z.json",
        "transcripts/abc/20261120T101500Z.json",
    ],
)
def test_a_forged_summary_name_is_no_summary_and_no_disposal_deletes_it(name):
    assert not is_summary_name(name)
    assert not is_summary_name(name, "abc")
    assert not of_thread(name, thread_id="abc", thread_key="abc") or name.startswith("transcripts/")
    assert not isinstance(entry(name), SummaryBlob)


def test_a_threads_disposal_takes_its_summaries_and_no_other_threads():
    name = "summaries/abc/20261120T101500Z.json"

    assert is_summary_name(name)
    assert is_summary_name(name, "abc")
    assert not is_summary_name(name, "ab")
    assert of_thread(name, thread_id="abc", thread_key="abc")
    assert not of_thread(name, thread_id="ab", thread_key="ab")
    assert not of_thread("summaries/abcd/20261120T101500Z.json", thread_id="abc", thread_key="abc")
    assert entry(name) == SummaryBlob(name=name)


def test_seals_never_cover_summaries_they_are_derived_not_the_record():
    assert not any(p.startswith(SUMMARIES_PREFIX) for p in covered_prefixes("abc"))
