"""`archiver redact`: the chosen versions of one message made unreadable for good, by the
precedence hold > retention obligation > erasure, with a sealed receipt.

In order, so that nothing happens unrecorded and a crash leaves nothing wrong:

1. the request is checked, and every version it names is read (its leaf, its header);
2. each version is decided (archiver.core.erasure.precedence); `--dry-run` stops here,
   recorded as such;
3. an audit record says who asked for what, before anything changes;
4. each decision is done (archiver.erasure.actions), each key row marked with the
   receipt's id;
5. the message's latest row is rewritten if it points at a version now gone;
6. the receipt is written (create-only, under the thread, so its next seal covers it),
   the search index told to forget the versions, and a second audit record says done.

The same request again (the same reference, thread, message and version) finds the work
done and its receipt, and writes nothing new. A plain archive (envelope mode off) has no
keys: a version there is deleted, and the receipt accounts for the missing leaf; if the
container is immutable (WORM), the request is refused before anything changes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from archiver.core.erasure.envelopes import read_header
from archiver.core.erasure.precedence import decide, obligation_ends
from archiver.core.erasure.receipts import (
    ERASURES_PREFIX,
    Decision,
    Item,
    Kind,
    Phase,
    Receipt,
    parse_receipt,
    receipt_id,
    receipt_of,
)
from archiver.core.errors import AlreadyStored, Immutable, InvalidQuery, UnknownThread
from archiver.core.evidence.signatures import Signer
from archiver.core.governance.principals import Principal
from archiver.core.inventory import MessageBlob, entry
from archiver.core.keys import encode_key
from archiver.core.layout import MESSAGES_PREFIX, content_sha256
from archiver.erasure.actions import Affected, Restriction, act
from archiver.erasure.rows import redact_row
from archiver.erasure.signing import signed
from archiver.governance.custody import holders
from archiver.governance.holds import who
from archiver.governance.trail import AuditTrail
from archiver.storage.ports import Storage
from archiver.storage.versions import is_envelope

MAX_TEXT = 500  # a reference, a reason, a legal basis: a line, not a document
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Forget = Callable[[Collection[str]], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What a request decided per version, its receipt (None for a dry run), and
    whether it had been done before."""

    receipt: Receipt | None
    items: tuple[Item, ...]
    dry_run: bool = False
    again: bool = False


class Redaction:
    """Redacts chosen versions of a message."""

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
        self._storage = storage
        self._signer = signer
        self._trail = trail
        self._obligation_days = obligation_days
        self._restriction = restriction
        self._forget = forget
        self._clock = clock

    async def redact(
        self,
        *,
        thread_id: str,
        message_id: str,
        version: int | None,
        reason: str,
        request: str,
        principal: Principal,
        dry_run: bool = False,
    ) -> Answer:
        """Redact `version` of the message (every version when None)."""
        reason, request = check_text(reason, "reason"), check_text(request, "request")
        thread_key = encode_key(thread_id, field="threadId")
        message_key = encode_key(message_id, field="messageId")
        scope = f"{message_key}/{'all' if version is None else version}"
        rid = receipt_id(request, Kind.REDACTION, thread_key, scope)
        target: dict[str, object] = {
            "threadId": thread_id,
            "messageId": message_id,
            "version": version,
        }
        details = {"request": request, "reason": reason, "receipt": rid}
        done = await self._existing(thread_key, rid)
        if done is not None:
            return Answer(receipt=done, items=done.items, again=True)
        affected = await self._affected(thread_key, message_key, version, target)
        held_by = tuple(
            sorted(
                {
                    h.matter or "legacy hold"
                    for h in await holders(self._storage, thread_key, thread_id)
                }
            )
        )
        known = await self._storage.threads.get(thread_key)
        until = obligation_ends(
            None if known is None else known.row.last_activity, self._obligation_days
        )
        now = self._clock()
        decisions = [
            decide(held_by=held_by, obligation_until=until, now=now, envelope=a.header is not None)
            for a in affected
        ]
        if dry_run:
            await self._trail.record(
                "redact", principal, outcome="dry-run", target=target, details=details
            )
            items = tuple(
                Item(
                    blob=a.blob,
                    sha256=a.sha256,
                    size=a.size,
                    decision=d,
                    key=a.key,
                    held_by=held_by if d is Decision.QUEUED else (),
                )
                for a, d in zip(affected, decisions, strict=True)
            )
            return Answer(receipt=None, items=items, dry_run=True)
        if Decision.DELETED in decisions and self._signer is None:
            raise InvalidQuery(
                "the archive is not in envelope mode: a version can only be deleted, and the "
                "receipt that accounts for its missing leaf must be signed: set ARCHIVE_SEAL_KEY"
            )
        if Decision.RESTRICTED in decisions and self._restriction is None:
            raise InvalidQuery(
                "the thread is under a retention obligation (ARCHIVE_MINIMUM_RETENTION_DAYS): "
                "its versions can only be restricted, and ARCHIVE_RESTRICTION_KEY is not set"
            )
        await self._trail.record(
            "redact", principal, outcome="requested", target=target, details=details
        )
        done_items: list[Item] = []
        for found, decision in zip(affected, decisions, strict=True):
            try:
                done_items.append(
                    await act(
                        self._storage,
                        found,
                        decision,
                        receipt=rid,
                        at=now,
                        held_by=held_by if decision is Decision.QUEUED else (),
                        restriction=self._restriction,
                    )
                )
            except Immutable as exc:
                raise Immutable(
                    f"{found.blob} is immutable (WORM) and the archive is not in envelope "
                    "mode: nothing can make it unreadable before its retention ends; "
                    "nothing was changed"
                ) from exc
        gone = frozenset(i.blob for i in done_items if i.decision is not Decision.QUEUED)
        if gone:
            await redact_row(self._storage, thread_key, message_key, gone=gone, receipt=rid)
        receipt = Receipt(
            receipt_id=rid,
            phase=Phase.KEYS_DESTROYED,
            kind=Kind.REDACTION,
            request=request,
            basis=reason,
            thread_id=thread_id,
            thread_key=thread_key,
            requested_by=who(principal),
            approved_by=(who(principal),),
            at=now,
            items=tuple(done_items),
        )
        receipt = await signed(receipt, self._signer)
        with contextlib.suppress(AlreadyStored):  # the same second, the same request
            await self._storage.blobs.create(receipt.name, receipt.document())
        if gone and self._forget is not None:
            await self._forget(sorted(gone))
        await self._trail.record(
            "redact",
            principal,
            outcome="done",
            target=target,
            details=details | {"blobs": sorted(gone), "receiptBlob": receipt.name},
        )
        return Answer(receipt=receipt, items=tuple(done_items))

    async def _affected(
        self, thread_key: str, message_key: str, version: int | None, target: dict[str, object]
    ) -> list[Affected]:
        prefix = f"{MESSAGES_PREFIX}{thread_key}/{message_key}/"
        found = []
        async for blob in self._storage.blobs.listing(prefix):
            named = entry(blob.name)
            if not isinstance(named, MessageBlob) or (
                version is not None and named.version != version
            ):
                continue
            content = await self._storage.blobs.read(blob.name)
            header = read_header(content, name=blob.name) if is_envelope(content) else None
            found.append(
                Affected(
                    blob=blob.name, sha256=content_sha256(content), size=len(content), header=header
                )
            )
        if not found:
            what = "message" if version is None else f"version {version} of message"
            raise UnknownThread(
                f"the archive holds no {what} {target['messageId']} in thread {target['threadId']}"
            )
        return found

    async def _existing(self, thread_key: str, rid: str) -> Receipt | None:
        async for name in self._storage.blobs.names(f"{ERASURES_PREFIX}{thread_key}/"):
            named = receipt_of(name)
            if named is not None and named[1] == rid and named[2] is Phase.KEYS_DESTROYED:
                return parse_receipt(await self._storage.blobs.read(name), name=name)
        return None


def check_text(value: str, name: str) -> str:
    """`value` stripped; InvalidQuery unless it is 1 to MAX_TEXT characters on one line."""
    text = value.strip()
    if not text or len(text) > MAX_TEXT or _CONTROL.search(text):
        raise InvalidQuery(f"the {name} must be 1 to {MAX_TEXT} characters on one line")
    return text
