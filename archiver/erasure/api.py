"""Redaction and erasure over HTTP, for Archive.Admin, answering as the CLI does:

- `POST /api/redactions`, body `{"threadId", "messageId", "version"?, "reason",
  "request", "dryRun"?}`: `archiver redact`;
- `POST /api/erasures`, body `{"participant", "request", "basis", "approve"?, "dryRun"?}`:
  `archiver erase` (the second approver is the caller of a request with `"approve":
  true`, another principal than the asker). The participant's id is in the body, never
  the URL: URLs are logged.

Each request passes the gate (Archive.Admin), and is recorded in the audit trail as
allowed or refused, beside the use case's own records of what it did. The same wiring
builds the use cases for the CLI (`Erasures.redaction()`, `.erasing()`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, Protocol

from archiver.access.gate import Gate
from archiver.core.errors import InvalidQuery
from archiver.core.evidence.signatures import Signer
from archiver.core.governance.principals import ADMIN_ROLE, Principal
from archiver.core.http import HttpRequest, HttpResponse, json_response
from archiver.core.queryparams import allowed
from archiver.core.settings import Settings
from archiver.erasure.erasing import Erasing, ErasureAnswer
from archiver.erasure.redaction import Answer, Forget, Redaction
from archiver.governance.trail import AuditTrail
from archiver.retrieval.audited import Audited
from archiver.storage.ports import Storage


class Forgets(Protocol):
    """A search index that forgets versions (archiver.search.indexes.Indexes)."""

    async def forget(self, storage: Storage, names: Collection[str]) -> None:
        """These versions leave the index."""


class Wiring(Protocol):
    """What the use cases are built from (archiver.bootstrap.Services)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def trail(self) -> AuditTrail: ...
    @property
    def signer(self) -> Signer: ...
    @property
    def search_index(self) -> Forgets | None: ...


class Erasures:
    """Builds the redaction and erasure use cases, and answers their HTTP routes."""

    def __init__(self, wiring: Wiring, *, gate: Gate) -> None:
        self._wiring = wiring
        self._audited = Audited(gate, wiring.trail)

    def redaction(self) -> Redaction:
        """`archiver redact`'s use case, with this archive's settings and keys."""
        return Redaction(self._wiring.storage, self._wiring.trail, **self._options())

    def erasing(self) -> Erasing:
        """`archiver erase`'s use case, with this archive's settings and keys."""
        return Erasing(self._wiring.storage, self._wiring.trail, **self._options())

    def signer(self) -> Signer | None:
        """The seal key's signer, when there is one: receipts are signed with it."""
        return self._wiring.signer if self._wiring.settings.seal_key is not None else None

    def _options(self) -> dict[str, Any]:
        keys = self._wiring.settings.keys
        return {
            "obligation_days": keys.minimum_retention_days,
            "restriction": keys.restriction_key,
            "forget": self.forgetting(),
            "signer": self.signer(),
        }

    def forgetting(self) -> Forget | None:
        """How the use cases make the app's search index forget versions (None: no index)."""
        indexes, storage = self._wiring.search_index, self._wiring.storage
        if indexes is None:
            return None

        async def forget(names: Collection[str]) -> None:
            await indexes.forget(storage, names)

        return forget

    async def redact(self, request: HttpRequest) -> HttpResponse:
        """POST a redaction of a message's versions."""

        async def answer(principal: Principal) -> HttpResponse:
            allowed(request.query, set())
            body = _body(
                request, {"threadId", "messageId", "reason", "request", "version", "dryRun"}
            )
            version = body.get("version")
            if version is not None and not (
                isinstance(version, int | str) and str(version).isdigit()
            ):
                raise InvalidQuery("version must be a whole number")
            done = await self.redaction().redact(
                thread_id=_text(body, "threadId"),
                message_id=_text(body, "messageId"),
                version=None if version is None else int(version),
                reason=_text(body, "reason"),
                request=_text(body, "request"),
                principal=principal,
                dry_run=_flag(body, "dryRun"),
            )
            return json_response(200, redaction_json(done))

        return await self._audited.serve(
            request, action="redact", role=ADMIN_ROLE, target={}, answer=answer
        )

    async def erase(self, request: HttpRequest) -> HttpResponse:
        """POST an erasure of a participant (or its approval)."""

        async def answer(principal: Principal) -> HttpResponse:
            allowed(request.query, set())
            body = _body(request, {"participant", "request", "basis", "approve", "dryRun"})
            done = await self.erasing().erase(
                participant=_text(body, "participant"),
                request=_text(body, "request"),
                basis=_text(body, "basis"),
                principal=principal,
                approve=_flag(body, "approve"),
                dry_run=_flag(body, "dryRun"),
            )
            return json_response(200, erasure_json(done))

        # The participant's id is personal data: the trail names the route, not the id.
        return await self._audited.serve(
            request, action="erase", role=ADMIN_ROLE, target={}, answer=answer
        )


def redaction_json(answer: Answer) -> dict[str, Any]:
    """A redaction's answer, as the CLI's --json prints it."""
    receipt = answer.receipt
    return {
        "dryRun": answer.dry_run,
        "again": answer.again,
        "receipt": None if receipt is None else {"id": receipt.receipt_id, "blob": receipt.name},
        "items": [item.document() for item in answer.items],
    }


def erasure_json(answer: ErasureAnswer) -> dict[str, Any]:
    """An erasure's answer, as the CLI's --json prints it."""
    return {
        "requestId": answer.request_id,
        "awaitingApproval": answer.awaiting,
        "dryRun": answer.dry_run,
        "threads": {t: str(d) for t, d in sorted((answer.decisions or {}).items())},
        "receipts": [{"id": r.receipt_id, "blob": r.name} for r in answer.receipts],
        "review": [{"threadId": t, "messageId": m} for t, m in answer.review],
    }


def _body(request: HttpRequest, names: set[str]) -> dict[str, Any]:
    try:
        value = json.loads(request.body) if request.body.strip() else None
    except ValueError:
        raise InvalidQuery("the body is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidQuery(f"the body must be a JSON object with {', '.join(sorted(names))}")
    unknown = set(value) - names
    if unknown:
        raise InvalidQuery(f"the body has fields this route does not take: {sorted(unknown)}")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidQuery(f"{name} must be text")
    return value


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidQuery(f"{name} must be true or false")
    return value
