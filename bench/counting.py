"""Counting storage requests with the Azure SDK's raw request hook.

The hook runs inside the SDK pipeline after its retry policy, so it sees every HTTP
attempt that reaches storage: exactly what a storage account bills as transactions.
Requests to envelope mode's key table (a transaction included: its entities name the
table) are counted apart, as "keys".
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from archiver.core.keysettings import DEFAULT_KEYS_TABLE

# A table's name in a request path: followed by an entity's keys, a query's "()", or the end.
_TABLE_IN_PATH = re.compile(r"/([A-Za-z][A-Za-z0-9]{2,62})(?=\(|$)")


class StorageRequests:
    """A thread-safe tally of storage requests, by service (the key table apart) and
    HTTP method."""

    def __init__(self, *, keys_table: str = DEFAULT_KEYS_TABLE) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._keys_table = keys_table

    def __call__(self, pipeline_request: Any) -> None:
        """The `raw_request_hook`: count one request."""
        request = pipeline_request.http_request
        # Table requests carry the OData DataServiceVersion header; blob requests do not.
        service = "table" if "DataServiceVersion" in request.headers else "blob"
        if service == "table" and self._keys_table in _tables(request):
            service = "keys"
        with self._lock:
            self._counts[f"{service} {request.method}"] += 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far."""
        with self._lock:
            return dict(sorted(self._counts.items()))


def _tables(request: Any) -> set[str]:
    """The tables a request names, a transaction's through its entities' requests."""
    names = set(_TABLE_IN_PATH.findall(urlsplit(request.url).path))
    parts = getattr(request, "multipart_mixed_info", None)
    for part in parts[0] if parts else ():
        names |= _tables(part)
    return names


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
