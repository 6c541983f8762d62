"""Who did something: the principal an audit record names and a role check asks about.

A read through Microsoft Entra ID is the token's object id, application id and name;
a read with a function key is only "function-key" (a shared key says nothing of who);
a command is the Azure identity it runs as, or "local". Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

READ_ROLE = "Archive.Read"
ADMIN_ROLE = "Archive.Admin"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who made a request, as far as its credential proves."""

    kind: str  # "entra", "function-key", "event-grid", "cli", "local", "timer", "app"
    object_id: str | None = None  # the token's `oid`
    app_id: str | None = None  # the token's `appid` or `azp`
    name: str | None = None  # the token's `name`, `upn` or `preferred_username`
    roles: frozenset[str] = frozenset()

    def has(self, role: str) -> bool:
        """True when the principal holds `role` (a key holder holds every role)."""
        return self.kind in TRUSTED_KINDS or role in self.roles

    def as_json(self) -> dict[str, Any]:
        """The principal as an audit record names it (never a token or a key)."""
        return {
            "kind": self.kind,
            "objectId": self.object_id,
            "appId": self.app_id,
            "name": self.name,
        }


# Who may do anything: whoever holds the function key (today's access model, the
# default), and the app's own timers, triggers and commands run by an operator.
TRUSTED_KINDS = frozenset({"function-key", "cli", "local", "timer", "app"})
FUNCTION_KEY = Principal(kind="function-key")
TIMER = Principal(kind="timer")
APP = Principal(kind="app")  # the app acting on an event (a dead letter to replay)
