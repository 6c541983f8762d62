"""The access audit trail: one create-only record per read, export, seal, hold change,
disposal, replay and archiving run, naming who, what, which and how it ended; and one
per caller and minute for the requests the gate refused (`refusals`), counted.

Records are blobs `audit/{yyyy}/{mm}/{dd}/{HHMMSS}-{uuid}.json` in the archive container,
so they sort by time and share the container's immutability. A record never holds a
message body, a token or a key: only ids, names, outcomes and counts. Pure.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from archiver.core.fields import format_timestamp
from archiver.core.governance.principals import Principal
from archiver.core.jsontext import dumps

AUDIT_PREFIX = "audit/"
REFUSALS = "refusals"  # the action of one caller's refused requests in one minute
ANONYMOUS = Principal(kind="anonymous")  # no credential, or one that proved nothing
OTHERS = Principal(kind="others")  # the callers past a minute's cap, counted together
_NAME = re.compile(rf"^{AUDIT_PREFIX}\d{{4}}/\d{{2}}/\d{{2}}/\d{{6}}-[0-9a-f]{{32}}\.json$")


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One audited action."""

    time: datetime
    principal: Principal
    action: str  # e.g. "read.thread", "export", "seal", "hold.add", "dispose"
    outcome: str  # "allowed", "refused", "done", "failed", "started", "skipped"
    target: Mapping[str, Any] = field(default_factory=dict)  # threadId, messageId, file
    status: int | None = None  # the HTTP status answered, for a request
    request_id: str | None = None
    client_ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # counts, names, hashes
    id: str = ""  # a UUIDv7 from `time` unless given, so names sort by time

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", time_ordered_id(self.time))

    @property
    def name(self) -> str:
        """`audit/{yyyy}/{mm}/{dd}/{HHMMSS}-{id}.json`, in UTC."""
        at = self.time.astimezone(UTC)
        return f"{AUDIT_PREFIX}{at:%Y/%m/%d}/{at:%H%M%S}-{self.id}.json"

    def as_json(self) -> dict[str, Any]:
        """The record's document."""
        return {
            "id": self.id,
            "time": format_timestamp(self.time),
            "principal": self.principal.as_json(),
            "action": self.action,
            "target": dict(self.target),
            "outcome": self.outcome,
            "status": self.status,
            "requestId": self.request_id,
            "clientIp": self.client_ip,
            "details": dict(self.details),
        }

    def document(self) -> bytes:
        """The blob's bytes."""
        return dumps(self.as_json()).encode()


def time_ordered_id(at: datetime) -> str:
    """A UUIDv7 (RFC 9562) for `at`: 48 bits of Unix milliseconds, a 12-bit counter
    (RFC 9562 method 1: ids of one process within one millisecond still rise), then
    random bits; as 32 hex digits, so ids (and names) made later sort later."""
    milliseconds = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    last, counter = _LAST
    counter = counter + 1 if milliseconds == last else 0
    _LAST[:] = [milliseconds, counter]
    value = (milliseconds << 80) | (0x7 << 76) | ((counter & 0xFFF) << 64)
    value |= (0x2 << 62) | (uuid.uuid4().int & ((1 << 62) - 1))  # the variant, then random
    return f"{value:032x}"


_LAST = [0, 0]  # the last id's milliseconds and counter, in this process


def is_audit_name(name: str) -> bool:
    """True for the name of an audit record."""
    return _NAME.match(name) is not None


def day_prefix(day: datetime) -> str:
    """The folder of one UTC day's records."""
    return f"{AUDIT_PREFIX}{day.astimezone(UTC):%Y/%m/%d}/"


@dataclass(frozen=True, kw_only=True)
class Refused:
    """What one caller (or the others, together) was refused in one minute."""

    minute: datetime  # the minute's start, UTC
    principal: Principal  # the verified principal, else ANONYMOUS (by address) or OTHERS
    client_ip: str | None  # the address of the caller's first refused request
    count: int
    statuses: Mapping[int, int]  # how many of each status: 401, 403, 503
    routes: Mapping[str, int]  # how many on each route: read.thread, hold.add, events, ...
    first: datetime
    last: datetime


def refusals_record(refused: Refused, *, at: datetime) -> AuditRecord:
    """The record of `refused`, stored at `at` (named by when it is written, so the trail
    only ever grows at its end)."""
    return AuditRecord(
        time=at,
        principal=refused.principal,
        action=REFUSALS,
        outcome="refused",
        client_ip=refused.client_ip,
        details={
            "minute": format_timestamp(refused.minute),
            "count": refused.count,
            "statuses": {str(code): n for code, n in sorted(refused.statuses.items())},
            "routes": dict(sorted(refused.routes.items())),
            "first": format_timestamp(refused.first),
            "last": format_timestamp(refused.last),
        },
    )


def minute_of(at: datetime) -> datetime:
    """The start of the UTC minute `at` falls in."""
    return at.astimezone(UTC).replace(second=0, microsecond=0)


class AuditSink(Protocol):
    """Where audit records go: the audit trail."""

    async def store(self, record: AuditRecord) -> None:
        """Store `record` create-only (one already stored under its name is done); raise
        StorageError when it could not be stored."""
