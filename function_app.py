"""Azure Functions entry point (Python v2 programming model).

Only adapts the Functions types; all decisions live in the `archiver` package. Settings
are read at import, so a bad setting fails at start with its name. Storage clients are
built on first use and reused by every invocation of this worker.

The decorators below are the app's one route table: the local host
(archiver.hosts.devhost) builds its routes from `app.get_functions()` and answers each
HTTP function through the same `ENDPOINTS` entry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from archiver.bootstrap import Runtime, Services, quiet_sdk_logging
from archiver.capture.health import health
from archiver.core.accesssettings import AccessSettings
from archiver.core.envelopes import RawEvent
from archiver.core.errors import AcsUnavailable, StorageUnavailable
from archiver.core.governance.principals import APP, TIMER
from archiver.core.http import HttpRequest, HttpResponse
from archiver.core.settings import Settings
from archiver.deadletters.replay import replay_created

runtime = Runtime(Settings.from_mapping(os.environ))
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("archiver")
# The worker forwards every logger at INFO to Application Insights; the storage SDK's
# request and response logging would add several billed records, headers included, to
# every invocation.
quiet_sdk_logging()
# Daily at 03:30 UTC: finished threads get their transcript well before ACS retention
# (30-90 days) deletes them.
INACTIVE_SCHEDULE = "0 30 3 * * *"
# Daily at 04:15 UTC, after that: each thread's blobs, transcripts included, are sealed.
SEAL_SCHEDULE = "0 15 4 * * *"
# Daily at 05:00 UTC: threads past ARCHIVE_RETENTION_DAYS that are not held are disposed of.
DISPOSAL_SCHEDULE = "0 0 5 * * *"

Endpoint = Callable[[Services, HttpRequest], Awaitable[HttpResponse]]
HOLD = ["GET", "PUT", "DELETE"]  # the hold routes' methods: list, place, release
Trigger = Callable[[Services, RawEvent], Awaitable[None]]


async def _archive(services: Services, event: RawEvent) -> None:
    await services.intake.accept([event])


async def _replay(services: Services, event: RawEvent) -> None:
    container = services.settings.dead_letter_container
    report = await replay_created(services.storage, services.intake, event, container=container)
    for name in report.moved:
        log.info("Replayed the dead letter %s/%s: %s", container, name, dict(report.results))
        await services.trail.record(
            "deadletter.replay",
            APP,
            outcome="done",
            target={"file": f"{container}/{name}"},
            details={"results": dict(report.results)},
        )
    for name, why in report.left.items():
        log.warning("Left the dead letter %s/%s where it is: %s", container, name, why)


# What each Event Grid trigger does with one event, by function name, whichever host calls it.
TRIGGERS: dict[str, Trigger] = {"archive_event": _archive, "replay_dead_letter": _replay}

# What each HTTP function answers, by function name, whichever host calls it.
ENDPOINTS: dict[str, Endpoint] = {
    "events": lambda services, request: services.webhook.handle(request),
    "read_thread": lambda services, request: services.reader.thread(request),
    "read_messages": lambda services, request: services.reader.messages(request),
    "read_versions": lambda services, request: services.reader.versions(request),
    "change_hold": lambda services, request: services.reader.hold(request),
    "participant_hold": lambda services, request: services.reader.participant_hold(request),
    "health_check": lambda services, request: health(services.storage),
}

# The HTTP functions whose caller the app itself checks when their setting says `entra`
# (ARCHIVE_WEBHOOK_AUTH, ARCHIVE_READ_AUTH): those are anonymous to the host, since a
# function key on top of the token would be a second shared secret to manage.
TOKEN_CHECKED: dict[str, Callable[[AccessSettings], bool]] = {
    "events": lambda access: access.webhook_auth == "entra",
    "read_thread": lambda access: access.read_auth == "entra",
    "read_messages": lambda access: access.read_auth == "entra",
    "read_versions": lambda access: access.read_auth == "entra",
    "change_hold": lambda access: access.read_auth == "entra",
    "participant_hold": lambda access: access.read_auth == "entra",
}


def _level(name: str) -> func.AuthLevel:
    """The function key, or anonymous when the app checks an Entra ID token instead."""
    checked = TOKEN_CHECKED[name](runtime.settings.access)
    return func.AuthLevel.ANONYMOUS if checked else func.AuthLevel.FUNCTION


@app.route(route="events", methods=["POST", "OPTIONS"], auth_level=_level("events"))
async def events(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """The Event Grid webhook: handshakes and notifications (function key, or Event Grid's
    Entra ID token)."""
    return await _answer("events", req, context)


@app.route(route="threads/{threadId}", methods=["GET"], auth_level=_level("read_thread"))
async def read_thread(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Read API: what the archive knows of one thread (function key or token)."""
    return await _answer("read_thread", req, context)


@app.route(route="threads/{threadId}/messages", methods=["GET"], auth_level=_level("read_messages"))
async def read_messages(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Read API: a page of a thread's latest messages (function key or token)."""
    return await _answer("read_messages", req, context)


@app.route(
    route="threads/{threadId}/messages/{messageId}/versions",
    methods=["GET"],
    auth_level=_level("read_versions"),
)
async def read_versions(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Read API: every archived version of one message (function key or token)."""
    return await _answer("read_versions", req, context)


@app.route(route="threads/{threadId}/hold", methods=HOLD, auth_level=_level("change_hold"))
async def change_hold(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Legal holds per matter: GET lists, PUT places, DELETE releases (function key, or
    Archive.Admin token)."""
    return await _answer("change_hold", req, context)


@app.route(
    route="participants/{participantId}/hold",
    methods=HOLD,
    auth_level=_level("participant_hold"),
)
async def participant_hold(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Legal holds per matter on a custodian: every thread they are or were in."""
    return await _answer("participant_hold", req, context)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_check(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """200 when archive storage answers, 503 otherwise."""
    return await _answer("health_check", req, context)


@app.event_grid_trigger(arg_name="event")
async def archive_event(event: func.EventGridEvent) -> None:
    """Native Event Grid trigger: one event per invocation, same path as the webhook.

    Raising makes the host answer 500, so Event Grid redelivers (or dead-letters).
    """
    await _archive(runtime.services(), RawEvent.from_value(_as_json(event)))


@app.event_grid_trigger(arg_name="event")
async def replay_dead_letter(event: func.EventGridEvent) -> None:
    """A blob Event Grid dead-lettered (its BlobCreated event): archive its events through
    the same path as the webhook, then move it under replayed/. A blob of refused events
    stays and is logged; a storage failure raises, so Event Grid delivers the event again.
    """
    await _replay(runtime.services(), RawEvent.from_value(_as_json(event)))


@app.timer_trigger(schedule=INACTIVE_SCHEDULE, arg_name="timer", run_on_startup=False)
async def archive_inactive_threads(timer: func.TimerRequest) -> None:
    """Archive threads inactive for ARCHIVE_INACTIVE_DAYS from ACS (when ACS_ is set)."""
    settings = runtime.settings
    acs = settings.acs
    if acs is None or acs.archiver_user_id is None or settings.inactive_days == 0:
        log.info(
            "Archiving inactive threads from ACS is off "
            "(ACS_ENDPOINT or ACS_ARCHIVER_USER_ID unset, or ARCHIVE_INACTIVE_DAYS=0)"
        )
        return
    try:
        async for report in runtime.services().reconciler.inactive(settings.inactive_days):
            if report.refused:
                log.warning("Not archived from ACS: %s: %s", report.thread_id, report.refused)
            else:
                log.info(
                    "Archived %s from %s: %d versions repaired, transcripts %s",
                    report.thread_id,
                    report.source,
                    len(report.repaired),
                    ", ".join(report.transcripts),
                )
    except AcsUnavailable as exc:
        log.error("ACS was unavailable; the next run goes on: %s", exc)


@app.timer_trigger(schedule=SEAL_SCHEDULE, arg_name="timer", run_on_startup=False)
async def seal_threads(timer: func.TimerRequest) -> None:
    """Seal every thread changed since its last seal, then write the checkpoint (when
    ARCHIVE_SEAL_KEY is set)."""
    if runtime.settings.seal_key is None:
        log.info("Sealing is off (ARCHIVE_SEAL_KEY unset)")
        await _hold_flags()
        return
    from archiver.sealing.rounds import sealing_round

    services = runtime.services()
    await sealing_round(services.sealer, services.checkpointer, log, between=_hold_flags)


async def _hold_flags() -> None:
    """Every blob of a held thread, new seals included, has its legal-hold flag, and no
    thread held by no matter keeps one (ARCHIVE_BLOB_LEGAL_HOLDS)."""
    if runtime.settings.blob_legal_holds:
        try:
            log.info("Legal-hold flags: %s", await runtime.services().holds.enforce_flags())
        except StorageUnavailable as exc:
            log.error("Storage was unavailable; the next run sets the flags: %s", exc)


@app.timer_trigger(schedule=DISPOSAL_SCHEDULE, arg_name="timer", run_on_startup=False)
async def dispose_expired_threads(timer: func.TimerRequest) -> None:
    """Dispose of threads past ARCHIVE_RETENTION_DAYS that are not on hold (0: never)."""
    if runtime.settings.retention_days == 0:
        log.info("Disposal is off (ARCHIVE_RETENTION_DAYS is 0: threads are kept forever)")
        return
    counts = {"disposed": 0, "held": 0, "kept": 0}
    try:
        async for result in runtime.services().disposal.run(TIMER):
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
            if result.outcome == "kept":
                log.warning("Not disposed of: %s: %s", result.thread_id, result.why)
    except StorageUnavailable as exc:
        log.error("Storage was unavailable; the next run finishes what this began: %s", exc)
    log.info("Disposal done: %(disposed)d disposed, %(held)d held, %(kept)d kept", counts)


async def _answer(name: str, req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    request = HttpRequest(
        req.method.upper(),
        req.get_body(),
        dict(req.headers),
        route=dict(req.route_params),
        query=dict(req.params),
        request_id=context.invocation_id,
        client_ip=_client_ip(req.headers.get("x-forwarded-for")),
    )
    response = await ENDPOINTS[name](runtime.services(), request)
    headers = dict(response.headers)
    content_type = headers.pop("Content-Type", None)
    return func.HttpResponse(
        body=response.body, status_code=response.status, headers=headers, mimetype=content_type
    )


def _client_ip(forwarded: str | None) -> str | None:
    """The caller, for the audit trail: the first address of X-Forwarded-For, which the
    platform's front ends set (it may carry a port)."""
    return (forwarded or "").split(",")[0].strip() or None


def _as_json(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """The event as Event Grid sent it, rebuilt from what the host passes in."""
    if isinstance(event, func.CloudEvent):
        fields = {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "subject": event.subject,
            "time": event.time.isoformat() if event.time else None,
            "datacontenttype": event.datacontenttype,
            "data": event.get_json(),
            **event.extension_attrs,
        }
    else:
        fields = {
            "id": event.id,
            "topic": event.topic,
            "subject": event.subject,
            "eventType": event.event_type,
            "eventTime": event.event_time.isoformat() if event.event_time else None,
            "data": event.get_json(),
            "dataVersion": event.data_version,
        }
    return {key: value for key, value in fields.items() if value is not None}
