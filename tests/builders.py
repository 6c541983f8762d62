"""One builder for real-shaped ACS chat events (shapes from tests/payloads/).

Defaults follow Microsoft's published examples; every argument changes one thing.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).parent / "payloads"
TOPIC = (
    "/subscriptions/6a1f1d3e-0a2b-4c5d-8e9f-0123456789ab/resourceGroups/chat-prod"
    "/providers/Microsoft.Communication/communicationServices/contoso-chat"
)
THREAD = "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2"
ALICE = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7caf-07fd-084822001724"
BOB = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7d05-83fe-084822000f6d"
CAROL = "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7d60-83fe-084822000f6f"
TEAMS_USER = "8:orgid:2d3f6b0c-8e4a-4c1b-9f0e-6a7b8c9d0e1f"
PHONE = "4:+14255550123"
TEAMS_APP = "28:orgid:0f6e5d4c-3b2a-4190-8877-665544332211"
_ACTIONS = {"received": "Received", "edited": "Edited", "deleted": "Deleted"}
_ids = itertools.count(1_613_694_358_927)


def payload(schema: str, name: str) -> dict[str, Any]:
    """A published example event from tests/payloads/{schema}/{name}.json."""
    value: dict[str, Any] = json.loads((PAYLOADS / schema / f"{name}.json").read_text())
    return value


def published(schema: str) -> list[dict[str, Any]]:
    """Every published example of one schema, in file-name order."""
    return [json.loads(path.read_text()) for path in sorted((PAYLOADS / schema).glob("*.json"))]


def identifier(raw_id: str) -> dict[str, Any]:
    """A CommunicationIdentifierModel for `raw_id`, shaped as ACS sends it."""
    if raw_id.startswith("8:acs:"):
        return {"rawId": raw_id, "communicationUser": {"id": raw_id}}
    if raw_id.startswith("8:orgid:"):
        user = raw_id.removeprefix("8:orgid:")
        return {
            "rawId": raw_id,
            "kind": "microsoftTeamsUser",
            "microsoftTeamsUser": {"userId": user, "cloud": "public"},
        }
    if raw_id.startswith("4:"):
        return {
            "rawId": raw_id,
            "kind": "phoneNumber",
            "phoneNumber": {"value": raw_id.removeprefix("4:")},
        }
    return {
        "rawId": raw_id,
        "kind": "microsoftTeamsApp",
        "microsoftTeamsApp": {"appId": raw_id.split(":")[-1], "cloud": "public"},
    }


def new_message_id() -> str:
    """A fresh message id, epoch-milliseconds-like as ACS makes them."""
    return str(next(_ids))


def message_event(
    action: str = "received",
    *,
    message_id: str = "1613694358927",
    version: int | str | None = None,
    thread_id: str = THREAD,
    body: str | None = "Welcome to Azure Communication Services",
    sender: str = ALICE,
    recipient: str | None = None,
    metadata: dict[str, str] | None = None,
    message_type: str = "Text",
    topic: str = TOPIC,
    schema: str = "eventgrid",
    time: str | None = None,
) -> dict[str, Any]:
    """A ChatMessage{Received,Edited,Deleted}[InThread] event.

    With `recipient` it is the per-user event (one copy per recipient), otherwise the
    thread-level InThread event. `version` defaults to the message id plus a step
    per action, as real versions advance on edit and delete. `time` is when the
    change happened: the compose, edit or delete time.
    """
    step = {"received": 0, "edited": 141_857, "deleted": 1_031_434}[action]
    data: dict[str, Any] = {
        "messageId": message_id,
        "senderCommunicationIdentifier": identifier(sender),
        "senderDisplayName": "Bob(Admin)",
        "composeTime": "2021-02-19T00:25:58.927Z",
        "type": message_type,
        "version": int(message_id) + step if version is None else version,
        "transactionId": "oh+LGB2dUUadMcTAdRWQxQ.1.1.1.1.1827536918.1.7",
        "threadId": thread_id,
    }
    if action != "deleted" and body is not None:
        data["messageBody"] = body
    if metadata is not None:
        data["metadata"] = metadata
    if action == "edited":
        data["editTime"] = time or "2021-02-19T00:28:20.784Z"
    if action == "deleted":
        data["deleteTime"] = time or "2021-02-19T00:43:10.14Z"
    if action == "received" and time is not None:
        data["composeTime"] = time
    suffix = "" if recipient else "InThread"
    subject = f"thread/{thread_id}/sender/{sender}"
    if recipient:
        data["recipientCommunicationIdentifier"] = identifier(recipient)
        subject += f"/recipient/{recipient}"
    kind = f"Microsoft.Communication.ChatMessage{_ACTIONS[action]}{suffix}"
    return _envelope(kind, data, subject=subject, topic=topic, schema=schema)


def thread_event(
    kind: str,
    *,
    version: int = 1613782482822,
    thread_id: str = THREAD,
    participant: str | None = None,
    actor: str = ALICE,
    recipient: str | None = None,
    topic: str = TOPIC,
    schema: str = "eventgrid",
    time: str | None = None,
    subject_line: str | None = None,
    display_name: str = "Bob",
    participants: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A thread or participant event, e.g. kind='ChatThreadParticipantAdded'.

    `time` is when the change happened, `subject_line` the thread's topic (creation
    and properties updates), `display_name` the participant's name, `participants`
    the raw ids a creation starts with (Alice and Bob by default).
    """
    data: dict[str, Any] = {
        "version": version,
        "threadId": thread_id,
        "createTime": "2021-02-20T00:31:54.365+00:00",
        "transactionId": "9q6cO7i4FkaZ+5RRVzshVw.1.1.1.1.974913783.1",
    }
    if "ParticipantAdded" in kind:
        data |= {
            "time": time or "2021-02-20T00:54:42.8622646+00:00",
            "addedByCommunicationIdentifier": identifier(actor),
            "participantAdded": {
                "displayName": display_name,
                "participantCommunicationIdentifier": identifier(participant or BOB),
            },
        }
    elif "ParticipantRemoved" in kind:
        data |= {
            "time": time or "2021-02-20T00:56:18.1118006+00:00",
            "removedByCommunicationIdentifier": identifier(actor),
            "participantRemoved": {
                "displayName": display_name,
                "participantCommunicationIdentifier": identifier(participant or BOB),
            },
        }
    elif "Created" in kind:
        names = ["Bob", "Scott"]
        data |= {
            "createdByCommunicationIdentifier": identifier(actor),
            "properties": {
                "topic": subject_line or "Talk about new Thread Events in commuication services"
            },
            "participants": [
                {
                    "displayName": names[index % 2],
                    "participantCommunicationIdentifier": identifier(raw_id),
                }
                for index, raw_id in enumerate(participants or (ALICE, BOB))
            ],
        }
        if time is not None:
            data["createTime"] = time
    elif "PropertiesUpdated" in kind:
        data |= {
            "editedByCommunicationIdentifier": identifier(actor),
            "editTime": time or "2021-02-20T00:04:07.7152073+00:00",
            "properties": {"topic": subject_line or "Updated topic"},
        }
    else:
        data |= {
            "deletedByCommunicationIdentifier": identifier(actor),
            "deleteTime": time or "2021-02-20T00:00:40.1271809+00:00",
        }
    if recipient:
        data["recipientCommunicationIdentifier"] = identifier(recipient)
    return _envelope(
        f"Microsoft.Communication.{kind}",
        data,
        subject=f"thread/{thread_id}",
        topic=topic,
        schema=schema,
    )


def fan_out(recipients: Iterable[str], **message: Any) -> list[dict[str, Any]]:
    """The per-user copies of one message event, one per recipient."""
    return [message_event(recipient=recipient, **message) for recipient in recipients]


def validation_event(code: str = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6") -> dict[str, Any]:
    """Event Grid's SubscriptionValidationEvent, as documented."""
    return {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/6a1f1d3e-0a2b-4c5d-8e9f-0123456789ab",
        "subject": "",
        "data": {
            "validationCode": code,
            "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions"
            f"/estest/validate?id={code}&t=2018-04-26T20:30:54.4538837Z"
            "&apiVersion=2018-05-01-preview&token=1A1A1A1A",
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2018-01-25T22:12:19.4556811Z",
        "metadataVersion": "1",
        "dataVersion": "1",
    }


def body(*events: dict[str, Any]) -> bytes:
    """A delivery: the events as a JSON array, as Event Grid posts them."""
    return json.dumps(list(events)).encode()


def _envelope(
    kind: str, data: dict[str, Any], *, subject: str, topic: str, schema: str
) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    if schema == "cloudevents":
        return {
            "source": topic,
            "subject": subject,
            "type": kind,
            "time": "2021-02-19T00:25:59.9436666Z",
            "id": event_id,
            "data": data,
            "specversion": "1.0",
        }
    return {
        "id": event_id,
        "topic": topic,
        "subject": subject,
        "data": data,
        "eventType": kind,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2021-02-19T00:25:59.9436666Z",
    }
