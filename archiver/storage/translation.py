"""Azure, aiohttp and socket errors translated into archiver.core.errors, once, here.

Every Azure adapter module runs its SDK calls inside `translated`, so nothing from
azure.* escapes the storage package and callers see only the archiver's error tree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import aiohttp
from azure.core.exceptions import AzureError, HttpResponseError, ResourceModifiedError

from archiver.core.errors import ConcurrentUpdate, StorageError, StorageUnavailable


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn whatever storage or the network raised into an archiver StorageError."""
    try:
        yield
    except StorageError:
        raise
    except ResourceModifiedError as exc:
        raise ConcurrentUpdate(f"{what}: {describe(exc)}") from exc
    except (AzureError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StorageUnavailable(f"{what} failed: {describe(exc)}") from exc


def etag_of(metadata: Any) -> str:
    """The ETag a table write answered with; a write answered without one failed."""
    etag = metadata.get("etag") if isinstance(metadata, dict) else None
    if not isinstance(etag, str):
        raise StorageUnavailable("the table service answered a write without an ETag")
    return etag


def describe(exc: BaseException) -> str:
    """The exception's type, status and service error code, and nothing else."""
    # Only the status and the service's error code: messages can echo URLs with SAS.
    if isinstance(exc, HttpResponseError):
        headers = getattr(exc.response, "headers", None) or {}
        code = getattr(exc, "error_code", None) or headers.get("x-ms-error-code") or ""
        return f"{type(exc).__name__} {exc.status_code} {code}".strip()
    return type(exc).__name__
