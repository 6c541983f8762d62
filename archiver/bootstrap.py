"""The composition root: the one place that builds clients and wires the archiver.

function_app.py, the local host and the CLI all call `build` (or hold a `Runtime`),
so every entry point archives through the same objects configured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver.archive import Archive
from archiver.feed import Feed
from archiver.intake import Intake
from archiver.readapi import ReadApi
from archiver.settings import Settings
from archiver.storage.ports import Storage
from archiver.webhook import Webhook


@dataclass(frozen=True)
class Services:
    """Everything an entry point needs, built once."""

    settings: Settings
    storage: Storage
    intake: Intake
    webhook: Webhook
    reader: ReadApi
    feed: Feed | None = None

    async def close(self) -> None:
        """Release the storage clients."""
        await self.storage.close()


def build(settings: Settings, *, storage: Storage | None = None) -> Services:
    """Wire the archiver for `settings`; `storage` replaces the Azure adapter in tests."""
    if storage is None:
        from archiver.storage.azure import AzureStorage

        storage = AzureStorage.from_settings(settings)
    archive = Archive(
        storage,
        concurrency=settings.storage_concurrency,
        timeout_seconds=settings.request_timeout_seconds,
    )
    # The viewer's feed exists only when asked for (the local host's --viewer).
    feed = Feed() if settings.viewer else None
    intake = Intake(archive, settings, feed=feed)
    webhook = Webhook(
        intake, max_body_bytes=settings.max_body_bytes, allowed_rate=settings.allowed_rate
    )
    return Services(
        settings=settings,
        storage=storage,
        intake=intake,
        webhook=webhook,
        reader=ReadApi(storage),
        feed=feed,
    )


class Runtime:
    """Services for a long-lived process, built on first use (no work at import)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._services: Services | None = None

    def services(self) -> Services:
        """The process's services; clients are created now, connections on first call."""
        if self._services is None:
            self._services = build(self.settings)
        return self._services

    async def close(self) -> None:
        """Close the services if they were built; the next use builds them again."""
        if self._services is not None:
            services, self._services = self._services, None
            await services.close()
