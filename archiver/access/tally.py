"""Refused requests counted in memory per minute and caller: at most `most_callers`
callers a minute, the rest together as the others, so a minute of any flood is at most
`most_callers + 1` counts to store, whatever the number of requests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from archiver.core.audit import ANONYMOUS, OTHERS, Refused, minute_of
from archiver.core.principals import Principal

# Distinct callers a minute, in one process, before the rest are counted as the others.
MOST_CALLERS = 100
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


class Tally:
    """The refusals of the minutes not yet closed, by caller."""

    def __init__(self, *, most_callers: int = MOST_CALLERS) -> None:
        self._most_callers = most_callers
        self._minutes: dict[datetime, dict[tuple[str | None, ...], _Count]] = {}

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
        who = principal or ANONYMOUS
        key: tuple[str | None, ...] = (  # a token's identity, whichever route it was for
            ("principal", who.object_id, who.app_id, who.name)
            if principal is not None
            else ("address", address)
        )
        callers = self._minutes.setdefault(minute_of(at), {})
        if key not in callers and len(callers.keys() - {_OTHERS}) >= self._most_callers:
            key, who, address = _OTHERS, OTHERS, None
        counted = callers.get(key)
        if counted is None:
            counted = callers[key] = _Count(principal=who, client_ip=address, first=at, last=at)
        counted.count += 1
        counted.statuses[status] += 1
        counted.routes[route] += 1
        counted.first, counted.last = min(counted.first, at), max(counted.last, at)

    def closed(self, now: datetime, *, everything: bool = False) -> list[Refused]:
        """Take out the minutes before `now`'s (every minute, with `everything`), oldest
        first, each caller's in the order it was first refused."""
        current = minute_of(now)
        done = sorted(m for m in self._minutes if everything or m < current)
        return [counted.refused() for m in done for counted in self._minutes.pop(m).values()]

    def due(self) -> datetime | None:
        """When the oldest minute held closes; None when nothing is held."""
        return min(self._minutes) + timedelta(minutes=1) if self._minutes else None

    def __len__(self) -> int:
        """The refusals held."""
        return sum(c.count for callers in self._minutes.values() for c in callers.values())
