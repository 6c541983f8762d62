"""What the governance specs share: archived chats, who acts, and what is left of a thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.events import classify
from archiver.core.governance.disposals import ThreadState
from archiver.core.governance.holds import Hold, Scope
from archiver.core.governance.principals import Principal
from archiver.core.keys import encode_key
from archiver.governance.disposal import Disposal, Disposed
from archiver.governance.holds import Holds
from archiver.governance.trail import AuditTrail
from archiver.sim.conversations import Shape
from archiver.storage.azure import AzureStorage
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage
from tests.builders import ALICE, BOB, CAROL, message_event, thread_event
from tests.chats import Chat, archive, chat

SHAPE = Shape(threads=3, messages=6, participants=(2, 3), delete_threads=0)
ADMIN = Principal(
    kind="entra", object_id="5f1e", name="Ada Admin", roles=frozenset({"Archive.Admin"})
)
OPERATOR = Principal(kind="local", name="operator")
LATER = datetime(2027, 3, 1, tzinfo=UTC)  # the simulated chats are from November 2026
EVEN_LATER = datetime(2027, 9, 1, tzinfo=UTC)


async def archived(storage: Storage) -> Chat:
    simulated = chat(7, SHAPE)
    await archive(storage, simulated.events)
    return simulated


async def deliver(storage: Storage, *events: dict[str, Any]) -> None:
    """Archive `events` as the webhook would."""
    store = Archive(storage, concurrency=4, timeout_seconds=60)
    await store.store([classify(RawEvent.from_value(e)) for e in events])


def key(thread_id: str) -> str:
    return encode_key(thread_id, field="threadId")


def disposal(storage: Storage, days: int = 30, *, at: datetime = LATER) -> Disposal:
    return Disposal(storage, AuditTrail(storage), retention_days=days, clock=lambda: at)


def holds(storage: Storage, *, blob_flags: bool = False) -> Holds:
    return Holds(storage, AuditTrail(storage), blob_flags=blob_flags)


async def hold(storage: Storage, thread_id: str, matter: str, reason: str = "Hold") -> None:
    await holds(storage).add(Scope.THREAD, thread_id, matter=matter, reason=reason, principal=ADMIN)


async def dispose(storage: Storage, **options: Any) -> list[tuple[str, str]]:
    """Run a disposal; what became of each thread."""
    results: list[Disposed] = [r async for r in disposal(storage, **options).run(OPERATOR)]
    return [(r.thread_id, r.outcome) for r in results]


async def everything_of(storage: Storage, thread_id: str) -> list[str]:
    """Every blob, message row and thread row of the thread."""
    thread_key = key(thread_id)
    names = [n async for n in storage.blobs.names() if f"/{thread_key}/" in n]
    rows = [r.message_key async for r in storage.messages.scan(thread_key)]
    thread = await storage.threads.get(thread_key)
    return names + rows + ([thread_key] if thread else [])


async def audit(storage: Storage) -> list[dict[str, Any]]:
    return [r async for r in AuditTrail(storage).records()]


async def custodian_threads(storage: Storage) -> dict[str, str]:
    """Four threads from 2021: Carol is in one, was in another, is in none of the third,
    and the fourth has only her messages (no creation, no participant event)."""
    ids = {
        "member": "19:carol-member@thread.v2",
        "former": "19:carol-former@thread.v2",
        "stranger": "19:carol-stranger@thread.v2",
        "sender": "19:carol-sender@thread.v2",
    }
    await deliver(
        storage,
        thread_event("ChatThreadCreated", thread_id=ids["member"], participants=(ALICE, CAROL)),
        message_event(thread_id=ids["member"], message_id="1613694358927", sender=CAROL),
        thread_event("ChatThreadCreated", thread_id=ids["former"], participants=(ALICE, BOB)),
        thread_event(
            "ChatThreadParticipantAdded", thread_id=ids["former"], participant=CAROL, version=2
        ),
        thread_event(
            "ChatThreadParticipantRemoved", thread_id=ids["former"], participant=CAROL, version=3
        ),
        thread_event("ChatThreadCreated", thread_id=ids["stranger"], participants=(ALICE, BOB)),
        message_event(thread_id=ids["stranger"], message_id="1613694358928"),
        message_event(thread_id=ids["sender"], message_id="1613694358929", sender=CAROL),
    )
    return ids


async def legacy_hold(storage: Storage, thread_id: str, *, reason: str, case: str) -> None:
    """The one row per thread an archiver before per-matter holds wrote for a hold."""
    placed_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    if isinstance(storage, MemoryStorage):
        legacy = Hold(
            scope=Scope.THREAD,
            target=thread_id,
            matter=None,
            reason=reason,
            case=case,
            placed_by="Old Admin (entra)",
            placed_at=placed_at,
        )
        await storage.holds.insert(
            ThreadState(thread_key=key(thread_id), thread_id=thread_id, legacy=legacy)
        )
        return
    assert isinstance(storage, AzureStorage)
    table = storage.holds._table  # the entity exactly as 0.6's holds table wrote it
    await table.create_entity(
        {
            "PartitionKey": key(thread_id),
            "RowKey": "",
            "threadId": thread_id,
            "held": True,
            "reason": reason,
            "case": case,
            "placedBy": "Old Admin (entra)",
            "placedAt": placed_at,
        }
    )
