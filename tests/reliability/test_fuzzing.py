"""Fuzzing the webhook: hostile bodies over real HTTP, into a real Azurite, no mocks.

Hypothesis mutates real payloads (the builders and Microsoft's published examples in
both schemas), writes raw bytes, and packs thousands of events into one body. Whatever
comes in, the webhook answers 200 with counts that add up, or the precise 4xx the
README documents with a problem document; never a 5xx. Storage stays inside the
storage contract: every blob name parses, every row points at a blob of its own
version, and what a 200 says it stored is stored, with the event kept as received.

Each test runs its examples against one store, on a loop of its own, and checks the
whole store after every example: the properties hold whatever came before. A final
cold read with the verifier judges the store once more. Runs are derandomized, so CI
sees the same examples every time; the reliability summary counts them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from archiver.core.envelopes import VALIDATION_EVENT
from archiver.core.settings import Settings
from tests.builders import (
    body,
    message_event,
    thread_event,
)
from tests.reliability.fuzzing.strategies import (
    Delivery,
    crowded_deliveries,
    hostile_field_deliveries,
    mutated_deliveries,
    raw_deliveries,
    validation_deliveries,
)
from tests.reliability.fuzzing.target import fuzz, fuzzing

# A failing example of a crowded body can be megabytes; let its failure, not the size of
# its repr, be what the report shows.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


# --- The properties -----------------------------------------------------------------------


def test_no_mutation_of_a_real_payload_gets_a_5xx_or_writes_outside_the_contract(
    settings: Settings,
):
    with fuzzing(settings, "mutated real payloads") as target:
        fuzz(target, mutated_deliveries(), examples=300)

    assert {200, 400} <= set(target.statuses)


def test_hostile_field_values_in_well_formed_events_are_archived_or_quarantined(
    settings: Settings,
):
    with fuzzing(settings, "hostile field values") as target:
        fuzz(target, hostile_field_deliveries(), examples=200)

    assert set(target.statuses) <= {200, 400, 413}


def test_validation_handshakes_are_answered_with_their_code_or_refused_with_400(
    settings: Settings,
):
    with fuzzing(settings, "validation handshakes") as target:
        fuzz(target, validation_deliveries(), examples=100)


def test_raw_bytes_are_answered_200_or_400_and_never_crash_the_webhook(settings: Settings):
    with fuzzing(settings, "raw bytes") as target:
        fuzz(target, raw_deliveries(), examples=200)

    assert set(target.statuses) <= {200, 400, 403, 413}


def test_thousands_of_events_in_one_body_are_each_counted_exactly_once(settings: Settings):
    with fuzzing(settings, "bodies of thousands of events") as target:
        fuzz(target, crowded_deliveries(), examples=6)

    assert target.statuses == Counter({200: target.delivered})


# --- Minimal reproductions of what the fuzzing found ------------------------------------


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (message_event(message_id="1613694358901"), "composeTime"),
        (thread_event("ChatThreadCreated", version=1613694358902), "createTime"),
    ],
    ids=["message", "thread"],
)
def test_a_time_within_9999_as_written_but_past_it_in_utc_is_not_answered_500(
    settings: Settings, event: dict[str, Any], field: str
):
    event["data"][field] = "9999-12-31T23:59:59-01:00"

    with fuzzing(settings, "minimal reproductions") as target:
        answer = target.deliver(Delivery(body(event)))

    assert answer["archived"] + answer["quarantined"] == 1


@pytest.mark.parametrize("aeg_event_type", ["SubscriptionValidation", "Notification"])
def test_a_validation_event_whose_data_is_json_text_nested_too_deep_is_not_answered_500(
    settings: Settings, aeg_event_type: str
):
    event = {"eventType": VALIDATION_EVENT, "data": "[" * 5000}

    with fuzzing(settings, "minimal reproductions") as target:
        target.deliver(Delivery(body(event), aeg_event_type=aeg_event_type))
