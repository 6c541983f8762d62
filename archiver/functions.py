"""The Azure Functions types, turned into the archiver's own and back: HTTP requests and
responses, and Event Grid events as Event Grid sent them. Only function_app.py uses it."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from archiver.core.http import HttpRequest, HttpResponse, client_ip


def request_of(req: func.HttpRequest, context: func.Context) -> HttpRequest:
    """The archiver's request for what the host passed in."""
    return HttpRequest(
        req.method.upper(),
        req.get_body(),
        dict(req.headers),
        route=dict(req.route_params),
        query=dict(req.params),
        request_id=context.invocation_id,
        client_ip=client_ip(req.headers.get("x-forwarded-for")),
    )


def response_of(response: HttpResponse) -> func.HttpResponse:
    """The host's response for the archiver's."""
    headers = dict(response.headers)
    content_type = headers.pop("Content-Type", None)
    return func.HttpResponse(
        body=response.body, status_code=response.status, headers=headers, mimetype=content_type
    )


def event_json(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
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
