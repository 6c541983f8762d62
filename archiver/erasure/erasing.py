"""`archiver erase`: everything one participant sent, in every thread, made unreadable
for good, with a second approver, by the precedence hold > retention obligation >
erasure, thread by thread, and a signed receipt in each thread.

A person's versions are found by key, not by a scan: their pseudonym names their subject
key's partition (and its later generations), whose rows name every version blob. Per
thread, by its holds and obligation:

- held: each data key is re-wrapped under a custody key of this erasure (its own row,
  wrapped by the root key), so the versions stay readable for the matter after the
  subject key goes; `archiver erase --release` shreds them once no matter holds the
  thread, writing the thread's second receipt;
- under a retention obligation: each data key is re-wrapped under the restriction key;
- otherwise: each data key row is destroyed, so every reader sees it at once, and the
  message rows lose the text, the sender's name and id.

Then every generation of the subject key is destroyed. Nothing runs until a second
principal, not the one who asked, approves the same request (the same participant,
reference and basis) within `APPROVAL_DAYS`; the participant's id is never stored, only
its pseudonym, so the approver must name it again. Other people's messages that name the
person (by display name) are listed for review, not changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from archiver.core.erasure.keys import unwrap_data_key, wrap_data_key
from archiver.core.erasure.precedence import decide, obligation_ends
from archiver.core.erasure.receipts import Decision, Item, Kind, Phase, Receipt, receipt_id
from archiver.core.errors import ConfigurationError, Forbidden, InvalidQuery
from archiver.core.evidence.signatures import Signer
from archiver.core.governance.principals import Principal
from archiver.core.keys import encode_key
from archiver.erasure.actions import Restriction, derived
from archiver.erasure.redaction import Forget, check_text
from archiver.erasure.rows import redact_row, scrub_member
from archiver.erasure.signing import signed
from archiver.erasure.subjects import data_keys_by_thread, generations, naming
from archiver.governance.custody import holders
from archiver.governance.holds import who
from archiver.governance.trail import AuditTrail
from archiver.storage.keyports import KeyState, KnownKey
from archiver.storage.ports import Storage

APPROVAL_DAYS = 7
AWAITING = "awaiting-approval"


@dataclass(frozen=True, kw_only=True)
class ErasureAnswer:
    """What an erase request did: awaiting approval, or each thread's receipt."""

    request_id: str
    awaiting: bool = False
    dry_run: bool = False
    decisions: dict[str, Decision] | None = None  # by thread id
    receipts: tuple[Receipt, ...] = ()
    review: tuple[tuple[str, str], ...] = ()  # (thread id, message id) naming the person


class Erasing:
    """Erases a participant, once two principals have asked for it."""

    def __init__(
        self,
        storage: Storage,
        trail: AuditTrail,
        *,
        obligation_days: int = 0,
        restriction: Restriction | None = None,
        forget: Forget | None = None,
        signer: Signer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage, self._trail = storage, trail
        self._obligation_days, self._restriction = obligation_days, restriction
        self._forget, self._signer, self._clock = forget, signer, clock

    async def erase(
        self,
        *,
        participant: str,
        request: str,
        basis: str,
        principal: Principal,
        approve: bool = False,
        dry_run: bool = False,
    ) -> ErasureAnswer:
        """Ask for the erasure, or (`approve`) approve and do it."""
        request, basis = check_text(request, "request"), check_text(basis, "basis")
        keyring = self._storage.versions.keyring
        if keyring is None:
            raise ConfigurationError(
                "erasing a participant destroys their keys: it needs envelope mode's root key "
                "(ARCHIVE_ROOT_KEY); a plain archive has none"
            )
        pseudonym = await keyring.pseudonym(participant.strip())
        rid = hashlib.sha256(f"{request}\x00{basis}\x00{pseudonym}".encode()).hexdigest()[:16]
        target = {"participant": pseudonym}
        details = {"request": request, "basis": basis, "requestId": rid}
        threads = await data_keys_by_thread(self._storage, pseudonym)
        decisions = {thread_id: await self._decision(thread_id) for thread_id in threads}
        if dry_run:
            await self._trail.record(
                "erase", principal, outcome="dry-run", target=target, details=details
            )
            return ErasureAnswer(request_id=rid, dry_run=True, decisions=decisions)
        if not approve:
            await self._trail.record(
                "erase", principal, outcome=AWAITING, target=target, details=details
            )
            return ErasureAnswer(request_id=rid, awaiting=True, decisions=decisions)
        asked_by = await self._asker(rid, principal)
        if Decision.RESTRICTED in decisions.values() and self._restriction is None:
            raise InvalidQuery(
                "a thread is under a retention obligation (ARCHIVE_MINIMUM_RETENTION_DAYS): "
                "its versions can only be restricted, and ARCHIVE_RESTRICTION_KEY is not set"
            )
        await self._trail.record(
            "erase", principal, outcome="approved", target=target, details=details
        )
        now = self._clock()
        review = await naming(self._storage, participant, threads)
        receipts = []
        for thread_id, rows in sorted(threads.items()):
            erased = await self._erase_thread(
                thread_id,
                rows,
                decisions[thread_id],
                rid=rid,
                request=request,
                basis=basis,
                people=(asked_by, who(principal)),
                now=now,
                participant=participant.strip(),
            )
            receipts.append(erased)
        subjects = await generations(self._storage, pseudonym)
        for subject in subjects:
            await self._storage.keys.destroy(
                subject.row.subject_id, subject.row.key_id, etag=subject.etag, at=now, receipt=rid
            )
        keyring.forget(pseudonym, [s.row.subject_id for s in subjects])
        gone = sorted(
            i.blob for r in receipts for i in r.items if i.decision is not Decision.QUEUED
        )
        if gone and self._forget is not None:
            await self._forget(gone)
        done = details | {"blobs": gone, "receipts": [r.name for r in receipts]}
        await self._trail.record("erase", principal, outcome="done", target=target, details=done)
        return ErasureAnswer(
            request_id=rid, decisions=decisions, receipts=tuple(receipts), review=review
        )

    async def _decision(self, thread_id: str) -> Decision:
        thread_key = self._key(thread_id)
        held = await holders(self._storage, thread_key, thread_id)
        known = await self._storage.threads.get(thread_key)
        until = obligation_ends(
            None if known is None else known.row.last_activity, self._obligation_days
        )
        matters = tuple(sorted({h.matter or "legacy hold" for h in held}))
        return decide(held_by=matters, obligation_until=until, now=self._clock(), envelope=True)

    async def _asker(self, rid: str, approver: Principal) -> str:
        """Who asked for request `rid` within APPROVAL_DAYS: never the approver."""
        since = self._clock() - timedelta(days=APPROVAL_DAYS)
        named = {_named(record) async for record in self._asked(rid, since)}
        if not named:
            raise InvalidQuery(
                f"no erasure request {rid} awaits approval (asked within {APPROVAL_DAYS} days): "
                "ask for it first, without --approve"
            )
        others = named - {who(approver)}
        if not others:
            raise Forbidden("the second approver must be another principal than the one who asked")
        return sorted(others)[0]

    async def _asked(self, rid: str, since: datetime) -> AsyncIterator[dict[str, Any]]:
        async for record in self._trail.records(since=since):
            asked = record.get("action") == "erase" and record.get("outcome") == AWAITING
            if asked and (record.get("details") or {}).get("requestId") == rid:
                yield record

    @staticmethod
    def _key(thread_id: str) -> str:
        return encode_key(thread_id, field="threadId")

    async def _erase_thread(
        self,
        thread_id: str,
        rows: list[KnownKey],
        decision: Decision,
        *,
        rid: str,
        request: str,
        basis: str,
        people: tuple[str, str],
        now: datetime,
        participant: str,
    ) -> Receipt:
        thread_key = self._key(thread_id)
        thread_rid = receipt_id(request, Kind.ERASURE, thread_key, rid)
        keyring = self._storage.versions.keyring
        assert keyring is not None
        custody = f"custody-{thread_rid}"
        custody_key = (
            await keyring.new_custody_key(custody) if decision is Decision.QUEUED else None
        )
        listed = {b.name: b async for b in self._storage.blobs.listing(f"messages/{thread_key}/")}
        items = []
        for known in rows:
            row = known.row
            stored = listed.get(row.blob)
            wrapped_sha256 = hashlib.sha256(row.wrapped).hexdigest()
            ids = {"data_key_id": row.key_id, "subject_key_id": row.subject_id}
            if row.state is KeyState.RESTRICTED and decision is not Decision.SHREDDED:
                pass  # restricted already (a redaction under the obligation): it stays so
            elif decision is Decision.SHREDDED:
                await self._storage.keys.destroy(
                    row.subject_id, row.key_id, etag=known.etag, at=now, receipt=thread_rid
                )
            else:
                opener = await keyring.opened_key(row.wrapped_by)
                data_key = unwrap_data_key(row.wrapped, subject_key=opener, **ids)
                if custody_key is not None:
                    wrapped = wrap_data_key(data_key, subject_key=custody_key, **ids)
                    changed = replace(row, wrapped=wrapped, wrapped_by=custody)
                else:
                    assert self._restriction is not None
                    wrapped = self._restriction.restrict(data_key, **ids)
                    changed = replace(
                        row,
                        wrapped=wrapped,
                        wrapped_by=self._restriction.key_id,
                        state=KeyState.RESTRICTED,
                    )
                changed = replace(changed, changed=now, receipt=thread_rid)
                await self._storage.keys.replace(changed, etag=known.etag)
            items.append(
                Item(
                    blob=row.blob,
                    sha256=(stored.sha256 or "") if stored else "",
                    size=stored.size if stored else 0,
                    decision=decision,
                    key=f"{row.subject_id}/{row.key_id}",
                    wrapped_sha256=wrapped_sha256,
                )
            )
        if decision is not Decision.QUEUED:
            await scrub_member(self._storage, thread_key, participant)
            copies, _ = await derived(self._storage, thread_key, signed=self._signer is not None)
            gone = frozenset(i.blob for i in items)
            items += copies
            for message_key in sorted({blob.split("/")[2] for blob in gone}):
                await redact_row(
                    self._storage,
                    thread_key,
                    message_key,
                    gone=gone,
                    receipt=thread_rid,
                    sender=True,
                )
        receipt = Receipt(
            receipt_id=thread_rid,
            phase=Phase.KEYS_DESTROYED,
            kind=Kind.ERASURE,
            request=request,
            basis=basis,
            thread_id=thread_id,
            thread_key=thread_key,
            requested_by=people[0],
            approved_by=people,
            at=now,
            items=tuple(items),
        )
        receipt = await signed(receipt, self._signer)
        await self._storage.blobs.create(receipt.name, receipt.document())
        return receipt


def _named(record: dict[str, Any]) -> str:
    """How an audit record's principal is named, as `who` names a principal."""
    found = record.get("principal") or {}
    principal = Principal(
        kind=str(found.get("kind")),
        name=found.get("name"),
        object_id=found.get("objectId"),
        app_id=found.get("appId"),
    )
    return who(principal)
