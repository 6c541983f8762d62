"""The Azure SDK clients for the archive's storage account, configured once.

Short, bounded retries and timeouts: Event Grid retries for 24 hours, so a request
should fail fast (503) rather than spend its 30 seconds waiting on one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient, LinearRetry
from azure.storage.queue.aio import QueueServiceClient

from archiver.core.settings import DEVELOPMENT_STORAGE, StorageSettings

# Azurite 3.35 (the newest that runs on Node 20) speaks blob API 2025-11-05; the SDK
# defaults to a newer one, which the emulator refuses unless started leniently.
EMULATOR_BLOB_API_VERSION = "2025-11-05"
# aiohttp sends a bytes body over 1 MiB only with a warning that it may hold up the
# event loop. So a blob up to 1 MiB is one create-only put, and anything larger (a huge
# message, a transcript) goes up in blocks of 1 MiB, committed create-only: a name
# already taken stores nothing, and until the commit nothing is visible.
UPLOAD_PIECE_BYTES = 1024 * 1024


def clients(
    storage: StorageSettings, request_hook: Callable[[Any], None] | None = None
) -> tuple[BlobServiceClient, TableServiceClient, Any]:
    """Blob and table service clients, and the credential to close with them (or None).

    `request_hook` sees every HTTP attempt, retries included.
    """
    blob_options = _blob_options(storage, request_hook)
    table_options = _common(storage, request_hook) | {
        "retry_total": 2,
        "retry_backoff_factor": 0.4,
        "retry_backoff_max": 2,
    }
    if storage.connection_string is not None:
        connection = storage.connection_string
        emulator = (
            connection == DEVELOPMENT_STORAGE
            or "accountname=devstoreaccount1" in connection.lower()
        )
        return (
            BlobServiceClient.from_connection_string(
                connection,
                api_version=EMULATOR_BLOB_API_VERSION if emulator else None,
                **blob_options,
            ),
            TableServiceClient.from_connection_string(connection, **table_options),
            None,
        )
    credential = credential_for(storage.client_id)
    if not (storage.blob_service_uri and storage.table_service_uri):
        raise AssertionError("identity-based settings carry both service URIs")
    return (
        BlobServiceClient(storage.blob_service_uri, credential=credential, **blob_options),
        TableServiceClient(storage.table_service_uri, credential=credential, **table_options),
        credential,
    )


def queue_client(
    storage: StorageSettings, credential: Any, request_hook: Callable[[Any], None] | None = None
) -> QueueServiceClient | None:
    """The queue service of the archive's account (the jobs queue), with the table
    clients' retries; None for identity-based storage without
    ARCHIVE_STORAGE__queueServiceUri."""
    options = _common(storage, request_hook) | {"retry_total": 2, "retry_backoff_factor": 0.4}
    if storage.connection_string is not None:
        connection = storage.connection_string
        emulator = connection == DEVELOPMENT_STORAGE or "devstoreaccount1" in connection.lower()
        return QueueServiceClient.from_connection_string(
            connection, api_version=EMULATOR_BLOB_API_VERSION if emulator else None, **options
        )
    if storage.queue_service_uri is None:
        return None
    return QueueServiceClient(storage.queue_service_uri, credential=credential, **options)


def blob_client(
    storage: StorageSettings,
    uri: str,
    credential: Any,
    request_hook: Callable[[Any], None] | None = None,
) -> BlobServiceClient:
    """A blob service client for another account, reached as the archive's identity
    (`credential`), with the same retries and timeouts as the archive's."""
    return BlobServiceClient(uri, credential=credential, **_blob_options(storage, request_hook))


def credential_for(client_id: str | None) -> Any:
    """The app's Microsoft Entra identity: the user-assigned managed identity
    `client_id`, or whatever DefaultAzureCredential finds (az login, locally)."""
    # Imported here: azure.identity is only needed for identity-based connections.
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


def _common(storage: StorageSettings, request_hook: Callable[[Any], None] | None) -> dict[str, Any]:
    return {
        "connection_timeout": 5,
        "read_timeout": storage.read_timeout_seconds,
        "raw_request_hook": request_hook,
        # With trust_env, aiohttp looks up proxies and .netrc in a worker thread on
        # every request: a fifth of the CPU a write costs. Only when a proxy is set.
        "use_env_settings": storage.proxy_from_environment,
    }


def _blob_options(
    storage: StorageSettings, request_hook: Callable[[Any], None] | None
) -> dict[str, Any]:
    return _common(storage, request_hook) | {
        "retry_policy": LinearRetry(backoff=1, random_jitter_range=1, retry_total=2),
        "max_single_put_size": UPLOAD_PIECE_BYTES,
        "max_block_size": UPLOAD_PIECE_BYTES,
    }
