"""The Azure adapter: the archive container and tables of one storage account.

Create-only blobs are `If-None-Match: *` uploads; rows are inserts and ETag-conditional
replaces (archiver.storage.blobs, archiver.storage.tables). Every Azure, aiohttp or
socket error is translated into archiver.core.errors (archiver.storage.translation);
nothing from azure.* escapes the storage package.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from archiver.core.erasure.keys import KeyWrapper, LocalKeyWrapper
from archiver.core.errors import ConfigurationError
from archiver.core.jobsettings import DEFAULT_ACTIVITY_TABLE
from archiver.core.keysettings import DEFAULT_KEYS_TABLE
from archiver.core.settings import DEFAULT_HOLDS_TABLE, Settings
from archiver.storage.activitytable import AzureActivityTable
from archiver.storage.blobs import AzureBlobArchive, AzureDeadLetters
from archiver.storage.clients import blob_client, clients, queue_client
from archiver.storage.holdtable import AzureHoldTable
from archiver.storage.keyring import Keyring
from archiver.storage.keytable import AzureKeyTable
from archiver.storage.queues import AzureJobQueue
from archiver.storage.tables import AzureMessageTable, AzureThreadTable
from archiver.storage.translation import translated
from archiver.storage.versions import Versions


class AzureStorage:
    """The archive container and tables of one storage account."""

    def __init__(
        self,
        *,
        blob_service: BlobServiceClient,
        table_service: TableServiceClient,
        container: str,
        messages_table: str,
        threads_table: str,
        holds_table: str = DEFAULT_HOLDS_TABLE,
        activity_table: str = DEFAULT_ACTIVITY_TABLE,
        keys_table: str = DEFAULT_KEYS_TABLE,
        queue_service: QueueServiceClient | None = None,
        credential: Any = None,
        elsewhere: Mapping[str, BlobServiceClient] | None = None,
        root_key: KeyWrapper | None = None,
        sealing: bool = False,
    ) -> None:
        """`elsewhere`: containers of other accounts, by name (the checkpoints' account);
        `queue_service`: the account's queues (the jobs queue), when configured."""
        self._queue_service = queue_service
        self._activity_name = activity_table
        self._activity = AzureActivityTable(table_service.get_table_client(activity_table))
        self._elsewhere = dict(elsewhere or {})
        self._blob_service = blob_service
        self._table_service = table_service
        self._container = blob_service.get_container_client(container)
        self._messages_name = messages_table
        self._blobs = AzureBlobArchive(self._container)
        self._messages = AzureMessageTable(table_service.get_table_client(messages_table))
        self._threads_name = threads_table
        self._threads = AzureThreadTable(table_service.get_table_client(threads_table))
        self._holds_name = holds_table
        self._holds = AzureHoldTable(table_service.get_table_client(holds_table))
        self._keys_name = keys_table
        self._keys = AzureKeyTable(table_service.get_table_client(keys_table))
        keyring = None if root_key is None else Keyring(self._keys, root_key)
        self._versions = Versions(self._blobs, keyring, sealing=sealing)
        self._credential = credential

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        request_hook: Callable[[Any], None] | None = None,
        root_key: KeyWrapper | None = None,
    ) -> AzureStorage:
        """Clients for the configured account; no network traffic until first use.

        `request_hook` sees every HTTP attempt, retries included (the benchmark counts
        storage requests with it). `root_key` wraps envelope mode's subject keys: given
        (Key Vault's), or made from ARCHIVE_ROOT_KEY's bytes (development).
        """
        root = settings.keys.root_key
        if root_key is None and root is not None and root.material is not None:
            root_key = LocalKeyWrapper(root.material)
        blob_service, table_service, credential = clients(settings.storage, request_hook)
        elsewhere = {}
        if settings.checkpoints_blob_service_uri is not None:
            elsewhere[settings.checkpoints_container] = blob_client(
                settings.storage, settings.checkpoints_blob_service_uri, credential, request_hook
            )
        return cls(
            blob_service=blob_service,
            table_service=table_service,
            container=settings.container,
            messages_table=settings.messages_table,
            threads_table=settings.threads_table,
            holds_table=settings.holds_table,
            activity_table=settings.jobs.activity_table,
            keys_table=settings.keys.table,
            queue_service=queue_client(settings.storage, credential, request_hook),
            credential=credential,
            elsewhere=elsewhere,
            root_key=root_key,
            sealing=settings.keys.envelope,
        )

    def container(self, name: str) -> AzureBlobArchive:
        """Another container, written create-only like the archive's: of this account, or
        of the account configured for it (ARCHIVE_CHECKPOINTS_STORAGE__blobServiceUri)."""
        return AzureBlobArchive(self._service_of(name).get_container_client(name))

    async def prepare_container(self, name: str) -> None:
        """Create the container `name` when missing; safe to call again."""
        container = self._service_of(name).get_container_client(name)
        with translated(f"creating the container {name}"), contextlib.suppress(ResourceExistsError):
            await container.create_container()

    def _service_of(self, container: str) -> BlobServiceClient:
        return self._elsewhere.get(container, self._blob_service)

    def queue(self, name: str) -> AzureJobQueue:
        """A queue of the account; ConfigurationError when no queue service is set."""
        if self._queue_service is None:
            raise ConfigurationError(
                "the jobs queue is reached as the archive's identity: set "
                "ARCHIVE_STORAGE__queueServiceUri (the Bicep does)"
            )
        return AzureJobQueue(self._queue_service.get_queue_client(name))

    @property
    def activity(self) -> AzureActivityTable:
        """The activity table the daily jobs read."""
        return self._activity

    def dead_letters(self, container: str) -> AzureDeadLetters:
        """The dead-letter container `container` of the same account."""
        return AzureDeadLetters(self._blob_service.get_container_client(container))

    @property
    def blobs(self) -> AzureBlobArchive:
        """The blob container."""
        return self._blobs

    @property
    def messages(self) -> AzureMessageTable:
        """The latest-message table."""
        return self._messages

    @property
    def threads(self) -> AzureThreadTable:
        """The thread table."""
        return self._threads

    @property
    def holds(self) -> AzureHoldTable:
        """The legal-hold table."""
        return self._holds

    @property
    def keys(self) -> AzureKeyTable:
        """The wrapped keys of envelope mode (outside the WORM container)."""
        return self._keys

    @property
    def versions(self) -> Versions:
        """Version blobs as plain documents, envelopes opened (archiver.storage.versions)."""
        return self._versions

    async def prepare(self) -> None:
        """Create the container and tables when missing; safe to call again."""
        with translated("creating the archive container and tables"):
            with contextlib.suppress(ResourceExistsError):
                await self._container.create_container()
            await self._table_service.create_table_if_not_exists(self._messages_name)
            await self._table_service.create_table_if_not_exists(self._threads_name)
            await self._table_service.create_table_if_not_exists(self._holds_name)
            await self._table_service.create_table_if_not_exists(self._activity_name)
            await self._table_service.create_table_if_not_exists(self._keys_name)

    async def ping(self) -> None:
        """Return when both services answer; raise StorageUnavailable otherwise."""
        with translated("checking storage"):
            with contextlib.suppress(ResourceNotFoundError):
                await self._container.get_container_properties()
            await self._messages.current("~ping", "~ping")

    async def close(self) -> None:
        """Release connections and the credential."""
        await self._blob_service.close()
        await self._table_service.close()
        if self._queue_service is not None:
            await self._queue_service.close()
        for service in self._elsewhere.values():
            await service.close()
        if self._credential is not None:
            await self._credential.close()
        if self._versions.keyring is not None:
            await self._versions.keyring.close()
