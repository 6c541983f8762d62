"""Counting storage requests with the Azure SDK's raw request hook.

The hook runs inside the SDK pipeline after its retry policy, so it sees every HTTP
attempt that reaches storage: exactly what a storage account bills as transactions.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class StorageRequests:
    """A thread-safe tally of storage requests, by service and HTTP method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def __call__(self, pipeline_request: Any) -> None:
        """The `raw_request_hook`: count one request."""
        request = pipeline_request.http_request
        # Table requests carry the OData DataServiceVersion header; blob requests do not.
        service = "table" if "DataServiceVersion" in request.headers else "blob"
        with self._lock:
            self._counts[f"{service} {request.method}"] += 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far."""
        with self._lock:
            return dict(sorted(self._counts.items()))


def total(counts: dict[str, int]) -> int:
    """All requests in a snapshot."""
    return sum(counts.values())


def since(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The requests made between two snapshots."""
    keys = sorted(set(after) | set(before))
    return {
        key: after.get(key, 0) - before.get(key, 0)
        for key in keys
        if after.get(key, 0) - before.get(key, 0)
    }
