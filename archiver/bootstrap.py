"""The composition root: the one place that builds clients and wires the archiver.

function_app.py, the local host and the CLI all call `build` (or hold a `Runtime`),
so every entry point archives through the same objects configured the same way.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from archiver.access.gate import Gate
from archiver.capture.archive import Archive
from archiver.capture.intake import Intake, Observer
from archiver.capture.webhook import Webhook
from archiver.core.errors import StorageUnavailable
from archiver.core.settings import Settings
from archiver.storage.ports import Storage

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

    from archiver.access.refusals import Refusals
    from archiver.acs.reconciliation import Chat, Reconciler
    from archiver.core.evidence.signatures import Signer
    from archiver.erasure.api import Erasures
    from archiver.governance.disposal import Disposal
    from archiver.governance.holds import Holds
    from archiver.governance.trail import AuditTrail
    from archiver.jobs.runs import Runs
    from archiver.jobs.work import Work
    from archiver.retrieval.api import ReadApi
    from archiver.sealing.checkpointer import Checkpointer
    from archiver.sealing.checkpointlog import CheckpointLog
    from archiver.sealing.sealer import Sealer
    from archiver.search.api import SearchApi
    from archiver.search.indexes import Indexes

_log = logging.getLogger("archiver")


@dataclass(frozen=True)
class Services:
    """Everything an entry point needs, built once; the read side on first use (cold starts)."""

    settings: Settings
    storage: Storage
    archive: Archive
    intake: Intake
    webhook: Webhook
    gate: Gate

    @cached_property
    def reader(self) -> ReadApi:
        """The read API."""
        from archiver.retrieval.api import ReadApi

        return ReadApi(self.storage, gate=self.gate, trail=self.trail, holds=self.holds)

    @cached_property
    def reconciler(self) -> Reconciler:
        """Archiving finished threads from ACS (the ACS_ settings)."""
        from archiver.acs.reconciliation import Reconciler
        from archiver.summaries.summarizer import summaries_for

        summaries = summaries_for(self.settings, self.storage)  # None when off
        chat = self._chat
        return Reconciler(self.storage, self.archive, chat, trail=self.trail, summaries=summaries)

    @cached_property
    def trail(self) -> AuditTrail:
        """The access audit trail."""
        from archiver.governance.trail import AuditTrail

        return AuditTrail(self.storage)

    @cached_property
    def holds(self) -> Holds:
        """Legal holds (with blob legal-hold flags when ARCHIVE_BLOB_LEGAL_HOLDS)."""
        from archiver.governance.holds import Holds

        return Holds(self.storage, self.trail, blob_flags=self.settings.blob_legal_holds)

    @cached_property
    def disposal(self) -> Disposal:
        """Disposing of threads past ARCHIVE_RETENTION_DAYS that are not held."""
        from archiver.governance.disposal import Disposal

        receipts = self.checkpointer if self.settings.seal_key is not None else None
        return Disposal(
            self.storage,
            self.trail,
            retention_days=self.settings.retention_days,
            receipts=receipts,
        )

    @cached_property
    def signer(self) -> Signer:
        """What signs seals, checkpoints and receipts: ARCHIVE_SEAL_KEY, or ConfigurationError."""
        from archiver.sealing.signers import signer_for

        credential = None
        if self.settings.seal_key is not None and self.settings.seal_key.key_vault_uri:
            from archiver.storage.clients import credential_for

            credential = credential_for(self.settings.storage.client_id)
        return signer_for(self.settings.seal_key, credential=credential)

    @cached_property
    def sealer(self) -> Sealer:
        """Sealing threads with ARCHIVE_SEAL_KEY (ConfigurationError without it)."""
        from archiver.sealing.sealer import Sealer

        return Sealer(
            self.storage, self.signer, trail=self.trail, trusted=self.settings.trusted_keys
        )

    @cached_property
    def checkpoints(self) -> CheckpointLog:
        """The checkpoints container (ARCHIVE_CHECKPOINTS_CONTAINER)."""
        from archiver.sealing.checkpointlog import CheckpointLog

        return CheckpointLog(self.storage, self.settings.checkpoints_container)

    @cached_property
    def checkpointer(self) -> Checkpointer:
        """Writing checkpoints and disposal receipts with ARCHIVE_SEAL_KEY."""
        from archiver.sealing.checkpointer import Checkpointer

        return Checkpointer(
            self.storage,
            self.signer,
            self.checkpoints,
            origin=self.settings.origin,
            trusted=self.settings.trusted_keys,
        )

    @cached_property
    def search_index(self) -> Indexes | None:
        """The indexes ARCHIVE_SEARCH names (None when search is off)."""
        from archiver.search.backends import indexes_for

        client = self.settings.storage.client_id
        return indexes_for(self.settings.search, origin=self.settings.origin, client_id=client)

    @cached_property
    def erasures(self) -> Erasures:
        """Redaction and erasure: their use cases, and their Archive.Admin routes."""
        from archiver.erasure.api import Erasures

        return Erasures(self, gate=self.gate)

    @cached_property
    def searcher(self) -> SearchApi:
        """`GET /api/search` (404 while ARCHIVE_SEARCH=off)."""
        from archiver.search.api import SearchApi

        return SearchApi(self.storage, lambda: self.search_index, gate=self.gate, trail=self.trail)

    @cached_property
    def runs(self) -> Runs:
        """Runs of the daily jobs: the threads each visits, in batches."""
        from archiver.jobs.runs import Runs
        from archiver.jobs.selection import Selection

        jobs = self.settings.jobs
        delay = timedelta(minutes=jobs.checkpoint_delay_minutes)
        return Runs(Selection(self.storage), batch=jobs.batch, checkpoint_delay=delay)

    @cached_property
    def work(self) -> Work:
        """Doing the jobs of the queue (the `run_job` function)."""
        from archiver.jobs.selection import Selection
        from archiver.jobs.work import Crew, Work

        crew = Crew(
            sealer=lambda: self.sealer,
            checkpointer=lambda: self.checkpointer,
            disposal=lambda: self.disposal,
            reconciler=lambda: self.reconciler,
            hold_flags=self.hold_flags,
            selection=Selection(self.storage),
            inactive_days=self.settings.inactive_days,
            storage=self.storage,
            index=lambda: self.search_index,
            container=self.settings.container,
        )
        return Work(crew, _log)

    async def hold_flags(self) -> None:
        """Legal-hold flags on every blob of held threads, no other (ARCHIVE_BLOB_LEGAL_HOLDS)."""
        if self.settings.blob_legal_holds:
            try:
                _log.info("Legal-hold flags: %s", await self.holds.enforce_flags())
            except StorageUnavailable as exc:
                _log.error("Storage was unavailable; the next run sets the flags: %s", exc)

    def _chat(self) -> AbstractAsyncContextManager[Chat]:
        from archiver.acs.client import AcsChat

        return AcsChat(self.settings.acs)

    async def close(self) -> None:
        """Store the refusals counted; release the identity provider's and storage's clients."""
        await self.gate.close()
        if (index := self.__dict__.get("search_index")) is not None:
            await index.close()
        await self.storage.close()


def build(
    settings: Settings,
    *,
    storage: Storage | None = None,
    observer: Observer | None = None,
    meter: Meter | None = None,
) -> Services:
    """Wire the archiver for `settings`. `storage` replaces the Azure adapter (the
    in-memory one, in tests); `observer` is told what became of every event (the local
    viewer). Metrics are counted into `meter` (an OpenTelemetry Meter), or, with
    APPLICATIONINSIGHTS_CONNECTION_STRING, into Application Insights; otherwise nothing
    of OpenTelemetry is even imported."""
    if storage is None:
        from archiver.sealing.rootkeys import key_vault_root
        from archiver.storage.azure import AzureStorage

        storage = AzureStorage.from_settings(settings, root_key=key_vault_root(settings))
    if meter is None and settings.application_insights is not None:
        from archiver.telemetry.azuremonitor import shared_meter

        meter = shared_meter(settings.application_insights, settings.application_insights_client_id)
    observers = [] if observer is None else [observer]
    answered = None
    if meter is not None:
        from archiver.telemetry.metrics import Metrics

        metrics = Metrics(meter)
        observers.append(metrics.observe)
        answered = metrics.answered
    archive = Archive(
        storage,
        concurrency=settings.storage_concurrency,
        timeout_seconds=settings.request_timeout_seconds,
    )
    intake = Intake(archive, settings, observers=observers)
    gate = Gate(settings.access, refusals=_refusals(settings, storage))
    webhook = Webhook(
        intake,
        max_body_bytes=settings.max_body_bytes,
        allowed_rate=settings.allowed_rate,
        answered=answered,
        gate=gate,
    )
    return Services(
        settings=settings,
        storage=storage,
        archive=archive,
        intake=intake,
        webhook=webhook,
        gate=gate,
    )


def _refusals(settings: Settings, storage: Storage) -> Refusals | None:
    """Where the gate counts the requests it refuses, when a route checks tokens."""
    if not settings.access.uses_entra:
        return None  # with function keys the host refuses, before the app is called
    from archiver.access.refusals import Refusals
    from archiver.governance.trail import AuditTrail

    return Refusals(AuditTrail(storage))


def quiet_sdk_logging() -> None:
    """The Azure SDK's logs at WARNING: its HTTP logging names every request and header."""
    logging.getLogger("azure").setLevel(logging.WARNING)


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
