"""Checking many threads' seals at once, on every storage adapter: the same findings as
one thread at a time, in key order, into one report that a run stopped part way resumes
from its cursor."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.core.errors import ConfigurationError
from archiver.core.evidence.seals import seals_prefix
from archiver.core.evidence.signatures import PemSigner, PublicKey
from archiver.core.keys import encode_key
from archiver.core.settings import Settings
from archiver.sealing.inspection import catalogued, in_key_order, inspect
from archiver.sealing.judgement import Judgement
from archiver.sealing.sealcheck import SealReport, inspect_threads
from archiver.sealing.sealer import Sealer
from archiver.sim.conversations import Shape
from archiver.storage.ports import Storage
from tests.chats import archive, chat
from tests.sealing.tampering import Tamperer

KEY = Ed25519PrivateKey.generate()
PUBLIC = PublicKey(KEY.public_key())
KEYS = {PUBLIC.key_id: PUBLIC}
SHAPE = Shape(threads=6, messages=3, participants=(2, 3), delete_threads=0)


class Stopped(Exception):
    """The run was stopped (as Ctrl-C or an outage would stop it)."""


class Counted:
    """A progress port that counts, and stops the run after `stop_after` threads."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.done = 0
        self.finished = False
        self._stop_after = stop_after

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.done == self._stop_after:
            raise Stopped

    def finish(self) -> None:
        self.finished = True


async def sealed(storage: Storage) -> list[str]:
    """Six threads archived and sealed; their ids in key order."""
    simulated = chat(11, SHAPE)
    await archive(storage, simulated.events)
    results = [r async for r in Sealer(storage, PemSigner(KEY)).seal_all()]
    assert all(r.seal is not None for r in results)
    return in_key_order(simulated.threads)


def settings_of(request: pytest.FixtureRequest) -> Settings | None:
    """The settings of the `storage` fixture's Azurite (None: the in-memory adapter)."""
    return request.getfixturevalue("settings") if "azurite" in request.node.name else None


async def tampered(storage: Storage, settings: Settings | None) -> list[str]:
    """Sealed, then four of the six threads altered, each in another way (`settings`:
    where the Azurite archive is, or None for the in-memory one)."""
    threads = await sealed(storage)
    tamperer = Tamperer(storage, settings)
    blobs = [await _message_blobs(storage, thread_id) for thread_id in threads]
    await tamperer.overwrite(blobs[0][0], b'{"body": "changed"}')
    await tamperer.delete(blobs[2][-1])
    [seal] = [n async for n in storage.blobs.names(seals_prefix(_key(threads[3])))]
    await tamperer.delete(seal)
    await tamperer.write(blobs[5][0].replace(".json", "-forged.json"), b"{}")
    return threads


async def test_checking_threads_at_once_finds_exactly_what_checking_one_at_a_time_finds(
    storage: Storage, request: pytest.FixtureRequest
):
    threads = await tampered(storage, settings_of(request))

    one_at_a_time = [_seen(t, j) async for t, j in inspect(storage, KEYS, concurrency=1)]
    at_once = [_seen(t, j) async for t, j in inspect(storage, KEYS, concurrency=4)]
    all_at_once = [_seen(t, j) async for t, j in inspect(storage, KEYS, concurrency=16)]

    assert at_once == all_at_once == one_at_a_time
    assert [thread_id for thread_id, *_ in one_at_a_time] == threads
    assert [bool(altered) for _, altered, _, _ in one_at_a_time] == [1, 0, 1, 1, 0, 0]
    # A thread whose only seal is gone has nothing sealed.
    assert [bool(unsealed) for _, _, unsealed, _ in one_at_a_time] == [0, 0, 0, 1, 0, 1]


async def test_a_report_counts_each_kind_of_finding_and_names_every_one_by_thread(
    storage: Storage, request: pytest.FixtureRequest
):
    threads = await tampered(storage, settings_of(request))

    report = (await inspect_threads(storage, KEYS, threads)).as_json()

    assert json.loads(json.dumps(report)) == report
    assert report["threads"] == 6
    assert report["kinds"] == {"missing": 1, "modified": 1, "seal missing": 1}
    assert report["altered"] == 3 == len(report["findings"])
    assert {f["thread"] for f in report["findings"]} == {threads[0], threads[2], threads[3]}
    assert report["unsealedBlobs"] == len(report["unsealed"]) > 1
    assert report["unsealed"][-1].endswith("-forged.json")
    assert report["checked"]["blobs"] >= 18
    assert report["cursor"] == threads[-1]


async def test_a_check_stopped_part_way_resumes_after_its_cursor_into_the_whole_report(
    storage: Storage, request: pytest.FixtureRequest
):
    threads = await tampered(storage, settings_of(request))
    whole = await inspect_threads(storage, KEYS, threads)
    report = SealReport()

    with pytest.raises(Stopped):
        await inspect_threads(
            storage, KEYS, threads, concurrency=4, progress=Counted(stop_after=2), report=report
        )
    assert (report.threads, report.cursor) == (2, threads[1])
    rest = await catalogued(storage, after=report.cursor)
    await inspect_threads(storage, KEYS, rest, report=report)

    assert rest == threads[2:]
    assert report.as_json() == whole.as_json()


async def test_every_thread_checked_advances_the_progress_by_one(storage: Storage):
    threads = await sealed(storage)
    progress = Counted()

    report = await inspect_threads(storage, KEYS, threads, concurrency=3, progress=progress)

    assert progress.done == report.threads == 6
    assert report.findings == []


def test_threads_are_checked_in_key_order_and_since_leaves_out_those_up_to_it():
    threads = ["19:b@thread.v2", "19:a@thread.v2", "19:a-b@thread.v2", "19:c@thread.v2", "x y"]

    assert in_key_order(threads) == [
        "19:a-b@thread.v2",
        "19:a@thread.v2",
        "19:b@thread.v2",
        "19:c@thread.v2",
        "x y",
    ]
    assert in_key_order(threads + threads, after="19:b@thread.v2") == ["19:c@thread.v2", "x y"]
    assert in_key_order(threads, after="19:bz") == ["19:c@thread.v2", "x y"]


async def test_a_concurrency_below_one_is_refused(storage: Storage):
    with pytest.raises(ConfigurationError, match="concurrency must be at least 1, not 0"):
        await inspect_threads(storage, KEYS, [], concurrency=0)


def test_a_thread_with_every_blob_altered_is_judged_in_time_linear_in_its_findings():
    # Before, each finding was compared with every one before it: 40,000 altered blobs
    # took about 40 s, so whoever could alter a thread could also stall its check.
    judgement = Judgement()
    began = time.perf_counter()

    for index in range(40_000):
        judgement.add(f"messages/t/{index:08d}.json", "modified", "its bytes differ")
        judgement.add(f"messages/t/{index:08d}.json", "modified", "said twice")

    assert time.perf_counter() - began < 5
    assert len(judgement.altered) == 40_000
    assert judgement.altered[0].detail == "its bytes differ"


def _seen(thread_id: str, judgement: Judgement) -> tuple[str, list, list, dict]:
    return thread_id, judgement.altered, judgement.unsealed, dict(judgement.checked)


def _key(thread_id: str) -> str:
    return encode_key(thread_id, field="threadId")


async def _message_blobs(storage: Storage, thread_id: str) -> list[str]:
    return [name async for name in storage.blobs.names(f"messages/{_key(thread_id)}/")]
