"""An update of the local index reads what changed, not the whole archive: the threads
ChatActivity says were written since its mark, and the disposals the audit trail
records since; `--all` (everything) lists every version again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.capture.archive import Archive
from archiver.core.activity import hour_of
from archiver.core.envelopes import RawEvent
from archiver.core.errors import ConfigurationError
from archiver.core.events import classify
from archiver.core.governance.principals import TIMER
from archiver.core.keys import encode_key
from archiver.governance.disposal import Disposal
from archiver.governance.trail import AuditTrail
from archiver.search.indexing import Indexing
from archiver.search.localindex import LocalIndex
from archiver.storage.ports import Storage
from tests.builders import ALICE, message_event
from tests.search.test_search_command import DISPOSED, EVENTS, KEPT


async def archived(storage: Storage, *events: dict) -> None:
    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in events]
    )


async def quiet(storage: Storage, *thread_ids: str) -> None:
    """As if the threads were last written long ago: out of this hour's activity."""
    for thread_id in thread_ids:
        key = encode_key(thread_id, field="threadId")
        await storage.activity.forget(hour_of(datetime.now(UTC)), key)


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[LocalIndex]:
    made = LocalIndex(tmp_path / "index.sqlite3", origin="test")
    await made.prepare()
    try:
        yield made
    finally:
        await made.close()


async def test_an_update_reads_only_the_threads_written_since_and_forgets_the_disposed(
    storage: Storage, index: LocalIndex
):
    await storage.prepare()
    await archived(storage, *EVENTS)
    first = await Indexing(storage, index).update()
    assert (first.added, first.listed) == (6, 6)
    await quiet(storage, KEPT, DISPOSED)

    later = message_event(
        "received", thread_id=KEPT, message_id="1700000000009", sender=ALICE, body="FOXTROT"
    )
    await archived(storage, later)
    disposal = Disposal(storage, AuditTrail(storage), retention_days=365)
    assert [r.outcome async for r in disposal.run(TIMER, threads=[DISPOSED])] == ["disposed"]
    second = await Indexing(storage, index).update()

    assert (second.added, second.threads, second.forgotten) == (1, 1, 1)
    assert {name.split("/")[1] for name in await index.known()} == {KEPT}
    assert len(await index.known()) == 6


async def test_everything_lists_every_version_again(storage: Storage, index: LocalIndex):
    await storage.prepare()
    await archived(storage, *EVENTS)
    await Indexing(storage, index).update()
    await index.forget([n for n in await index.known() if "1700000000003" in n])
    await quiet(storage, KEPT, DISPOSED)

    incremental = await Indexing(storage, index).update()
    assert incremental.added == 0, "nothing was written since"
    full = await Indexing(storage, index).update(everything=True)

    assert (full.added, full.listed) == (1, 6)


async def test_an_index_of_another_archive_is_refused(tmp_path: Path):
    first = LocalIndex(tmp_path / "index.sqlite3", origin="account/one")
    await first.prepare()
    await first.close()
    other = LocalIndex(tmp_path / "index.sqlite3", origin="account/two")

    with pytest.raises(ConfigurationError, match="an index of origin 'account/one', not"):
        await other.prepare()
    await other.close()


def test_disposal_is_read_from_a_mark_ten_minutes_before_the_update_started():
    started = datetime(2026, 12, 4, 9, 5, tzinfo=UTC)
    assert hour_of(started - timedelta(minutes=10)) == "2026120408"
