"""Azure Functions entry point (Python v2 programming model).

Only adapts the Functions types; all decisions live in the `archiver` package. Settings
are read at import, so a bad setting fails at start with its name. Storage clients are
built on first use and reused by every invocation of this worker.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import azure.functions as func

from archiver.bootstrap import Runtime
from archiver.envelopes import RawEvent
from archiver.errors import AcsUnavailable
from archiver.settings import Settings
from archiver.webhook import HttpRequest, HttpResponse, health

# The live viewer belongs to the local host only: in Azure no feed is ever kept.
runtime = Runtime(dataclasses.replace(Settings.from_mapping(os.environ), viewer=False))
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("archiver")
# Daily at 03:30 UTC: finished threads get their transcript well before ACS retention
# (30-90 days) deletes them.
INACTIVE_SCHEDULE = "0 30 3 * * *"


@app.route(route="events", methods=["POST", "OPTIONS"])
async def events(req: func.HttpRequest) -> func.HttpResponse:
    """The Event Grid webhook: handshakes and notifications (function key)."""
    request = HttpRequest(req.method.upper(), req.get_body(), dict(req.headers))
    return _send(await runtime.services().webhook.handle(request))


@app.route(route="threads/{threadId}", methods=["GET"])
async def read_thread(req: func.HttpRequest) -> func.HttpResponse:
    """Read API: what the archive knows of one thread (function key)."""
    reader = runtime.services().reader
    return _send(await reader.thread(req.route_params["threadId"], dict(req.params)))


@app.route(route="threads/{threadId}/messages", methods=["GET"])
async def read_messages(req: func.HttpRequest) -> func.HttpResponse:
    """Read API: a page of a thread's latest messages (function key)."""
    reader = runtime.services().reader
    return _send(await reader.messages(req.route_params["threadId"], dict(req.params)))


@app.route(route="threads/{threadId}/messages/{messageId}/versions", methods=["GET"])
async def read_versions(req: func.HttpRequest) -> func.HttpResponse:
    """Read API: every archived version of one message (function key)."""
    ids = req.route_params
    reader = runtime.services().reader
    return _send(await reader.versions(ids["threadId"], ids["messageId"], dict(req.params)))


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health_check(req: func.HttpRequest) -> func.HttpResponse:
    """200 when archive storage answers, 503 otherwise."""
    return _send(await health(runtime.services().storage))


@app.event_grid_trigger(arg_name="event")
async def archive_event(event: func.EventGridEvent) -> None:
    """Native Event Grid trigger: one event per invocation, same path as the webhook.

    Raising makes the host answer 500, so Event Grid redelivers (or dead-letters).
    """
    await runtime.services().intake.accept([RawEvent.from_value(_as_json(event))])


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


def _send(response: HttpResponse) -> func.HttpResponse:
    headers = dict(response.headers)
    content_type = headers.pop("Content-Type", None)
    return func.HttpResponse(
        body=response.body, status_code=response.status, headers=headers, mimetype=content_type
    )
