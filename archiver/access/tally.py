"""Refused requests counted in memory per minute and caller: at most `most_callers`
callers a minute, the rest together as the others, so a minute of any flood is at most
`most_callers + 1` counts to store, whatever the number of requests. An address is the
caller's to make up, a verified principal is not: at most `most_addresses` of a minute's
callers are addresses, so a flood from made-up addresses leaves room for the principals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from archiver.core.governance.audit import ANONYMOUS, OTHERS, Refused, minute_of
from archiver.core.governance.principals import Principal

# Distinct callers a minute, in one process, before the rest are counted as the others.
MOST_CALLERS = 100
# Of which addresses (no verified token): X-Forwarded-For's first address is the caller's.
MOST_ADDRESSES = 50
# An address is the caller's to send (X-Forwarded-For); an IPv6 address and port fit.
MOST_ADDRESS_CHARACTERS = 64
_OTHERS: tuple[str | None, ...] = ("others",)


@dataclass
class _Count:
    principal: Principal
    client_ip: str | None
    first: datetime
    last: datetime
    count: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    routes: Counter[str] = field(default_factory=Counter)

    def refused(self) -> Refused:
        return Refused(
            minute=minute_of(self.first),
            principal=self.principal,
            client_ip=self.client_ip,
            count=self.count,
            statuses=dict(self.statuses),
            routes=dict(self.routes),
            first=self.first,
            last=self.last,
        )


@dataclass
class _Minute:
    callers: dict[tuple[str | None, ...], _Count] = field(default_factory=dict)
    addresses: int = 0  # how many of the callers are addresses


class Tally:
    """The refusals of the minutes not yet closed, by caller; each refusal counted in
    constant time, whatever the flood."""

    def __init__(
        self, *, most_callers: int = MOST_CALLERS, most_addresses: int = MOST_ADDRESSES
    ) -> None:
        self._most_callers = most_callers
        self._most_addresses = most_addresses
        self._minutes: dict[datetime, _Minute] = {}

    def count(
        self,
        *,
        at: datetime,
        principal: Principal | None,
        client_ip: str | None,
        route: str,
        status: int,
    ) -> None:
        """Count one refusal: by `principal` when its token was verified, otherwise by
        the address it came from."""
        address = client_ip[:MOST_ADDRESS_CHARACTERS] if client_ip else None
        minute = self._minutes.setdefault(minute_of(at), _Minute())
        counted = minute.callers.get(_key(principal, address))
        if counted is None:
            counted = self._opened(minute, principal, address, at)
        counted.count += 1
        counted.statuses[status] += 1
        counted.routes[route] += 1
        counted.first, counted.last = min(counted.first, at), max(counted.last, at)

    def _opened(
        self, minute: _Minute, principal: Principal | None, address: str | None, at: datetime
    ) -> _Count:
        """The count of a caller new this minute: its own, or the others' past a cap."""
        full = len(minute.callers) - (_OTHERS in minute.callers) >= self._most_callers
        if full or (principal is None and minute.addresses >= self._most_addresses):
            key, who, address = _OTHERS, OTHERS, None
            if key in minute.callers:
                return minute.callers[key]
        else:
            key, who = _key(principal, address), principal or ANONYMOUS
            minute.addresses += principal is None
        counted = minute.callers[key] = _Count(principal=who, client_ip=address, first=at, last=at)
        return counted

    def closed(self, now: datetime, *, everything: bool = False) -> list[Refused]:
        """Take out the minutes before `now`'s (every minute, with `everything`), oldest
        first, each caller's in the order it was first refused."""
        current = minute_of(now)
        done = sorted(m for m in self._minutes if everything or m < current)
        return [c.refused() for m in done for c in self._minutes.pop(m).callers.values()]

    def due(self) -> datetime | None:
        """When the oldest minute held closes; None when nothing is held."""
        return min(self._minutes) + timedelta(minutes=1) if self._minutes else None

    def __len__(self) -> int:
        """The refusals held."""
        return sum(c.count for m in self._minutes.values() for c in m.callers.values())


def _key(principal: Principal | None, address: str | None) -> tuple[str | None, ...]:
    """A verified token's identity, whichever route it was for; else the address."""
    if principal is None:
        return ("address", address)
    return ("principal", principal.object_id, principal.app_id, principal.name)
