"""The health route: does archive storage answer?"""

from __future__ import annotations

import asyncio
import logging

from archiver.core.errors import StorageUnavailable
from archiver.core.http import HttpResponse, json_response
from archiver.storage.ports import Storage

log = logging.getLogger("archiver")


async def health(storage: Storage, *, timeout_seconds: float = 5.0) -> HttpResponse:
    """200 when storage answers within the timeout, 503 otherwise."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await storage.ping()
    except (StorageUnavailable, TimeoutError) as exc:
        log.warning("Health check failed: %s", exc)
        return json_response(503, {"status": "unavailable"})
    return json_response(200, {"status": "ok"})
