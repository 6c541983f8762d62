"""Writing checkpoints: after each sealing run, one signed checkpoint of every thread's
newest seal and of the audit records written since the last checkpoint.

A checkpoint never launders: a thread's head moves only to a seal signed by a trusted key
that descends, link by link, from the head the last checkpoint recorded and covers
everything that head covered; a head leaves only with a disposal receipt signed by a
trusted key. A thread that fails either keeps its old head and is reported (refused), as
is a chain of checkpoints that does not verify, in which case nothing is written. Audit
records are taken by the time in their names, up to an hour ago (a record may be stored
later than the time it is named by); one named before the last
checkpoint's cut that appears later is reported by `verify --checkpoint`, not taken.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from archiver.core.errors import AlreadyStored, DamagedArchive, NotFound
from archiver.core.evidence.checkpoints import Checkpoint, Head, Increment, State, next_note
from archiver.core.evidence.receipts import Receipt, signed_receipt
from archiver.core.evidence.seals import Covered, Link, Seal, is_seal_name, parse_seal
from archiver.core.evidence.signatures import PublicKey, Signer, keyring
from archiver.core.governance.audit import AUDIT_PREFIX, day_prefix
from archiver.core.layout import SEALS_PREFIX, content_sha256
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.holdings import hashes
from archiver.sealing.judgement import consistency
from archiver.storage.ports import Storage, StoredBlob

# Audit records younger than this wait for the next checkpoint: a record may be stored
# later than the time in its name (refusals are counted for a minute, and a failed store
# is retried for up to an hour: archiver.access.refusals).
MARGIN = timedelta(hours=1, minutes=5)
_AUDIT_TIME = re.compile(r"^audit/(\d{4})/(\d{2})/(\d{2})/(\d{2})(\d{2})(\d{2})-")


@dataclass(frozen=True, kw_only=True)
class Checkpointing:
    """What a checkpoint run did: the checkpoint written (None: nothing new, or refused),
    and each problem found (a thread whose head did not move, or the chain)."""

    checkpoint: Checkpoint | None = None
    refused: tuple[str, ...] = ()


def audit_time(name: str) -> datetime | None:
    """The time (to the second) in an audit record's name; None for another name."""
    found = _AUDIT_TIME.match(name)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class Checkpointer:
    """Writes the next checkpoint of one archive with one signer."""

    def __init__(
        self,
        storage: Storage,
        signer: Signer,
        log: CheckpointLog,
        *,
        origin: str,
        trusted: Sequence[PublicKey] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        margin: timedelta = MARGIN,
    ) -> None:
        """`margin`: how old an audit record must be to be taken (see the module)."""
        self._storage = storage
        self._margin = margin
        self._signer = signer
        self._log = log
        self._origin = origin
        self._trusted = tuple(trusted)
        self._keys: dict[str, PublicKey] | None = None
        self._clock = clock

    async def keys(self) -> dict[str, PublicKey]:
        """The keys checkpoints, seals and receipts are trusted by, read once (for a Key
        Vault key, its versions are listed once, not on every run of this process)."""
        if self._keys is None:
            self._keys = keyring((*await self._signer.own_keys(), *self._trusted))
        return self._keys

    async def write(self) -> Checkpointing:
        """Write the next checkpoint (see the module's rules)."""
        keys = await self.keys()
        chain = await self._log.chain(keys)
        if chain.problems:
            return Checkpointing(refused=tuple(f"{name}: {why}" for name, why in chain.problems))
        state = chain.state
        now = self._clock()
        heads, disposed, refused = await self._heads(state, keys)
        until = (now - self._margin).replace(microsecond=0)
        if state.audit_until is not None:
            until = max(until, state.audit_until)
        records = await self._audit(state.audit_until, until)
        if not heads and not disposed and not records and state.last is not None:
            return Checkpointing(refused=tuple(refused))
        increment = Increment(
            heads=tuple(heads), disposed=tuple(disposed), audit=tuple(records), audit_until=until
        )
        own = await self._signer.public_key()
        note, _ = next_note(state, increment, origin=self._origin, made_at=now, key_id=own.key_id)
        note = replace(note, signature=await self._signer.sign(note.body().encode()))
        checkpoint = Checkpoint(note=note, increment=increment)
        try:
            await self._log.write(checkpoint.name, checkpoint.document())
        except AlreadyStored:
            return Checkpointing(refused=(f"{checkpoint.name} was written meanwhile",))
        return Checkpointing(checkpoint=checkpoint, refused=tuple(refused))

    async def receipt(
        self, *, thread_id: str, thread_key: str, head: Link | None, blobs: int
    ) -> Receipt:
        """Sign and store the receipt of a disposal about to be carried out: `head` is
        the thread's newest seal (name and SHA-256), `blobs` how many will go."""
        own = await self._signer.public_key()
        receipt = Receipt(
            thread_id=thread_id,
            thread_key=thread_key,
            head=head,
            blobs=blobs,
            disposed_at=self._clock(),
            key_id=own.key_id,
            algorithm=own.algorithm,
        )
        receipt = signed_receipt(receipt, await self._signer.sign(receipt.signed_bytes()))
        await self._log.write(receipt.name, receipt.document())
        return receipt

    async def _heads(
        self, state: State, keys: Mapping[str, PublicKey]
    ) -> tuple[list[Head], list[tuple[str, str]], list[str]]:
        heads: list[Head] = []
        disposed: list[tuple[str, str]] = []
        refused: list[str] = []
        seen = set()
        async for thread_key, names in self._sealed_threads():
            seen.add(thread_key)
            old = state.heads.get(thread_key)
            if old is not None and old.seal == names[-1]:
                continue  # unchanged; its bytes are for verify to check, never re-recorded
            head, problem = await moved(self._storage, old, names, keys)
            if problem is not None and old is not None:
                receipt = await self._disposal(state, thread_key, keys)
                if receipt is not None:
                    disposed.append((thread_key, receipt.name))
                    head, problem = await moved(self._storage, None, names, keys)
            if problem is not None:
                refused.append(problem)
            elif head is not None:
                heads.append(head)
        for thread_key, old in sorted(state.heads.items()):
            if thread_key in seen:
                continue
            receipt = await self._disposal(state, thread_key, keys)
            if receipt is None:
                refused.append(
                    f"the seals of thread {old.thread_id} are gone, {old.seal} with them, "
                    "and no disposal receipt says why"
                )
            else:
                disposed.append((thread_key, receipt.name))
        return heads, disposed, refused

    async def _disposal(
        self, state: State, thread_key: str, keys: Mapping[str, PublicKey]
    ) -> Receipt | None:
        """A trusted receipt of the thread's disposal since the last checkpoint."""
        since = state.last.made_at if state.last is not None else None
        for receipt in reversed(await self._log.receipts(thread_key, keys)):
            if since is None or receipt.disposed_at >= since:
                return receipt
        return None

    async def _sealed_threads(self) -> AsyncIterator[tuple[str, list[str]]]:
        """Each sealed thread's seals, oldest first, from one flat listing of `seals/`:
        a listing request per 5,000 seals, not one per thread."""
        thread_key, names = "", list[str]()
        async for name in self._storage.blobs.names(SEALS_PREFIX):
            key = name[len(SEALS_PREFIX) :].split("/", 1)[0]
            if key != thread_key:
                if names:
                    yield thread_key, names
                thread_key, names = key, []
            if is_seal_name(name, key):
                names.append(name)
        if names:
            yield thread_key, names

    async def _audit(self, since: datetime | None, until: datetime) -> list[Covered]:
        """The audit records named in [since, until), in name order, with their hashes."""
        found = []
        async for blob in _audit_listing(self._storage, since, until):
            when = audit_time(blob.name)
            if when is None or when >= until or (since is not None and when < since):
                continue
            found.append(blob)
        unrecorded = [blob.name for blob in found if blob.sha256 is None]
        hashed = dict(zip(unrecorded, await hashes(self._storage, unrecorded), strict=True))
        records = []
        for blob in found:
            digest = blob.sha256 or hashed.get(blob.name)
            if digest is not None:
                records.append(Covered(name=blob.name, size=blob.size, sha256=digest))
        return sorted(records)


async def moved(
    storage: Storage, old: Head | None, names: Sequence[str], keys: Mapping[str, PublicKey]
) -> tuple[Head | None, str | None]:
    """The thread's new head (its newest seal), or why it cannot be: the seal does not
    verify with `keys`, or does not descend from `old` covering all `old` covered."""
    newest = names[-1]
    try:
        content = await storage.blobs.read(newest)
        seal = parse_seal(content, name=newest)
    except (NotFound, DamagedArchive) as exc:
        return None, f"{newest}: {exc}"
    key = keys.get(seal.key_id)
    if key is None or not key.verifies(seal.signed_bytes(), seal.signature, seal.algorithm):
        return None, f"{newest} is not signed by a trusted key"
    head = Head(
        thread_key=seal.thread_key,
        thread_id=seal.thread_id,
        seal=newest,
        sha256=content_sha256(content),
    )
    if old is None:
        return head, None
    if newest == old.seal:
        same = head.sha256 == old.sha256
        return (head, None) if same else (None, f"{newest} is not the seal last checkpointed")
    ancestor = await _ancestor(storage, seal, old)
    if isinstance(ancestor, str):
        return None, ancestor
    if changes := consistency(ancestor, seal):
        blob, what, _ = changes[0]
        return None, f"{newest} does not keep what {old.seal} sealed: {blob} {what}"
    return head, None


async def _ancestor(storage: Storage, seal: Seal, old: Head) -> Seal | str:
    """The seal `old` names, reached from `seal` by its previous links; or why not."""
    current = seal
    while current.previous is not None:
        link = current.previous
        try:
            content = await storage.blobs.read(link.name)
        except NotFound:
            return f"{seal.name} is chained to {link.name}, which is gone"
        if content_sha256(content) != link.sha256:
            return f"{link.name} is not the seal {current.name} is chained to"
        current = parse_seal(content, name=link.name)
        if link.name == old.seal:
            if link.sha256 != old.sha256:
                return f"{old.seal} is not the seal the last checkpoint recorded"
            return current
    return (
        f"the chain of thread {old.thread_id} no longer holds {old.seal}, "
        "which the last checkpoint recorded as its newest seal"
    )


async def _audit_listing(
    storage: Storage, since: datetime | None, until: datetime
) -> AsyncIterator[StoredBlob]:
    if since is None:
        async for blob in storage.blobs.listing(AUDIT_PREFIX):
            yield blob
        return
    day = since
    while day.date() <= until.date():
        async for blob in storage.blobs.listing(day_prefix(day)):
            yield blob
        day += timedelta(days=1)
