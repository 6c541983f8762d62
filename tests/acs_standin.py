"""A local stand-in for the ACS Identity and Chat REST APIs, spoken to by the real Azure SDKs.

`AcsStandin` serves https on 127.0.0.1 (a free port, a certificate of the test
session's own CA: tests/tls.py) with the shapes, status codes
and paging of REST api-versions 2023-10-01 (Identity) and 2024-03-07 (Chat):

* Identity (`POST /identities`, `POST /identities/{id}/:issueAccessToken`) checks the
  HMAC-SHA256 signature exactly as `azure.communication.identity` computes it with the
  access key; a wrong key, a tampered body or a stale `x-ms-date` answers 401.
* Chat (`GET /chat/threads/{id}`, `.../participants`, `.../messages`) accepts only bearer
  tokens it issued or `grant`ed: missing, unknown or expired answers 401, a caller who
  is not a current participant 403, an unknown or deleted thread 404 (ACS cannot list a
  deleted thread's history). Messages come newest first (descending `sequenceId`),
  `maxPageSize` 1 to 200 (default 100, an assumption), with an absolute `nextLink`
  carrying `syncState`, `startTime` and `maxPageSize` as in the REST example.
* `throttle` and `fail` make the next chat requests answer 429 (with `Retry-After`) or
  any status; every request is kept in `served`, in arrival order.

The SDKs talk to it as to ACS, over https; one thing to know: the identity client signs
the endpoint's host text verbatim, so build it as
`CommunicationIdentityClient(standin.host_url, AzureKeyCredential(standin.access_key))`,
with no trailing slash.

`threads_from` builds the threads ACS would hold after a simulated conversation
(archiver.sim.conversations), so the same thread can be archived from its events and
listed back from the stand-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from archiver.core.fields import format_timestamp, parse_timestamp
from archiver.core.records import Action, ThreadChange
from archiver.sim.conversations import Changed, Happening, Person, Said
from archiver.sim.publication import identifier
from tests import tls

RESOURCE = "5e7c1b0a-2d4f-4a61-9b3e-8c0d1f2a3b4c"
ARCHIVER_NAME = "Archiver"
MAX_PAGE_SIZE = 200  # the ACS limit for ListMessages
DEFAULT_PAGE_SIZE = 100
SCOPES = frozenset({"chat", "voip", "chat.join", "chat.join.limited", "voip.join"})
_CLOCK_SKEW = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FORBIDDEN = ("Forbidden", "User is not allowed to perform specified action.")
_CODES = {
    400: ("BadRequest", "The request is invalid."),
    401: ("Unauthorized", "Request is not authorized."),
    403: _FORBIDDEN,
    404: ("NotFound", "The requested resource was not found."),
    429: ("TooManyRequests", "Rate limit exceeded."),
    500: ("InternalServerError", "An internal server error occurred."),
    503: ("ServiceUnavailable", "The server is currently unable to handle the request."),
}


@dataclass(frozen=True, kw_only=True)
class Participant:
    """A current member of a thread, who may read its history from `share_history_time`."""

    person: Person
    share_history_time: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Message:
    """One chat message in its latest state only, as ListMessages returns it."""

    id: str
    type: str  # text, html, topicUpdated, participantAdded, participantRemoved
    sequence_id: int
    version: int
    created_on: datetime
    sender: Person | None = None
    body: str | None = None
    metadata: dict[str, str] | None = None
    edited_on: datetime | None = None
    deleted_on: datetime | None = None
    topic: str | None = None  # topicUpdated
    participants: tuple[Person, ...] = ()  # participantAdded, participantRemoved
    initiator: Person | None = None  # system messages


@dataclass(frozen=True, kw_only=True)
class Thread:
    """A chat thread: its properties, current participants and messages in sequence order."""

    id: str
    topic: str
    created_on: datetime
    created_by: Person
    deleted_on: datetime | None = None
    participants: tuple[Participant, ...] = ()
    messages: tuple[Message, ...] = ()
    metadata: dict[str, str] | None = None

    def member(self, raw_id: str) -> Participant | None:
        """The current participant with `raw_id`, if there is one."""
        return next((p for p in self.participants if p.person.raw_id == raw_id), None)


@dataclass(frozen=True, kw_only=True)
class Served:
    """One request the stand-in answered, with the status it answered."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int
    at: float = field(compare=False)  # time.monotonic() on arrival


def threads_from(happenings: Iterable[Happening], *, archiver: str | None) -> dict[str, Thread]:
    """The threads ACS holds after `happenings` (in time order), each message in its latest state.

    Creation lists a participantAdded and a topicUpdated system message as ACS does; topic
    changes and joins and leaves add system messages too. `archiver` joins every thread from
    its creation, with full history and no system message, so what it lists is exactly what
    the happenings explain; None leaves it out (and so forbidden).
    """
    threads: dict[str, Thread] = {}
    for happening in happenings:
        thread = threads.get(happening.thread_id)
        if thread is None:
            threads[happening.thread_id] = _created(happening, archiver)
        elif isinstance(happening, Said):
            threads[happening.thread_id] = _said(thread, happening)
        else:
            threads[happening.thread_id] = _changed(thread, happening)
    return threads


def _created(happening: Happening, archiver: str | None) -> Thread:
    if not isinstance(happening, Changed) or happening.change is not ThreadChange.CREATED:
        raise ValueError(f"thread {happening.thread_id} has a happening before its creation")
    people = [*happening.audience]
    if archiver is not None and archiver not in {p.raw_id for p in people}:
        people.append(Person(archiver, ARCHIVER_NAME))
    thread = Thread(
        id=happening.thread_id,
        topic=happening.topic or "",
        created_on=happening.time,
        created_by=happening.actor,
        participants=tuple(
            Participant(person=p, share_history_time=happening.time) for p in people
        ),
    )
    thread = _system(thread, happening, "participantAdded", participants=happening.audience)
    return _system(thread, happening, "topicUpdated", topic=happening.topic)


def _said(thread: Thread, said: Said) -> Thread:
    if said.action is Action.RECEIVED:
        message = Message(
            id=said.message_id,
            type=said.type.lower(),
            sequence_id=_next_sequence(thread),
            version=said.version,
            created_on=said.compose_time,
            sender=said.sender,
            body=said.body,
            metadata=said.metadata,
        )
        return replace(thread, messages=(*thread.messages, message))
    before = next((m for m in thread.messages if m.id == said.message_id), None)
    if before is None:
        raise ValueError(f"message {said.message_id} changes before it was sent")
    if said.action is Action.EDITED:
        after = replace(
            before,
            version=said.version,
            body=said.body,
            metadata=said.metadata,
            edited_on=said.time,
        )
    else:
        after = replace(before, version=said.version, body=None, deleted_on=said.time)
    return replace(thread, messages=tuple(after if m is before else m for m in thread.messages))


def _changed(thread: Thread, changed: Changed) -> Thread:
    if changed.change is ThreadChange.PROPERTIES_UPDATED:
        thread = replace(thread, topic=changed.topic or thread.topic)
        return _system(thread, changed, "topicUpdated", topic=changed.topic)
    if changed.change is ThreadChange.DELETED:
        return replace(thread, deleted_on=changed.time)
    if changed.participant is None or changed.change is ThreadChange.CREATED:
        raise ValueError(f"thread {thread.id} cannot take {changed.change} here")
    person = changed.participant
    others = tuple(p for p in thread.participants if p.person.raw_id != person.raw_id)
    if changed.change is ThreadChange.PARTICIPANT_ADDED:
        joined = Participant(person=person, share_history_time=thread.created_on)
        thread = replace(thread, participants=(*others, joined))
    else:
        thread = replace(thread, participants=others)
    return _system(thread, changed, str(changed.change), participants=(person,))


def _system(
    thread: Thread,
    changed: Changed,
    kind: str,
    *,
    topic: str | None = None,
    participants: tuple[Person, ...] = (),
) -> Thread:
    # ACS ids are epoch milliseconds; two system messages of one moment take the next free one.
    taken = {m.id for m in thread.messages}
    moment = (changed.time - _EPOCH) // timedelta(milliseconds=1)
    while str(moment) in taken:
        moment += 1
    message = Message(
        id=str(moment),
        type=kind,
        sequence_id=_next_sequence(thread),
        version=moment,
        created_on=changed.time,
        topic=topic,
        participants=participants,
        initiator=changed.actor,
    )
    return replace(thread, messages=(*thread.messages, message))


def _next_sequence(thread: Thread) -> int:
    return thread.messages[-1].sequence_id + 1 if thread.messages else 1


def _time(moment: datetime) -> str:
    text = format_timestamp(moment)
    assert text is not None
    return text


def _participant_json(person: Person, shared: datetime | None = None) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "communicationIdentifier": identifier(person.raw_id),
        "displayName": person.name,
    }
    if shared is not None:
        shape["shareHistoryTime"] = _time(shared)
    return shape


def _message_json(message: Message) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "id": message.id,
        "type": message.type,
        "sequenceId": str(message.sequence_id),
        "version": str(message.version),
        "createdOn": _time(message.created_on),
    }
    content: dict[str, Any] = {}
    if message.body is not None:
        content["message"] = message.body
    if message.topic is not None:
        content["topic"] = message.topic
    if message.participants:
        content["participants"] = [_participant_json(p) for p in message.participants]
    if message.initiator is not None:
        content["initiatorCommunicationIdentifier"] = identifier(message.initiator.raw_id)
    if content:
        shape["content"] = content
    if message.sender is not None:
        shape["senderDisplayName"] = message.sender.name
        shape["senderCommunicationIdentifier"] = identifier(message.sender.raw_id)
    if message.edited_on is not None:
        shape["editedOn"] = _time(message.edited_on)
    if message.deleted_on is not None:
        shape["deletedOn"] = _time(message.deleted_on)
    if message.metadata is not None:
        shape["metadata"] = message.metadata
    return shape


def _thread_json(thread: Thread) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "id": thread.id,
        "topic": thread.topic,
        "createdOn": _time(thread.created_on),
        "createdByCommunicationIdentifier": identifier(thread.created_by.raw_id),
    }
    if thread.metadata is not None:
        shape["metadata"] = thread.metadata
    return shape


class _Refusal(Exception):
    """An error answer in the CommunicationErrorResponse shape, built at the edge."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        default_code, default_message = _CODES.get(status, ("Error", "The request failed."))
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        error = {"error": {"code": self.code, "message": self.message}}
        return web.json_response(error, status=self.status, headers=self.headers)


@dataclass(frozen=True)
class _Grant:
    raw_id: str
    expires: datetime


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AcsStandin:
    """ACS Identity and Chat on 127.0.0.1, answering the real SDKs as the service would."""

    def __init__(self, *, access_key: str | None = None, resource_id: str = RESOURCE) -> None:
        self.access_key = access_key or base64.b64encode(secrets.token_bytes(32)).decode()
        self.resource_id = resource_id
        self._threads: dict[str, Thread] = {}
        self._grants: dict[str, _Grant] = {}
        self._identities: set[str] = set()
        self._faults: deque[_Refusal] = deque()
        self._served: list[Served] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def messages_of(self, thread_id: str) -> tuple[Message, ...]:
        """The thread's messages as ListMessages would show them, in sequence order."""
        return self._threads[thread_id].messages

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; returns the endpoint URL."""
        app = web.Application(middlewares=[self._edge])
        app.router.add_post("/identities", self._create_identity)
        app.router.add_post("/identities/{id}/:issueAccessToken", self._issue_token)
        app.router.add_get("/chat/threads/{thread}", self._thread)
        app.router.add_get("/chat/threads/{thread}/participants", self._participants)
        app.router.add_get("/chat/threads/{thread}/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=tls.server_context()).start()
        self._port = self._runner.addresses[0][1]
        return self.endpoint

    async def stop(self) -> None:
        """Stop listening; the stand-in's state stays readable."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> AcsStandin:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def host_url(self) -> str:
        """`https://127.0.0.1:PORT`, without a trailing slash, as the identity client wants it."""
        if self._port is None:
            raise RuntimeError("the stand-in has not been started")
        return f"https://127.0.0.1:{self._port}"

    @property
    def endpoint(self) -> str:
        """The endpoint URL with a trailing slash, as ACS shows it."""
        return f"{self.host_url}/"

    @property
    def connection_string(self) -> str:
        """`endpoint=...;accesskey=...`, as ACS spells a resource's connection string."""
        return f"endpoint={self.endpoint};accesskey={self.access_key}"

    @property
    def threads(self) -> Mapping[str, Thread]:
        """Every thread the stand-in holds, deleted ones included."""
        return dict(self._threads)

    @property
    def served(self) -> tuple[Served, ...]:
        """Every request answered so far, in arrival order."""
        return tuple(self._served)

    def add_threads(self, threads: Mapping[str, Thread] | Iterable[Thread]) -> None:
        """Hold these threads, replacing any with the same id."""
        for thread in threads.values() if isinstance(threads, Mapping) else threads:
            self._threads[thread.id] = thread

    def remove_thread(self, thread_id: str) -> None:
        """Forget a thread, so that it answers 404."""
        del self._threads[thread_id]

    def join(
        self, thread_id: str, person: Person, *, share_history_time: datetime | None = None
    ) -> None:
        """Make `person` a current participant of the thread, without a system message."""
        thread = self._threads[thread_id]
        others = tuple(p for p in thread.participants if p.person.raw_id != person.raw_id)
        joined = Participant(person=person, share_history_time=share_history_time)
        self._threads[thread_id] = replace(thread, participants=(*others, joined))

    def leave(self, thread_id: str, raw_id: str) -> None:
        """Remove a participant from the thread, without a system message."""
        thread = self._threads[thread_id]
        others = tuple(p for p in thread.participants if p.person.raw_id != raw_id)
        self._threads[thread_id] = replace(thread, participants=others)

    def grant(self, raw_id: str, *, lifetime: timedelta = timedelta(hours=24)) -> str:
        """A chat access token for `raw_id`, as if issued; a negative lifetime makes it expired."""
        self._identities.add(raw_id)
        return self._issue(raw_id, lifetime)["token"]

    def throttle(self, *, times: int = 1, retry_after: float = 0) -> None:
        """The next `times` chat requests answer 429 with `Retry-After: retry_after` seconds."""
        seconds = str(int(retry_after)) if retry_after == int(retry_after) else str(retry_after)
        for _ in range(times):
            self._faults.append(_Refusal(429, headers={"Retry-After": seconds}))

    def fail(self, status: int, *, times: int = 1) -> None:
        """The next `times` chat requests answer `status` with an ACS error body."""
        self._faults.extend(_Refusal(status) for _ in range(times))

    @web.middleware
    async def _edge(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        arrived = time.monotonic()
        try:
            if request.path.startswith("/chat/") and self._faults:
                raise self._faults.popleft()
            response = await handler(request)
        except _Refusal as refusal:
            response = refusal.response()
        except web.HTTPException as exc:
            self._log(request, exc.status, arrived)
            raise
        self._log(request, response.status, arrived)
        return response

    def _log(self, request: web.Request, status: int, arrived: float) -> None:
        query = {key: request.query[key] for key in request.query}
        served = Served(
            method=request.method, path=request.path, query=query, status=status, at=arrived
        )
        self._served.append(served)

    # Identity

    async def _create_identity(self, request: web.Request) -> web.Response:
        body = await self._signed(request)
        raw_id = f"8:acs:{self.resource_id}_{uuid.uuid4()}"
        self._identities.add(raw_id)
        answer: dict[str, Any] = {"identity": {"id": raw_id}}
        if body.get("createTokenWithScopes"):
            _check_scopes(body["createTokenWithScopes"])
            answer["accessToken"] = self._issue(raw_id, _lifetime(body))
        return web.json_response(answer, status=201)

    async def _issue_token(self, request: web.Request) -> web.Response:
        body = await self._signed(request)
        raw_id = request.match_info["id"]
        if raw_id not in self._identities:
            raise _Refusal(404, f"Identity {raw_id} was not found.", code="IdentityNotFound")
        _check_scopes(body.get("scopes"))
        return web.json_response(self._issue(raw_id, _lifetime(body)))

    async def _signed(self, request: web.Request) -> dict[str, Any]:
        """The JSON body of a request whose HMAC-SHA256 signature this access key made."""
        _api_version(request)
        body = await request.read()
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if not hmac.compare_digest(request.headers.get("x-ms-content-sha256", ""), content_hash):
            raise _Refusal(401, "The x-ms-content-sha256 header does not match the body.")
        try:
            sent = parsedate_to_datetime(request.headers["x-ms-date"]).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            raise _Refusal(401, "The x-ms-date header is missing or unreadable.") from None
        if abs(datetime.now(UTC) - sent) > _CLOCK_SKEW:
            raise _Refusal(401, "The x-ms-date header is more than 15 minutes off.")
        scheme, _, parameters = request.headers.get("Authorization", "").partition(" ")
        # Not parse_qsl: a base64 signature's "+" is not a space.
        fields = dict(part.partition("=")[::2] for part in parameters.split("&"))
        signed = fields.get("SignedHeaders", "").split(";")
        if scheme != "HMAC-SHA256" or signed != ["x-ms-date", "host", "x-ms-content-sha256"]:
            raise _Refusal(401, "The Authorization header is not an HMAC-SHA256 signature.")
        values = ";".join(request.headers.get(name, "") for name in signed)
        target = urllib.parse.unquote(request.raw_path)
        text = f"{request.method}\n{target}\n{values}"
        key = base64.b64decode(self.access_key)
        expected = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(fields.get("Signature", "").encode(), expected):
            raise _Refusal(401, "The HMAC signature does not match the request.")
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            raise _Refusal(400, "The body is not JSON.") from None
        if not isinstance(parsed, dict):
            raise _Refusal(400, "The body is not a JSON object.")
        return parsed

    def _issue(self, raw_id: str, lifetime: timedelta) -> dict[str, str]:
        expires = (datetime.now(UTC) + lifetime).replace(microsecond=0)
        token = _jwt(raw_id, expires, resource_id=self.resource_id)
        self._grants[token] = _Grant(raw_id, expires)
        return {"token": token, "expiresOn": _time(expires)}

    # Chat

    async def _thread(self, request: web.Request) -> web.Response:
        thread, _ = self._admit(request)
        return web.json_response(_thread_json(thread))

    async def _participants(self, request: web.Request) -> web.Response:
        thread, _ = self._admit(request)
        size = _page_size(request)
        skip = _count(request, "skip")
        page = thread.participants[skip : skip + size]
        answer: dict[str, Any] = {
            "value": [_participant_json(p.person, p.share_history_time) for p in page]
        }
        if skip + size < len(thread.participants):
            answer["nextLink"] = self._link(
                f"chat/threads/{thread.id}/participants",
                request,
                skip=str(skip + size),
                maxPageSize=str(size),
            )
        return web.json_response(answer)

    async def _messages(self, request: web.Request) -> web.Response:
        thread, caller = self._admit(request)
        size = _page_size(request)
        start = request.query.get("startTime", "0")
        floor = max(_start_time(start), caller.share_history_time or _EPOCH)
        below = _sync_state(request, thread.id)
        listed = [
            m
            for m in reversed(thread.messages)
            if m.created_on >= floor and (below is None or m.sequence_id < below)
        ]
        page = listed[:size]
        answer: dict[str, Any] = {"value": [_message_json(m) for m in page]}
        if len(listed) > size:
            state = f"{page[-1].sequence_id}:{thread.id}".encode().hex()
            answer["nextLink"] = self._link(
                f"chat/threads/{thread.id}/messages",
                request,
                syncState=state,
                startTime=start,
                maxPageSize=str(size),
            )
        return web.json_response(answer)

    def _admit(self, request: web.Request) -> tuple[Thread, Participant]:
        """The thread asked for and the caller, a current participant with a live token."""
        _api_version(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant = self._grants.get(token) if scheme == "Bearer" else None
        if grant is None or grant.expires <= datetime.now(UTC):
            raise _Refusal(401)
        thread = self._threads.get(request.match_info["thread"])
        if thread is None or thread.deleted_on is not None:
            raise _Refusal(404, "The chat thread was not found.")
        caller = thread.member(grant.raw_id)
        if caller is None:
            raise _Refusal(403)
        return thread, caller

    def _link(self, path: str, request: web.Request, **query: str) -> str:
        query["api-version"] = request.query["api-version"]
        return f"{self.endpoint}{path}?{urllib.parse.urlencode(query)}"


def _api_version(request: web.Request) -> str:
    if not request.query.get("api-version"):
        raise _Refusal(400, "The api-version query parameter is missing.", code="MissingApiVersion")
    return request.query["api-version"]


def _count(request: web.Request, name: str, default: int = 0) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise _Refusal(400, f"{name} must be a non-negative integer.")
    return int(text)


def _page_size(request: web.Request) -> int:
    size = _count(request, "maxPageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _Refusal(400, f"maxPageSize must be between 1 and {MAX_PAGE_SIZE}.")
    return size


def _start_time(text: str) -> datetime:
    if text == "0":
        return _EPOCH
    try:
        return parse_timestamp(text)
    except ValueError:
        raise _Refusal(400, "startTime must be an RFC 3339 date-time.") from None


def _sync_state(request: web.Request, thread_id: str) -> int | None:
    text = request.query.get("syncState")
    if text is None:
        return None
    try:
        below, _, owner = bytes.fromhex(text).decode().partition(":")
        if owner != thread_id:
            raise ValueError(owner)
        return int(below)
    except ValueError:
        raise _Refusal(400, "syncState is not one this thread handed out.") from None


def _check_scopes(scopes: Any) -> None:
    if not isinstance(scopes, list) or not scopes or not set(scopes) <= SCOPES:
        raise _Refusal(400, f"scopes must be a non-empty list of {sorted(SCOPES)}.")


def _lifetime(body: dict[str, Any]) -> timedelta:
    minutes = body.get("expiresInMinutes")
    if minutes is None:
        return timedelta(hours=24)
    if type(minutes) is not int or not 60 <= minutes <= 1440:
        raise _Refusal(400, "expiresInMinutes must be an integer from 60 to 1440.")
    return timedelta(minutes=minutes)


def _jwt(raw_id: str, expires: datetime, *, resource_id: str) -> str:
    """A JWT-shaped token whose payload the chat SDK can read its expiry from."""
    header = _b64(b'{"alg":"RS256","typ":"JWT"}')
    claims = {
        "skypeid": raw_id.removeprefix("8:"),
        "scp": 1792,
        "csi": int(time.time()),
        "exp": int(expires.timestamp()),
        "acsScope": "chat",
        "resourceId": resource_id,
        "iat": int(time.time()),
    }
    text = json.dumps(claims)
    # The SDK decodes the payload with standard base64, so it must avoid the url-safe letters.
    while "-" in (payload := _b64(text.encode())) or "_" in payload:
        text += " "
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
