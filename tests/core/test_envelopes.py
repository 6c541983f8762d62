"""Bodies split into events, each kept exactly as received; bad bodies say why."""

from __future__ import annotations

import json

import pytest

from archiver.core.envelopes import RawEvent, open_envelope, split_body, validation_code
from archiver.core.errors import InvalidBody, InvalidEvent
from tests.builders import message_event, payload, validation_event

EVENT = message_event()


def test_an_array_body_yields_each_event_with_its_exact_text():
    first = '{"eventType": "A", "id": "1",   "data": {"n": 1.50}}'
    second = '{ "specversion" : "1.0", "type": "B", "x": "\\u00e9\\ud83d\\udc4b" }'
    body = f"  [\n {first} ,\n\t{second}\n]  ".encode()

    events = split_body(body)

    assert [event.text for event in events] == [first, second]
    assert events[0].value["data"] == {"n": 1.5}
    assert [event.schema for event in events] == ["eventgrid", "cloudevents"]


def test_a_single_object_body_is_one_event():
    events = split_body(json.dumps(EVENT).encode())

    assert len(events) == 1
    assert events[0].value == EVENT


def test_an_empty_array_is_no_events():
    assert split_body(b"[ ]") == []


def test_a_utf8_byte_order_mark_is_tolerated():
    assert len(split_body(b"\xef\xbb\xbf" + json.dumps([EVENT]).encode())) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"not json", "JSON object"),
        (b'"a string"', "JSON object"),
        (b"42", "JSON object"),
        (b"[1, 2]", "Event 0 is not a JSON object"),
        (b'[{"eventType": "A"}, "x"]', "Event 1 is not a JSON object"),
        (b'[{"id": "1"}]', "neither an Event Grid event"),
        (b'[{"eventType": "A"}', "Expected ',' or ']'"),
        (b'[{"eventType": "A"},]', "not valid JSON"),
        (b'{"eventType": "A"} {"eventType": "B"}', "Unexpected data"),
        (b'[{"eventType": "A", "n": NaN}]', "not valid JSON"),
        (b'[{"eventType": "A", "n": Infinity}]', "not valid JSON"),
        (b'[{"eventType": "A", "n": 1e400}]', "not valid JSON"),
        (b'[{"eventType": "A", "n": ' + b"9" * 5000 + b"}]", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'[{"eventType": "\xff"}]', "not valid UTF-8"),
        (b'[{"eventType": "A"}]\x00', "Unexpected data"),
    ],
)
def test_a_body_that_is_not_an_event_or_array_of_events_is_invalid(body, says):
    with pytest.raises(InvalidBody, match=says):
        split_body(body)


def test_both_envelopes_open_to_the_same_neutral_shape():
    grid = open_envelope(RawEvent.from_value(payload("eventgrid", "chat_message_edited")))
    cloud = open_envelope(RawEvent.from_value(payload("cloudevents", "chat_message_edited")))

    assert grid.type == cloud.type == "Microsoft.Communication.ChatMessageEdited"
    assert grid.data["messageId"] == cloud.data["messageId"]
    assert grid.topic is not None
    assert cloud.topic is not None
    assert grid.topic.lower() == cloud.topic.lower()


def test_cloudevents_with_base64_data_are_opened():
    event = {
        "specversion": "1.0",
        "id": "1",
        "source": "/s",
        "type": "T",
        "data_base64": "eyJtZXNzYWdlSWQiOiAiMSJ9",
    }

    assert open_envelope(RawEvent.from_value(event)).data == {"messageId": "1"}


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"eventType": "T", "data": {}}, "id"),
        ({"eventType": "T", "id": 7, "data": {}}, "id"),
        ({"eventType": "", "id": "1"}, "eventType"),
        ({"eventType": "T", "id": "1", "eventTime": "yesterday"}, "eventTime"),
        ({"specversion": "0.3", "id": "1", "source": "/s", "type": "T"}, "specversion"),
        ({"specversion": "1.0", "id": "1", "type": "T"}, "source"),
        (
            {"specversion": "1.0", "id": "1", "source": "/s", "type": "T", "data_base64": "!!"},
            "base64",
        ),
    ],
)
def test_a_broken_envelope_is_an_invalid_event_naming_the_field(event, says):
    with pytest.raises(InvalidEvent, match=says):
        open_envelope(RawEvent.from_value(event))


def test_the_validation_code_is_found_in_either_schema():
    grid = RawEvent.from_value(validation_event("abc"))
    cloud = RawEvent.from_value(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/s",
            "type": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "data": json.dumps({"validationCode": "def"}),
        }
    )

    assert validation_code(grid) == "abc"
    assert validation_code(cloud) == "def"
    assert validation_code(RawEvent.from_value(EVENT)) is None


@pytest.mark.parametrize("data", ["not json", "[" * 100_000, '"validationCode"', "{}"])
def test_a_validation_event_whose_data_string_holds_no_code_has_none(data):
    event = validation_event()
    event["data"] = data

    assert validation_code(RawEvent.from_value(event)) is None
