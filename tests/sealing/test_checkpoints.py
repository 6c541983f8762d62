"""Checkpoints outside the archive, on every storage adapter: a signed note of every
thread's newest seal and of the audit trail, chained, that catches what the seals alone
cannot: the newest seal deleted and the row rewritten, a chain cut back, an audit
record deleted, altered or slipped in afterwards."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785

from archiver.core.errors import InvalidQuery
from archiver.core.evidence.checkpoints import parse_checkpoint
from archiver.core.evidence.merkle import tree_hash
from archiver.core.evidence.notes import parse_note
from archiver.core.evidence.signatures import PemSigner, PublicKey
from archiver.core.governance.audit import AuditRecord
from archiver.core.governance.principals import TIMER
from archiver.core.keys import encode_key
from archiver.governance.disposal import Disposal
from archiver.governance.trail import AuditTrail
from archiver.sealing.checkpointcheck import CheckpointReport, check_checkpoint
from archiver.sealing.checkpointer import Checkpointer
from archiver.sealing.checkpointlog import CheckpointLog
from archiver.sealing.holdings import seal_names
from archiver.sealing.sealer import Sealer
from archiver.storage.ports import Storage
from tests.builders import message_event, new_message_id
from tests.chats import archive
from tests.sealing.test_seals import KEY, OTHER_KEY, START, Clock, archived, check
from tests.sealing.test_trust import launder, tamperer

PUBLIC = PublicKey(KEY.public_key())
KEYS = {PUBLIC.key_id: PUBLIC}


class Archivist:
    """One archive's sealer (with its audit trail) and checkpointer, on one clock."""

    def __init__(self, storage: Storage, clock: Clock | None = None) -> None:
        self.storage = storage
        self.clock = clock or Clock()
        self.trail = AuditTrail(storage, clock=self.clock)
        self.sealer = Sealer(storage, PemSigner(KEY), clock=self.clock, trail=self.trail)
        self.container = f"chat-checkpoints-{uuid.uuid4().hex[:12]}"
        self.log = CheckpointLog(storage, self.container)
        self.checkpointer = Checkpointer(
            storage,
            PemSigner(KEY),
            self.log,
            origin="devstoreaccount1/chat-archive",
            clock=self.clock,
            margin=timedelta(0),  # the test clock moves a minute a reading: none are in flight
        )

    async def seal_and_checkpoint(self) -> None:
        results = [r async for r in self.sealer.seal_all()]
        assert all(r.outcome != "refused" for r in results)
        written = await self.checkpointer.write()
        assert written.refused == ()
        assert written.checkpoint is not None

    async def check(self, given: bytes | None = None) -> CheckpointReport:
        return await check_checkpoint(self.storage, self.log, KEYS, given=given)


def found(report: CheckpointReport) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for finding in report.altered:
        result.setdefault(finding.subject, set()).add(finding.what)
    return result


async def checkpointed(storage: Storage) -> tuple[Archivist, list[str]]:
    simulated = await archived(storage)
    archivist = Archivist(storage)
    await archivist.seal_and_checkpoint()
    return archivist, list(simulated.threads)


async def test_an_untouched_archive_passes_against_its_newest_checkpoint(storage: Storage):
    archivist, threads = await checkpointed(storage)

    report = await archivist.check()

    assert report.altered == []
    assert report.note is not None
    assert report.note.number == 0
    assert report.checked["threads"] == len(threads)
    assert report.checked["audit records"] == len(threads)  # one "seal" record each


async def test_a_checkpoint_is_a_signed_note_whose_trees_anyone_can_recompute(storage: Storage):
    archivist, threads = await checkpointed(storage)
    [name] = [n async for n in storage.container(archivist.container).names("checkpoints/")]

    checkpoint = parse_checkpoint(
        await storage.container(archivist.container).read(name), name=name
    )
    text = checkpoint.note.text()

    body, signature_line = text.split("\n\n")
    assert body.splitlines()[:2] == ["devstoreaccount1/chat-archive", "0"]
    key_id, signature = signature_line.removeprefix("\u2014 ").strip().split(" ")
    assert key_id == PUBLIC.key_id
    KEY.public_key().verify(base64.b64decode(signature), (body + "\n").encode())
    heads = []
    for thread_id in sorted(threads, key=lambda t: encode_key(t, field="threadId")):
        thread_key = encode_key(thread_id, field="threadId")
        [seal] = await seal_names(storage, thread_key)
        content = await storage.blobs.read(seal)
        heads.append(
            rfc8785.dumps(
                {
                    "threadKey": thread_key,
                    "threadId": thread_id,
                    "seal": seal,
                    "sha256": hashlib.sha256(content).hexdigest(),
                }
            )
        )
    assert f"threads {len(threads)} {tree_hash(heads).hex()}" in body.splitlines()
    assert parse_note(text, source="a witness's copy") == checkpoint.note


async def test_checkpoints_chain_and_a_run_with_nothing_new_writes_none(storage: Storage):
    archivist, threads = await checkpointed(storage)
    nothing = await archivist.checkpointer.write()
    await archive(storage, (message_event(thread_id=threads[0], message_id=new_message_id()),))
    await archivist.seal_and_checkpoint()

    names = [n async for n in storage.container(archivist.container).names("checkpoints/")]
    store = storage.container(archivist.container)
    first, second = [parse_checkpoint(await store.read(n), name=n) for n in names]

    assert nothing.checkpoint is None
    assert second.note.previous == first.note.sha256()
    assert [h.thread_id for h in second.increment.heads] == [threads[0]]
    assert (await archivist.check()).altered == []


async def test_deleting_the_newest_seal_and_rewriting_the_row_is_caught_by_the_checkpoint(
    storage: Storage, request: pytest.FixtureRequest
):
    archivist, threads = await checkpointed(storage)
    thread_id = threads[0]
    thread_key = encode_key(thread_id, field="threadId")
    message_id = new_message_id()
    await archive(storage, (message_event(thread_id=thread_id, message_id=message_id),))
    await archivist.seal_and_checkpoint()
    first, newest = await seal_names(storage, thread_key)

    # The gap seals alone leave: the newest seal and the version it added go, the row
    # goes, the thread row names the earlier seal again.
    forger = tamperer(storage, request)
    await forger.delete(newest)
    for name in [n async for n in storage.blobs.names(f"messages/{thread_key}/{message_id}/")]:
        await forger.delete(name)
    await storage.messages.delete(thread_key, message_id)
    known = await storage.threads.get(thread_key)
    assert known is not None
    first_sha = hashlib.sha256(await storage.blobs.read(first)).hexdigest()
    await storage.threads.replace(
        replace(known.row, seal=first, seal_sha256=first_sha), etag=known.etag
    )

    assert (await check(storage)).altered == []  # verify --seals sees a sound archive
    assert found(await archivist.check()) == {
        newest: {"seal deleted"},
        f"thread {thread_id}": {"chain truncated"},
    }


async def test_a_deleted_seal_in_the_middle_of_a_chain_is_caught(
    storage: Storage, request: pytest.FixtureRequest
):
    archivist, threads = await checkpointed(storage)
    thread_key = encode_key(threads[1], field="threadId")
    await archive(storage, (message_event(thread_id=threads[1], message_id=new_message_id()),))
    await archivist.seal_and_checkpoint()
    first, _ = await seal_names(storage, thread_key)

    await tamperer(storage, request).delete(first)

    assert found(await archivist.check()) == {first: {"seal missing"}}


async def test_a_rewritten_row_is_caught(storage: Storage):
    archivist, threads = await checkpointed(storage)
    thread_key = encode_key(threads[0], field="threadId")
    rows = [r async for r in storage.messages.scan(thread_key)]
    row = next(r for r in rows if r.action == "received")
    current = await storage.messages.current(row.thread_key, row.message_key)
    assert current is not None

    await storage.messages.replace(replace(row, body="I never said that"), etag=current.etag)

    subject = f"ChatMessages row {row.thread_id} / {row.message_id}"
    assert found(await archivist.check()) == {subject: {"row rewritten"}}


async def test_a_deleted_altered_or_backdated_audit_record_is_caught(
    storage: Storage, request: pytest.FixtureRequest
):
    archivist, _ = await checkpointed(storage)
    deleted, altered, *_ = [n async for n in storage.blobs.names("audit/")]
    forger = tamperer(storage, request)

    await forger.delete(deleted)
    document = json.loads(await storage.blobs.read(altered))
    document["outcome"] = "refused"
    await forger.forge(altered, json.dumps(document).encode())
    backdated = AuditRecord(time=START, principal=TIMER, action="hold.release", outcome="done")
    await storage.blobs.create(backdated.name, backdated.document())

    assert found(await archivist.check()) == {
        deleted: {"audit record deleted"},
        altered: {"audit record altered"},
        backdated.name: {"audit record inserted"},
    }


async def test_a_head_never_moves_to_a_seal_a_trusted_key_did_not_sign(
    storage: Storage, request: pytest.FixtureRequest
):
    archivist, threads = await checkpointed(storage)
    _, forged = await launder(storage, tamperer(storage, request), threads[0])

    result = await archivist.checkpointer.write()

    assert result.checkpoint is None
    assert result.refused == (f"{forged} is not signed by a trusted key",)


async def test_a_threads_seals_leave_a_checkpoint_only_with_a_signed_disposal_receipt(
    storage: Storage,
):
    archivist, threads = await checkpointed(storage)
    thread_key = encode_key(threads[0], field="threadId")
    names = await seal_names(storage, thread_key)
    for name in names:
        await storage.blobs.delete(name)

    unexplained = await archivist.checkpointer.write()
    await archivist.checkpointer.receipt(
        thread_id=threads[0], thread_key=thread_key, head=None, blobs=12
    )
    explained = await archivist.checkpointer.write()

    assert unexplained.checkpoint is None
    assert unexplained.refused[0].startswith(f"the seals of thread {threads[0]} are gone")
    assert explained.refused == ()
    assert explained.checkpoint is not None
    assert [key for key, _ in explained.checkpoint.increment.disposed] == [thread_key]
    assert threads[0] not in [h.thread_id for h in explained.checkpoint.increment.heads]


async def test_a_checkpoint_signed_by_another_key_is_named_and_stops_the_next(storage: Storage):
    archivist, _ = await checkpointed(storage)
    # A forger's checkpointer, signing with its own key, adds checkpoint 1 to the chain.
    other = Checkpointer(
        storage,
        PemSigner(OTHER_KEY),
        archivist.log,
        origin="forged",
        trusted=[PUBLIC],
        clock=archivist.clock,
        margin=timedelta(0),
    )
    await archive(storage, (message_event(thread_id="19:forged@thread.v2", message_id="1"),))
    assert (await archivist.sealer.seal("19:forged@thread.v2")).outcome == "sealed"
    assert (await other.write()).checkpoint is not None

    report = await archivist.check()
    refused = await archivist.checkpointer.write()

    name = "checkpoints/00000000000000000001.json"
    assert found(report) == {name: {"checkpoint fails"}}
    assert refused.checkpoint is None
    assert refused.refused[0].startswith(f"{name}: signed by key")


async def test_a_note_a_witness_kept_is_checked_word_for_word(storage: Storage):
    archivist, _ = await checkpointed(storage)
    [name] = [n async for n in storage.container(archivist.container).names("checkpoints/")]
    note = parse_checkpoint(await storage.container(archivist.container).read(name), name=name).note
    kept = note.text().encode()
    doctored = note.text().replace("/chat-archive", "/chat-archiv3").encode()

    assert (await archivist.check(given=kept)).altered == []
    assert "checkpoint fails" in found(await archivist.check(given=doctored))["checkpoint 0"]


async def test_a_thread_disposed_of_under_retention_leaves_the_checkpoint_with_its_receipt(
    storage: Storage,
):
    archivist, threads = await checkpointed(storage)
    disposal = Disposal(
        storage,
        archivist.trail,
        retention_days=1,
        clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
        receipts=archivist.checkpointer,
    )

    disposed = [d async for d in disposal.run(TIMER)]
    report = await archivist.check()
    written = await archivist.checkpointer.write()

    assert {d.outcome for d in disposed} == {"disposed"}
    assert report.altered == []
    assert sorted(report.disposed) == sorted(threads)
    assert written.refused == ()
    assert written.checkpoint is not None
    assert sorted(k for k, _ in written.checkpoint.increment.disposed) == sorted(
        encode_key(t, field="threadId") for t in threads
    )
    assert written.checkpoint.note.threads.size == 0
    assert (await archivist.check()).altered == []


async def test_a_replaced_head_seal_is_named_against_the_checkpoint(
    storage: Storage, request: pytest.FixtureRequest
):
    archivist, threads = await checkpointed(storage)
    [head] = await seal_names(storage, encode_key(threads[0], field="threadId"))
    content = await storage.blobs.read(head)

    await tamperer(storage, request).overwrite(head, content.replace(b'"blobs":', b'"blobs" :'))

    assert "seal replaced" in found(await archivist.check())[head]


async def test_a_witness_note_the_chain_does_not_hold_or_holds_otherwise_is_named(
    storage: Storage,
):
    archivist, _ = await checkpointed(storage)
    [name] = [n async for n in storage.container(archivist.container).names("checkpoints/")]
    ours = parse_checkpoint(await storage.container(archivist.container).read(name), name=name)
    # Signed by the seal key, but not the chain's: a fork, and a number it never reached.
    forked = replace(ours.note, made_at=ours.note.made_at + timedelta(seconds=1))
    forked = replace(forked, signature=KEY.sign(forked.body().encode()))
    unknown = replace(ours.note, number=7)
    unknown = replace(unknown, signature=KEY.sign(unknown.body().encode()))

    assert found(await archivist.check(given=forked.text().encode())) == {
        "checkpoint 0": {"checkpoint forked"}
    }
    assert (
        "checkpoint missing"
        in found(await archivist.check(given=unknown.text().encode()))["checkpoint 7"]
    )


async def test_checking_an_archive_that_has_no_checkpoint_is_refused_plainly(storage: Storage):
    await archived(storage)
    archivist = Archivist(storage)

    with pytest.raises(InvalidQuery, match="there is no checkpoint to check against"):
        await archivist.check()
