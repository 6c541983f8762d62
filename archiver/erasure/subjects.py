"""Finding a person's keys by key, not by a scan: their pseudonym names their subject
key's partition and its later generations (`{pseudonym}-2`, ...), whose data-key rows
name every version blob they sent; and the other people's messages that name them."""

from __future__ import annotations

from collections import defaultdict

from archiver.core.keys import decode_key, encode_key
from archiver.storage.keyports import KeyKind, KeyState, KnownKey
from archiver.storage.ports import Storage


async def generations(storage: Storage, pseudonym: str) -> list[KnownKey]:
    """Every generation of the person's subject key still live."""
    found: list[KnownKey] = []
    generation = 1
    while True:
        key_id = pseudonym if generation == 1 else f"{pseudonym}-{generation}"
        known = await storage.keys.get(key_id, key_id)
        if known is None:
            return found
        if known.row.state is not KeyState.DESTROYED:
            found.append(known)
        generation += 1


async def data_keys_by_thread(storage: Storage, pseudonym: str) -> dict[str, list[KnownKey]]:
    """The person's live data-key rows, by thread id (from their blobs' names)."""
    by_thread: dict[str, list[KnownKey]] = defaultdict(list)
    for subject in await generations(storage, pseudonym):
        async for known in storage.keys.subject_keys(subject.row.subject_id):
            row = known.row
            if row.kind is KeyKind.DATA and row.blob and row.state is not KeyState.DESTROYED:
                by_thread[decode_key(row.blob.split("/")[1])].append(known)
    return dict(by_thread)


async def naming(
    storage: Storage, participant: str, threads: dict[str, list[KnownKey]]
) -> tuple[tuple[str, str], ...]:
    """Other people's messages in these threads that name the person: by the display
    names their own messages and the threads' member lists give them."""
    names: set[str] = set()
    rows = []
    for thread_id in threads:
        thread_key = encode_key(thread_id, field="threadId")
        known = await storage.threads.get(thread_key)
        members = () if known is None else known.row.members
        names |= {
            m.display_name.casefold() for m in members if m.raw_id == participant and m.display_name
        }
        async for row in storage.messages.scan(thread_key):
            rows.append(row)
            if row.sender_id == participant and row.sender_display_name:
                names.add(row.sender_display_name.casefold())
    return tuple(
        (row.thread_id, row.message_id)
        for row in rows
        if row.sender_id != participant
        and any(name in (row.body or "").casefold() for name in names)
    )
