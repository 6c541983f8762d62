"""`archiver redact`'s use case on each storage adapter: a card number pasted into one
version is gone for good while the message's other versions stay readable; the receipt
says what went, under which request, and holds none of it; a held thread is queued, a
dry run changes nothing, the same request twice does the work once, and a plain archive
deletes the blob instead. Written from issue 26's redaction and precedence rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.capture.archive import Archive
from archiver.core.envelopes import RawEvent
from archiver.core.erasure.envelopes import open_version, read_header
from archiver.core.erasure.receipts import ERASURES_PREFIX, Decision, parse_receipt
from archiver.core.erasure.restriction import (
    RestrictionKey,
    create_restriction_key,
    open_restricted,
    read_share,
)
from archiver.core.errors import InvalidQuery, UnknownThread
from archiver.core.events import classify
from archiver.core.evidence.seals import Covered
from archiver.core.evidence.signatures import PemSigner
from archiver.core.governance.holds import Scope
from archiver.core.governance.principals import Principal
from archiver.erasure.redaction import Redaction
from archiver.governance.holds import Holds
from archiver.governance.trail import AuditTrail
from archiver.retrieval.readback import versions_of
from archiver.sealing.inspection import inspect
from archiver.sealing.sealer import Sealer
from archiver.storage.keyports import KeyState
from archiver.storage.memory import MemoryStorage
from archiver.storage.ports import Storage
from tests.builders import ALICE, message_event
from tests.erasure.archives import envelope_archive

THREAD = "19:5ea1f0c1d2b3a4958677a8b9c0d1e2f3@thread.v2"
MESSAGE = "1700000000001"
CARD = "4111 1111 1111 1111"
ADA = Principal(kind="local", name="ada")
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def said(action: str, body: str, minute: int) -> dict:
    return message_event(
        action,
        thread_id=THREAD,
        message_id=MESSAGE,
        sender=ALICE,
        body=body,
        time=f"2026-11-02T09:{minute:02d}:00Z",
        version=int(MESSAGE) + minute * 60_000,  # each edit a version of its own
    )


CONVERSATION = (
    said("received", "please refund order 7", 0),
    said("edited", f"please refund order 7, my card is {CARD}", 1),
    said("edited", "please refund order 7 (card removed)", 2),
)


@pytest.fixture(params=["memory", "azurite"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """Envelope-mode storage of either adapter, holding CONVERSATION."""
    store = await envelope_archive(request, CONVERSATION)
    try:
        yield store
    finally:
        await store.close()


def redaction(storage: Storage, **options) -> Redaction:
    return Redaction(storage, AuditTrail(storage, clock=lambda: NOW), clock=lambda: NOW, **options)


async def card_version(storage: Storage) -> int:
    for document in await versions_of(storage, THREAD, MESSAGE):
        if CARD in (document.get("body") or ""):
            return int(document["version"])
    raise AssertionError("the card is in no version")


async def redact(storage: Storage, version: int | None, **options):
    return await redaction(storage).redact(
        thread_id=THREAD,
        message_id=MESSAGE,
        version=version,
        reason="Card number pasted into chat (PCI DSS)",
        request="TICKET-88",
        principal=ADA,
        **options,
    )


async def receipts(storage: Storage) -> list[str]:
    return [n async for n in storage.blobs.names(ERASURES_PREFIX)]


async def test_a_redacted_card_number_is_gone_while_the_other_versions_stay(storage):
    version = await card_version(storage)

    answer = await redact(storage, version)

    bodies = [d["body"] for d in await versions_of(storage, THREAD, MESSAGE)]
    assert answer.receipt is not None
    assert bodies == [
        "please refund order 7",
        f"[redacted: receipt {answer.receipt.receipt_id}]",
        "please refund order 7 (card removed)",
    ]
    [item] = answer.items
    assert item.decision is Decision.SHREDDED
    header = read_header(await storage.blobs.read(item.blob))
    known = await storage.keys.get(header.subject_key_id, header.data_key_id)
    assert known is not None
    assert (known.row.state, known.row.receipt) == (KeyState.DESTROYED, answer.receipt.receipt_id)


async def test_the_receipt_names_the_leaf_and_the_key_and_holds_no_erased_text(storage):
    version = await card_version(storage)

    answer = await redact(storage, version)

    [name] = await receipts(storage)
    content = await storage.blobs.read(name)
    receipt = parse_receipt(content, name=name)
    assert answer.receipt is not None
    assert name == answer.receipt.name
    assert name.startswith(f"{ERASURES_PREFIX}{answer.receipt.thread_key}/")
    assert (receipt.request, receipt.basis, receipt.requested_by) == (
        "TICKET-88",
        "Card number pasted into chat (PCI DSS)",
        "ada (local)",
    )
    [item] = receipt.items
    listed = {b.name: b async for b in storage.blobs.listing(item.blob)}
    assert (item.sha256, item.size) == (listed[item.blob].sha256, listed[item.blob].size)
    assert item.wrapped_sha256 is not None
    assert CARD.encode() not in content
    assert b"refund" not in content


async def test_the_latest_row_is_rewritten_only_when_it_shows_the_redacted_version(storage):
    version = await card_version(storage)
    await redact(storage, version)
    [row] = [r async for r in storage.messages.scan()]
    assert row.body == "please refund order 7 (card removed)"

    answer = await redact(storage, None)  # every version, the newest among them

    [row] = [r async for r in storage.messages.scan()]
    assert answer.receipt is not None
    assert row.body == f"[redacted: receipt {answer.receipt.receipt_id}]"
    assert row.metadata is None


async def test_a_dry_run_says_what_would_go_and_changes_nothing(storage):
    version = await card_version(storage)

    answer = await redact(storage, version, dry_run=True)

    assert answer.receipt is None
    assert [i.decision for i in answer.items] == [Decision.SHREDDED]
    assert await receipts(storage) == []
    assert await card_version(storage) == version
    trail = [r async for r in AuditTrail(storage).records()]
    assert [(r["action"], r["outcome"]) for r in trail] == [("redact", "dry-run")]


async def test_the_same_request_again_finds_its_receipt_and_writes_nothing(storage):
    version = await card_version(storage)
    first = await redact(storage, version)

    again = await redact(storage, version)

    assert again.again
    assert again.receipt == first.receipt
    assert len(await receipts(storage)) == 1


async def test_the_audit_trail_records_the_request_before_it_and_its_end_after(storage):
    version = await card_version(storage)

    answer = await redact(storage, version)

    trail = [r async for r in AuditTrail(storage).records()]
    assert [(r["action"], r["outcome"]) for r in trail] == [
        ("redact", "requested"),
        ("redact", "done"),
    ]
    assert answer.receipt is not None
    assert trail[1]["details"]["blobs"] == [answer.items[0].blob]
    assert CARD not in json.dumps(trail)


async def test_a_held_thread_is_queued_and_stays_readable(storage):
    version = await card_version(storage)
    holds = Holds(storage, AuditTrail(storage))
    await holds.add(Scope.THREAD, THREAD, matter="CASE-4471", reason="Litigation", principal=ADA)

    answer = await redact(storage, version)

    [item] = answer.items
    assert (item.decision, item.held_by) == (Decision.QUEUED, ("CASE-4471",))
    assert await card_version(storage) == version


async def test_under_a_retention_obligation_without_a_restriction_key_nothing_changes(storage):
    version = await card_version(storage)
    bound = Redaction(storage, AuditTrail(storage), obligation_days=3650)

    with pytest.raises(InvalidQuery, match="ARCHIVE_RESTRICTION_KEY"):
        await bound.redact(
            thread_id=THREAD,
            message_id=MESSAGE,
            version=version,
            reason="Card",
            request="TICKET-89",
            principal=ADA,
        )

    assert await card_version(storage) == version
    assert await receipts(storage) == []


async def test_an_unknown_version_or_a_bad_reason_is_refused_by_name(storage):
    with pytest.raises(UnknownThread, match="no version 7 of message"):
        await redact(storage, 7)
    with pytest.raises(InvalidQuery, match="the reason must be"):
        await redaction(storage).redact(
            thread_id=THREAD,
            message_id=MESSAGE,
            version=None,
            reason="two\nlines",
            request="TICKET-88",
            principal=ADA,
        )
    assert await receipts(storage) == []


async def test_a_plain_archive_deletes_the_version_and_its_signed_receipt_keeps_the_seals_whole():
    storage = MemoryStorage()
    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in CONVERSATION]
    )
    signer = PemSigner(Ed25519PrivateKey.generate())
    sealer = Sealer(storage, signer, clock=lambda: NOW)
    await sealer.seal(THREAD, principal=ADA)
    version = await card_version(storage)

    answer = await redaction(storage, signer=signer).redact(
        thread_id=THREAD,
        message_id=MESSAGE,
        version=version,
        reason="Card number pasted into chat (PCI DSS)",
        request="TICKET-88",
        principal=ADA,
    )
    later = Sealer(storage, signer, clock=lambda: NOW + timedelta(minutes=1))
    resealed = await later.seal(THREAD, principal=ADA)

    [item] = answer.items
    assert item.decision is Decision.DELETED
    assert [n async for n in storage.blobs.names(item.blob)] == []
    assert [d["body"] for d in await versions_of(storage, THREAD, MESSAGE)] == [
        "please refund order 7",
        "please refund order 7 (card removed)",
    ]
    assert resealed.seal is not None, resealed.refused
    assert Covered(name=item.blob, size=item.size, sha256=item.sha256) in resealed.seal.blobs
    [(_, judgement)] = [j async for j in inspect(storage, await later.trusted_keys())]
    assert judgement.altered == []
    assert judgement.checked["leaves deleted"] == 1


async def test_a_forged_receipt_does_not_account_for_a_deleted_leaf():
    storage = MemoryStorage()
    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in CONVERSATION]
    )
    signer = PemSigner(Ed25519PrivateKey.generate())
    await Sealer(storage, signer, clock=lambda: NOW).seal(THREAD, principal=ADA)
    version = await card_version(storage)
    forger = PemSigner(Ed25519PrivateKey.generate())  # a storage writer's own key

    await redaction(storage, signer=forger).redact(
        thread_id=THREAD,
        message_id=MESSAGE,
        version=version,
        reason="cover-up",
        request="NONE",
        principal=ADA,
    )
    sealer = Sealer(storage, signer, clock=lambda: NOW + timedelta(minutes=1))
    resealed = await sealer.seal(THREAD, principal=ADA)

    assert resealed.seal is None
    assert any("is gone since" in problem for problem in resealed.refused)
    [(_, judgement)] = [j async for j in inspect(storage, await sealer.trusted_keys())]
    assert [f.what for f in judgement.altered] == ["missing"]


async def test_a_plain_archive_without_a_seal_key_refuses_and_deletes_nothing():
    storage = MemoryStorage()
    await Archive(storage, concurrency=4, timeout_seconds=60).store(
        [classify(RawEvent.from_value(e)) for e in CONVERSATION]
    )
    version = await card_version(storage)

    with pytest.raises(InvalidQuery, match="ARCHIVE_SEAL_KEY"):
        await redact(storage, version)

    assert await card_version(storage) == version


async def test_under_a_retention_obligation_a_version_is_restricted_and_two_shares_open_it(storage):
    version = await card_version(storage)
    public, one, two = create_restriction_key()
    restriction = RestrictionKey.from_pem(public)
    bound = Redaction(
        storage,
        AuditTrail(storage),
        obligation_days=3650,
        restriction=restriction,
        clock=lambda: NOW,
    )

    answer = await bound.redact(
        thread_id=THREAD,
        message_id=MESSAGE,
        version=version,
        reason="Card",
        request="TICKET-90",
        principal=ADA,
    )

    [item] = answer.items
    assert item.decision is Decision.RESTRICTED
    content = await storage.blobs.read(item.blob)
    header = read_header(content)
    known = await storage.keys.get(header.subject_key_id, header.data_key_id)
    assert known is not None
    assert (known.row.state, known.row.wrapped_by) == (KeyState.RESTRICTED, restriction.key_id)
    shown = json.loads(await storage.versions.read(item.blob))
    assert answer.receipt is not None
    assert shown["redacted"] == {"receipt": answer.receipt.receipt_id, "restricted": True}
    data_key = open_restricted(
        known.row.wrapped,
        data_key_id=header.data_key_id,
        subject_key_id=header.subject_key_id,
        shares=(read_share(one), read_share(two)),
    )
    assert CARD in open_version(content, data_key=data_key).event.decode()
