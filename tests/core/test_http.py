"""Every error the archiver can raise answers with one deliberate HTTP status."""

from __future__ import annotations

import json

import pytest

from archiver.core import errors
from archiver.core.errors import ArchiverError, InvalidBody
from archiver.core.http import (
    PROBLEM,
    HttpRequest,
    empty_response,
    error_response,
    json_response,
    status_of,
)

# The specification, one line per error class: what a caller (Event Grid, a reader, a
# script) is told. Event Grid drops on 400/403/413 and retries on 5xx, so only storage,
# ACS, identity provider and search service outages may be 503.
EXPECTED = {
    "ArchiverError": 500,
    "ConfigurationError": 500,
    "RequestRejected": 400,
    "InvalidBody": 400,
    "TopicNotAllowed": 403,
    "BodyTooLarge": 413,
    "InvalidQuery": 400,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "IdentityUnavailable": 503,
    "SearchUnavailable": 503,  # the index is derived: the archive is fine, ask again later
    "OnHold": 409,
    "NotSealed": 409,
    "UnknownThread": 404,
    "UnknownContainer": 404,
    "DamagedArchive": 500,
    "UnreadableEnvelope": 500,
    "Erased": 410,  # redacted or erased: the envelope and its hash remain, the text is gone
    "InvalidExport": 500,
    "InvalidEvent": 500,
    "InvalidJob": 500,  # a queue message, never an HTTP answer: it is poisoned
    "AcsError": 502,
    "AcsDenied": 502,
    "ThreadNotInAcs": 502,
    "AcsUnavailable": 503,
    "ModelError": 500,  # a summary's, never an HTTP answer: reported, the thread archived
    "UnusableAnswer": 500,
    "StorageError": 503,
    "AlreadyStored": 503,
    "ConcurrentUpdate": 503,
    "NotFound": 503,
    "Immutable": 503,
    "RowConflict": 503,
    "StorageUnavailable": 503,
}


def error_classes() -> list[type[ArchiverError]]:
    found: list[type[ArchiverError]] = []
    pending: list[type[ArchiverError]] = [ArchiverError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return [kind for kind in found if kind.__module__ == errors.__name__]


def instance(kind: type[ArchiverError]) -> ArchiverError:
    return kind("x", index=0) if issubclass(kind, errors.RowConflict) else kind("x")


def test_the_specification_names_every_error_class_the_archiver_defines():
    assert sorted(kind.__name__ for kind in error_classes()) == sorted(EXPECTED)


@pytest.mark.parametrize("kind", error_classes(), ids=lambda kind: kind.__name__)
def test_every_error_class_answers_with_its_status(kind):
    assert status_of(instance(kind))[0] == EXPECTED[kind.__name__]


def test_a_new_subclass_answers_as_its_parent_does():
    class EmptyBatch(InvalidBody):
        pass

    assert status_of(EmptyBatch("the batch is empty")) == (400, "Bad Request")


def test_a_refusal_is_a_problem_document_that_says_why():
    response = error_response(InvalidBody("body is not JSON"), unavailable="u", failed="f")

    assert response.status == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert json.loads(response.body) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "body is not JSON",
    }


def test_an_outage_asks_to_retry_later_without_naming_storage_internals():
    outage = errors.StorageUnavailable("account key rejected for devstoreaccount1")

    response = error_response(outage, unavailable="try again", failed="f")

    assert response.status == 503
    assert response.headers["Retry-After"] == "30"
    assert json.loads(response.body)["detail"] == "try again"
    assert b"devstoreaccount1" not in response.body


def test_a_failure_of_the_archiver_itself_says_only_that_it_failed():
    response = error_response(
        errors.DamagedArchive("row 7 is not JSON"), unavailable="u", failed="failed"
    )

    assert response.status == 500
    assert json.loads(response.body)["detail"] == "failed"


def test_every_response_names_its_content_type():
    assert json_response(200, {"a": 1}).headers["Content-Type"] == "application/json"
    assert empty_response(200).headers["Content-Type"] == "text/plain; charset=utf-8"


def test_header_names_match_whatever_their_case():
    request = HttpRequest("POST", headers={"aeg-event-type": "Notification"})

    assert request.header("Aeg-Event-Type") == "Notification"
    assert request.header("WebHook-Request-Origin") is None


def test_a_401_says_how_to_authenticate():
    from archiver.core.errors import Unauthenticated

    response = error_response(Unauthenticated("no bearer token"), unavailable="", failed="")

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["Content-Type"] == "application/problem+json"
