"""The seal use case: seal a thread's blobs as they are, once, and only if nothing the
last seal covered has changed since.

A seal is written create-only under its natural name; the thread row then records it
as the thread's newest seal. A thread whose blobs are exactly what its last seal
covers gets no new seal. A thread where a sealed blob is gone or changed, or whose last
seal does not verify, is refused, never sealed over: sealing must not launder
tampering.

Whether the last seal verifies is decided only with keys the archive cannot supply: the
signer's own key (every version of a Key Vault key) and ARCHIVE_SEAL_TRUSTED_KEYS. A
seal signed by any other key is a refusal, however well it verifies with a key someone
published in the archive: whoever can write to the storage account can publish a key.
The public key is published under keys/ before the first seal that names it, for
auditors' convenience only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from archiver.capture.ledger import Ledger
from archiver.capture.threadwrites import ThreadRows
from archiver.capture.turns import Turns
from archiver.core.activity import SEALING
from archiver.core.errors import AlreadyStored, DamagedArchive
from archiver.core.evidence.seals import (
    Seal,
    altered_since,
    key_name,
    next_seal,
    parse_seal,
    signed,
    unchanged,
)
from archiver.core.evidence.signatures import PublicKey, Signer, keyring
from archiver.core.governance.principals import TIMER, Principal
from archiver.core.keys import encode_key
from archiver.core.layout import content_sha256
from archiver.core.threads import Patch, ThreadRow
from archiver.governance.trail import AuditTrail
from archiver.sealing.erasures import erasures_of, excused
from archiver.sealing.holdings import covered, holdings
from archiver.storage.catalog import thread_ids
from archiver.storage.ports import Storage

# A thread's seal takes a few requests; a sealer that dies holding the lease holds it
# this long at most.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class Sealing:
    """What sealing one thread did: the seal written, or why none was."""

    thread_id: str
    seal: Seal | None = None  # written now
    unchanged: bool = False  # the last seal covers the thread as it is
    refused: tuple[str, ...] = ()  # the thread was altered since its last seal
    busy: bool = False  # another sealer holds the thread's lease: try again later

    @property
    def outcome(self) -> str:
        """ "sealed", "unchanged", "refused" or "busy"."""
        if self.busy:
            return "busy"
        return "sealed" if self.seal else "unchanged" if self.unchanged else "refused"


class Sealer:
    """Seals threads with one signer."""

    def __init__(
        self,
        storage: Storage,
        signer: Signer,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int = 8,
        trail: AuditTrail | None = None,
        trusted: Sequence[PublicKey] = (),
    ) -> None:
        """`trusted`: public keys besides the signer's own that earlier seals may have
        been signed with (ARCHIVE_SEAL_TRUSTED_KEYS)."""
        self._storage = storage
        self._trusted = tuple(trusted)
        self._keys: dict[str, PublicKey] | None = None
        self._trail = trail
        self._signer = signer
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._rows = ThreadRows(storage, ledger=Ledger(), limit=self._limit, turns=Turns())
        self._published = False

    async def seal(self, thread_id: str, principal: Principal = TIMER) -> Sealing:
        """Seal the thread as it is now (see the module's rules); a seal written or a
        thread refused is recorded in the audit trail. Only one sealer at a time seals a
        thread (a lease in ChatActivity): two would each chain a seal to the same last one,
        a fork; the one that finds the lease taken returns `busy`."""
        thread_key = encode_key(thread_id, field="threadId")
        activity = self._storage.activity
        if not await activity.claim(SEALING, thread_key, now=self._clock(), hold=LEASE):
            return Sealing(thread_id=thread_id, busy=True)
        try:
            result = await self._seal(thread_id)
        finally:
            await activity.forget(SEALING, thread_key)
        if self._trail is not None and not result.unchanged:
            details: dict[str, object] = {"refused": list(result.refused)}
            if result.seal is not None:
                details = {"seal": result.seal.name, "rootHash": result.seal.root_hash}
            await self._trail.record(
                "seal",
                principal,
                outcome="done" if result.seal is not None else "refused",
                target={"threadId": thread_id},
                details=details,
            )
        return result

    async def _seal(self, thread_id: str) -> Sealing:
        thread_key = encode_key(thread_id, field="threadId")
        held = await holdings(self._storage, thread_key)
        blobs = await covered(self._storage, held.blobs)
        # A leaf a trusted receipt deleted (a plain archive's redaction) stays sealed.
        erased = await erasures_of(self._storage, held.blobs, await self.trusted_keys())
        blobs += excused(erased, {blob.name for blob in blobs})
        last = None
        if held.seals:
            name, content = held.seals[-1]
            try:
                last = parse_seal(content, name=name)
            except DamagedArchive as exc:
                return Sealing(thread_id=thread_id, refused=(str(exc),))
            if problem := await self._unverified(last):
                return Sealing(thread_id=thread_id, refused=(problem,))
        if problems := altered_since(blobs, last):
            return Sealing(thread_id=thread_id, refused=tuple(problems))
        if unchanged(blobs, last):
            return Sealing(thread_id=thread_id, unchanged=True)
        key = await self._signer.public_key()
        seal = next_seal(
            thread_id=thread_id,
            thread_key=thread_key,
            blobs=blobs,
            last=last,
            sealed_at=self._clock(),
            key_id=key.key_id,
            algorithm=key.algorithm,
        )
        seal = signed(seal, await self._signer.sign(seal.signed_bytes()))
        await self._publish(key)
        document = seal.document()
        try:
            await self._storage.blobs.create(seal.name, document)
        except AlreadyStored:
            return Sealing(thread_id=thread_id, refused=(f"{seal.name} was sealed meanwhile",))
        row = ThreadRow(
            thread_key=thread_key,
            thread_id=thread_id,
            seal=seal.name,
            seal_sha256=content_sha256(document),
        )
        await self._rows.join(Patch(row))
        return Sealing(thread_id=thread_id, seal=seal)

    async def seal_all(
        self, principal: Principal = TIMER, *, threads: Iterable[str] | None = None
    ) -> AsyncIterator[Sealing]:
        """Seal every thread the archive holds (or `threads`), a few at a time, in order."""
        pending: list[asyncio.Task[Sealing]] = []
        try:
            async for thread_id in _each(thread_ids(self._storage) if threads is None else threads):
                pending.append(asyncio.ensure_future(self.seal(thread_id, principal)))
                if len(pending) >= 8:
                    yield await pending.pop(0)
            while pending:
                yield await pending.pop(0)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def trusted_keys(self) -> dict[str, PublicKey]:
        """The keys a seal may be signed with to be chained to, by id: the signer's own
        and the configured ones, read once per sealer; never a key from the archive."""
        if self._keys is None:
            self._keys = keyring((*await self._signer.own_keys(), *self._trusted))
        return self._keys

    async def _unverified(self, last: Seal) -> str | None:
        """Why the last seal cannot be chained to (not signed by a trusted key), or None."""
        key = (await self.trusted_keys()).get(last.key_id)
        if key is None:
            return (
                f"{last.name} is signed by key {last.key_id}, which is not the seal key "
                "nor one of ARCHIVE_SEAL_TRUSTED_KEYS"
            )
        if not key.verifies(last.signed_bytes(), last.signature, last.algorithm):
            return f"{last.name} does not verify: its signature fails"
        return None

    async def _publish(self, key: PublicKey) -> None:
        """Publish the public key under keys/ once (create-only: the same key id
        is always the same key)."""
        if self._published:
            return
        with contextlib.suppress(AlreadyStored):
            await self._storage.blobs.create(key_name(key.key_id), key.pem())
        self._published = True


async def _each(items: AsyncIterable[str] | Iterable[str]) -> AsyncIterator[str]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
