"""Validating a webhook subscription the way Event Grid does, before any delivery.

Event Grid schema: a SubscriptionValidationEvent whose code must come back as
`validationResponse`. CloudEvents: an OPTIONS request whose `WebHook-Allowed-Origin`
must allow Event Grid's origin.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from archiver.core.fields import format_timestamp
from archiver.sim.delivery import Target
from archiver.sim.publication import Schema


async def handshake(
    target: Target,
    *,
    session: aiohttp.ClientSession,
    rng: random.Random,
    timeout_seconds: float = 30.0,
) -> str | None:
    """Validate the subscription as Event Grid does; return the problem, or None.

    Like Event Grid, it gives the endpoint `timeout_seconds` (30 s) to answer.
    """
    headers = {"x-functions-key": target.function_key} if target.function_key else {}
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    try:
        if target.schema is Schema.CLOUDEVENTS:
            origin = "eventgrid.azure.net"
            async with session.options(
                target.url,
                headers=headers | {"WebHook-Request-Origin": origin, "WebHook-Request-Rate": "120"},
                timeout=timeout,
            ) as response:
                allowed = response.headers.get("WebHook-Allowed-Origin")
                if response.status == 200 and allowed in (origin, "*"):
                    return None
                return f"OPTIONS answered {response.status} with WebHook-Allowed-Origin {allowed!r}"
        code = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        async with session.post(
            target.url,
            data=json.dumps([_validation_event(code)]).encode(),
            headers=headers
            | {"Content-Type": "application/json", "aeg-event-type": "SubscriptionValidation"},
            timeout=timeout,
        ) as response:
            text = await response.text()
            if response.status == 200 and _validation_response(text) == code:
                return None
            return f"validation answered {response.status}: {text[:200]}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"{target.url} did not answer the validation handshake ({type(exc).__name__})"


def _validation_event(code: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000",
        "subject": "",
        "data": {
            "validationCode": code,
            "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions"
            f"/simulation/validate?id={code}",
        },
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": format_timestamp(datetime.now(UTC)),
        "metadataVersion": "1",
        "dataVersion": "1",
    }


def _validation_response(text: str) -> object:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document.get("validationResponse") if isinstance(document, dict) else None
