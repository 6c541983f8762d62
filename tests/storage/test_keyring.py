"""One process's keyring meeting a new sender from many deliveries at once: every version
gets a data key that opens under the one subject key the key table keeps."""

from __future__ import annotations

import asyncio

import pytest

from archiver.core.erasure.envelopes import Header
from archiver.core.erasure.keys import LocalKeyWrapper, new_key
from archiver.core.records import Action
from archiver.storage.keyports import KnownKey
from archiver.storage.keyring import PSEUDONYMS_ID, DataKey, Keyring
from archiver.storage.memorykeys import MemoryKeyTable
from tests.builders import ALICE

BLOB = "messages/t/m/{:020d}-received.json"  # a data key row names its version blob


class AnsweringOnCue(MemoryKeyTable):
    """The in-memory key table, whose lookups wait until the test lets them answer: the
    round trip a lookup takes, at the moment the test chooses."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()
        self.answer.set()
        self.lookups: list[str] = []

    async def get(self, subject_id: str, key_id: str) -> KnownKey | None:
        self.lookups.append(subject_id)
        await self.answer.wait()
        return await super().get(subject_id, key_id)


def header_of(key: DataKey, pseudonym: str) -> Header:
    return Header(
        thread_id="19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2",
        message_id="1700000000001",
        version=1700000000001,
        action=Action.RECEIVED,
        compose_time=None,
        edit_time=None,
        delete_time=None,
        sender=pseudonym,
        subject_key_id=key.subject_key_id,
        data_key_id=key.data_key_id,
    )


@pytest.mark.parametrize("turns_after_the_answer", range(6))
async def test_versions_of_a_new_sender_staged_around_its_lookup_share_one_subject_key(
    turns_after_the_answer: int,
):
    root = new_key()
    table = AnsweringOnCue()
    writer = Keyring(table, LocalKeyWrapper(root))
    pseudonym = await writer.pseudonym(ALICE)
    table.answer.clear()
    table.lookups.clear()

    # The first version asks for the sender's subject key; the lookup answers; then the
    # sender's other versions arrive, one each turn of the event loop, from other
    # deliveries, some while the first's wake-up is still on its way.
    first = asyncio.ensure_future(writer.data_keys(pseudonym, [BLOB.format(0)]))
    await asyncio.sleep(0)
    table.answer.set()
    for _ in range(turns_after_the_answer):
        await asyncio.sleep(0)
    later = []
    for n in range(1, 13):
        later.append(asyncio.ensure_future(writer.data_keys(pseudonym, [BLOB.format(n)])))
        await asyncio.sleep(0)
    made = [key for keys in await asyncio.gather(first, *later) for key in keys]

    lookups = list(table.lookups)
    reader = Keyring(table, LocalKeyWrapper(root))
    opened = [await reader.data_key(header_of(key, pseudonym)) for key in made]
    assert opened == [key.key for key in made]
    assert lookups == [pseudonym]
    subjects = [k.row.subject_id async for k in table.subjects()]
    assert sorted(subjects) == sorted([PSEUDONYMS_ID, pseudonym])
