"""The RSMF 2.0 rules: the published schema's, and the references it leaves to prose."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from archiver.retrieval.rsmf.rules import problems


def valid() -> dict[str, Any]:
    return {
        "version": "2.0.0",
        "participants": [
            {"id": "P1", "display": "Keith", "account_id": "8:acs:1"},
            {"id": "P2", "display": "Karl"},
        ],
        "conversations": [
            {
                "id": "C1",
                "platform": "Azure Communication Services",
                "type": "channel",
                "display": "Keith and Karl",
                "participants": ["P1", "P2"],
                "custom": [{"name": "seal", "value": "abc"}],
            }
        ],
        "events": [
            {
                "id": "m1",
                "type": "message",
                "conversation": "C1",
                "participant": "P1",
                "timestamp": "2026-11-02T08:00:00.000Z",
                "body": "You there?",
                "edits": [
                    {
                        "participant": "P1",
                        "timestamp": "2026-11-02T08:01:00.000Z",
                        "previous": "You there?",
                        "new": "Are you there?",
                    }
                ],
                "deleted": True,
            },
            {"id": "j1", "type": "join", "conversation": "C1", "participant": "P2"},
            {"id": "m2", "type": "message", "conversation": "C1", "parent": "m1"},
        ],
    }


def test_a_manifest_that_keeps_every_rule_has_no_problems():
    assert problems(valid()) == []


def test_each_mistake_of_the_public_sample4_is_caught():
    # Shaped like rsmf-validator-samples' Sample4: an integer participant id, a
    # conversation and an event naming a participant nobody defined, and `attachment`
    # where the schema has `attachments`.
    sample4: dict[str, Any] = {
        "version": "2.0.0",
        "participants": [{"id": 1, "display": "Participant Display"}],
        "conversations": [
            {
                "display": "C1",
                "id": "1",
                "platform": "slack",
                "type": "channel",
                "participants": ["2"],
            }
        ],
        "events": [
            {
                "attachment": "avatar.png",
                "participant": "1",
                "timestamp": "2013-01-10T15:53:00",
                "type": "message",
                "conversation": "1",
                "body": "Here is an event body",
            }
        ],
    }

    assert problems(sample4) == [
        "manifest.participants[0].id: must be a string, not 1",
        "manifest.events[0].attachment: not a key of the RSMF 2.0.0 schema",
    ]
    sample4["participants"][0]["id"] = "1"
    del sample4["events"][0]["attachment"]
    assert problems(sample4) == [
        "conversations[0].participants[0]: '2' names no participant of the manifest"
    ]


def test_ids_are_unique_and_every_id_named_is_defined():
    manifest = valid()
    manifest["participants"].append({"id": "P1"})
    manifest["conversations"].append(copy.deepcopy(manifest["conversations"][0]))
    manifest["events"].append({"id": "m1", "type": "message", "conversation": "C1"})
    manifest["events"][0]["edits"][0]["participant"] = "P9"
    manifest["events"][1]["conversation"] = "C9"
    manifest["events"][2]["parent"] = "m9"
    manifest["conversations"][0]["custodian"] = "P3"

    assert problems(manifest) == [
        "participants[2].id: 'P1' is not unique",
        "conversations[1].id: 'C1' is not unique",
        "conversations[0].custodian: 'P3' is not a participant",
        "events[3].id: 'm1' is not unique",
        "events[0].edits[0].participant: 'P9' names no participant of the manifest",
        "events[1].conversation: 'C9' names no conversation of the manifest",
        "events[2].parent: 'm9' names no event of the manifest",
    ]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("version",), None, "manifest.version: required"),
        (("version",), "2.0.1", "manifest.version: '2.0.1' is not '2.0.0'"),
        (("events", 0, "type"), "reaction", "'reaction' is not one of message, disclaimer"),
        (("events", 0, "deleted"), "yes", "events[0].deleted: must be a boolean"),
        (("events", 0, "importance"), "urgent", "'urgent' is not one of normal, high"),
        (("events", 0, "timestamp"), "yesterday", "is not an ISO 8601 date and time"),
        (("events", 0, "edits", 0, "participant"), None, "edits[0].participant: required"),
        (("events", 0, "attachments"), [{"id": "a.png", "size": "12"}], "size: must be an integer"),
        (("events", 0, "attachments"), [{"display": "a.png"}], "attachments[0].id: required"),
        (("events", 0, "edits"), {"new": "x"}, "events[0].edits: must be an array"),
        (("conversations", 0, "type"), "group", "'group' is not one of direct, channel"),
        (("conversations", 0, "platform"), "", "conversations[0].platform: must not be empty"),
        (("conversations", 0, "custom", 0, "value"), "", "custom[0].value: must not be empty"),
        (("participants", 1, "id"), None, "manifest.participants[1].id: required"),
        (("events",), {}, "manifest.events: must be an array"),
    ],
)
def test_the_schemas_types_enumerations_and_shapes_are_checked(path, value, problem):
    manifest = valid()
    *parents, last = path
    holder: Any = manifest
    for step in parents:
        holder = holder[step]
    if value is None:
        del holder[last]
    else:
        holder[last] = value

    found = problems(manifest)

    assert len(found) == 1, found
    assert problem in found[0]


def test_something_not_an_object_is_one_problem():
    assert problems([]) == ["manifest: must be an object"]
