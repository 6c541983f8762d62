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

import azure.functions as func

from archiver.bootstrap import Runtime, Services, quiet_sdk_logging
from archiver.capture.health import health
from archiver.core.accesssettings import AccessSettings
from archiver.core.envelopes import RawEvent
from archiver.core.governance.principals import APP
from archiver.core.http import HttpRequest, HttpResponse
from archiver.core.jobs import Kind, parse_job
from archiver.core.settings import Settings
from archiver.deadletters.replay import replay_recorded
from archiver.functions import event_json, request_of, response_of

runtime = Runtime(Settings.from_mapping(os.environ))
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("archiver")
# The worker forwards every logger at INFO to Application Insights; the storage SDK's
# request logging would add billed records, headers included, to every invocation.
quiet_sdk_logging()
# Daily at 03:30 UTC: finished threads get their transcript well before ACS retention
# (30-90 days) deletes them.
INACTIVE_SCHEDULE = "0 30 3 * * *"
# Daily at 04:15 UTC, after that: each thread's blobs, transcripts included, are sealed.
SEAL_SCHEDULE = "0 15 4 * * *"
# Daily at 05:00 UTC: threads past ARCHIVE_RETENTION_DAYS that are not held are disposed of.
DISPOSAL_SCHEDULE = "0 0 5 * * *"
# Saturdays at 06:00 UTC: every thread's seals, blobs and rows checked, in batches.
VERIFY_SCHEDULE = "0 0 6 * * 6"

Endpoint = Callable[[Services, HttpRequest], Awaitable[HttpResponse]]
HOLD = ["GET", "PUT", "DELETE"]  # the hold routes' methods: list, place, release
Trigger = Callable[[Services, RawEvent], Awaitable[None]]
QueueTrigger = Callable[[Services, str], Awaitable[None]]


async def _archive(services: Services, event: RawEvent) -> None:
    await services.intake.accept([event])


async def _replay(services: Services, event: RawEvent) -> None:
    await replay_recorded(
        services.storage,
        services.intake,
        services.trail,
        event,
        container=services.settings.dead_letter_container,
        log=log,
    )


async def _run_job(services: Services, text: str) -> None:
    job = parse_job(text)
    counts = await services.work.run(job)
    log.info("Job done: %s %s, %d threads: %s", job.job, job.run, len(job.threads), counts)


async def _poisoned(services: Services, text: str) -> None:
    log.warning("Job poisoned: failed five times, not retried: %s", text[:2000])
    await services.trail.record(
        "job.poisoned", APP, outcome="failed", details={"message": text[:2000]}
    )


# What each Event Grid trigger does with one event, by function name, whichever host calls it.
TRIGGERS: dict[str, Trigger] = {"archive_event": _archive, "replay_dead_letter": _replay}
# What each queue trigger does with one message's text, likewise.
QUEUE_TRIGGERS: dict[str, QueueTrigger] = {
    "run_job": _run_job,
    "report_poisoned_job": _poisoned,
    "index_versions": lambda services, text: services.work.index_pushed(text),
}

# What each HTTP function answers, by function name, whichever host calls it.
ENDPOINTS: dict[str, Endpoint] = {
    "events": lambda services, request: services.webhook.handle(request),
    "read_thread": lambda services, request: services.reader.thread(request),
    "read_messages": lambda services, request: services.reader.messages(request),
    "read_versions": lambda services, request: services.reader.versions(request),
    "change_hold": lambda services, request: services.reader.hold(request),
    "participant_hold": lambda services, request: services.reader.participant_hold(request),
    "health_check": lambda services, request: health(services.storage),
    "search": lambda services, request: services.searcher.search(request),
    "redact": lambda services, request: services.erasures.redact(request),
    "erase": lambda services, request: services.erasures.erase(request),
}

# The HTTP functions whose caller the app itself checks when their setting says `entra`
# (ARCHIVE_WEBHOOK_AUTH, ARCHIVE_READ_AUTH): those are anonymous to the host, since a
# function key on top of the token would be a second shared secret to manage.
TOKEN_CHECKED: dict[str, Callable[[AccessSettings], bool]] = {
    "events": lambda access: access.webhook_auth == "entra",
    **dict.fromkeys(
        ("read_thread", "read_messages", "read_versions", "change_hold", "participant_hold",
         "search", "redact", "erase"),
        lambda access: access.read_auth == "entra",
    ),
}  # fmt: skip


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


@app.route(route="search", methods=["GET"], auth_level=_level("search"))
async def search(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Search every version of every message, each hit cited (function key or token)."""
    return await _answer("search", req, context)


@app.route(route="redactions", methods=["POST"], auth_level=_level("redact"))
async def redact(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Redact a message's versions (function key, or Archive.Admin token)."""
    return await _answer("redact", req, context)


@app.route(route="erasures", methods=["POST"], auth_level=_level("erase"))
async def erase(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Erase a participant, or approve it as a second principal (key or Archive.Admin)."""
    return await _answer("erase", req, context)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_check(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """200 when archive storage answers, 503 otherwise."""
    return await _answer("health_check", req, context)


@app.event_grid_trigger(arg_name="event")
async def archive_event(event: func.EventGridEvent) -> None:
    """Native Event Grid trigger: one event per invocation, same path as the webhook.

    Raising makes the host answer 500, so Event Grid redelivers (or dead-letters).
    """
    await _archive(runtime.services(), RawEvent.from_value(event_json(event)))


@app.event_grid_trigger(arg_name="event")
async def replay_dead_letter(event: func.EventGridEvent) -> None:
    """A blob Event Grid dead-lettered (its BlobCreated event): archive its events through
    the same path as the webhook, then move it under replayed/. A blob of refused events
    stays and is logged; a storage failure raises, so Event Grid delivers the event again.
    """
    await _replay(runtime.services(), RawEvent.from_value(event_json(event)))


@app.timer_trigger(schedule=INACTIVE_SCHEDULE, arg_name="timer", run_on_startup=False)
async def archive_inactive_threads(timer: func.TimerRequest) -> None:
    """Enqueue the threads inactive for ARCHIVE_INACTIVE_DAYS, to archive from ACS."""
    await _start(Kind.TRANSCRIBE)


@app.timer_trigger(schedule=SEAL_SCHEDULE, arg_name="timer", run_on_startup=False)
async def seal_threads(timer: func.TimerRequest) -> None:
    """Enqueue the threads changed since the last run (every thread on Sundays) to seal,
    then the checkpoint (when ARCHIVE_SEAL_KEY is set)."""
    if runtime.settings.seal_key is None:
        await runtime.services().hold_flags()
    await _start(Kind.SEAL)


@app.timer_trigger(schedule=DISPOSAL_SCHEDULE, arg_name="timer", run_on_startup=False)
async def dispose_expired_threads(timer: func.TimerRequest) -> None:
    """Enqueue the threads whose retention (ARCHIVE_RETENTION_DAYS) ended, to dispose of."""
    await _start(Kind.DISPOSE)


@app.timer_trigger(schedule=VERIFY_SCHEDULE, arg_name="timer", run_on_startup=False)
async def verify_archive(timer: func.TimerRequest) -> None:
    """Enqueue every thread to verify its seals with the seal key's own keys; each batch
    writes reports/verify/{run}/{batch}.json (when ARCHIVE_SEAL_KEY is set)."""
    await _start(Kind.VERIFY)


@app.queue_trigger(
    arg_name="message", queue_name="%ARCHIVE_JOBS_QUEUE%", connection="ARCHIVE_STORAGE"
)
async def run_job(message: func.QueueMessage) -> None:
    """One job of the daily runs: a batch of threads sealed, disposed of or transcribed, or
    the checkpoint. Raising leaves it on the queue; the fifth failure poisons it."""
    await QUEUE_TRIGGERS["run_job"](runtime.services(), message.get_body().decode())


@app.queue_trigger(
    arg_name="message", queue_name="%ARCHIVE_JOBS_QUEUE%-poison", connection="ARCHIVE_STORAGE"
)
async def report_poisoned_job(message: func.QueueMessage) -> None:
    """A job that failed five times: logged ("Job poisoned:", alerted) and recorded."""
    await QUEUE_TRIGGERS["report_poisoned_job"](runtime.services(), message.get_body().decode())


@app.queue_trigger(
    arg_name="message", queue_name="%ARCHIVE_SEARCH_QUEUE%", connection="ARCHIVE_STORAGE"
)
async def index_versions(message: func.QueueMessage) -> None:
    """New versions' BlobCreated events, from Event Grid: pushed to the search index."""
    await QUEUE_TRIGGERS["index_versions"](runtime.services(), message.get_body().decode())


async def _start(kind: Kind) -> None:
    from archiver.jobs.starts import start_timed  # not on the webhook's cold start

    services = runtime.services()
    queue = services.storage.queue(runtime.settings.jobs.queue)
    await start_timed(kind, services.runs, queue, runtime.settings, log)


async def _answer(name: str, req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return response_of(await ENDPOINTS[name](runtime.services(), request_of(req, context)))
