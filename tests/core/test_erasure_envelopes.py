"""An envelope opens only with its own data key and unchanged bytes, gives back the
event exactly, and shows in clear only ids, times and a pseudonym."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.core.erasure.commitments import commitment_holds
from archiver.core.erasure.envelopes import (
    FORMAT,
    Header,
    open_version,
    read_header,
    seal_version,
)
from archiver.core.erasure.keys import new_key, new_key_id
from archiver.core.erasure.pseudonyms import Pseudonymiser
from archiver.core.errors import DamagedArchive, UnreadableEnvelope
from archiver.core.records import Action
from tests.builders import ALICE, THREAD, message_event

pytestmark = pytest.mark.pure

CARD = "4111 1111 1111 1111"
EVENT = json.dumps(message_event(body=f"my card is {CARD}", sender=ALICE)).encode()
PSEUDONYMS = Pseudonymiser(b"s" * 32)


def header(**changes: Any) -> Header:
    """The header of the builder's message, its sender as a pseudonym."""
    data = json.loads(EVENT)["data"]
    fields: dict[str, Any] = {
        "thread_id": THREAD,
        "message_id": data["messageId"],
        "version": int(data["version"]),
        "action": Action.RECEIVED,
        "compose_time": datetime(2021, 2, 19, 0, 25, 58, 927000, tzinfo=UTC),
        "edit_time": None,
        "delete_time": None,
        "sender": PSEUDONYMS.pseudonym(ALICE),
        "subject_key_id": PSEUDONYMS.pseudonym(ALICE),
        "data_key_id": new_key_id(),
    }
    return Header(**(fields | changes))


def rewritten(blob: bytes, change: Any) -> bytes:
    """The envelope's JSON with one change made, written back."""
    document = json.loads(blob)
    change(document)
    return json.dumps(document).encode()


def flipped(blob: bytes, field: str, index: int) -> bytes:
    """The envelope with one bit flipped in a base64 field's bytes at `index`."""

    def flip(document: dict[str, Any]) -> None:
        raw = bytearray(base64.b64decode(document[field]))
        raw[index] ^= 0x01
        document[field] = base64.b64encode(raw).decode()

    return rewritten(blob, flip)


def test_an_envelope_opens_with_its_data_key_to_the_exact_event_and_its_header():
    key, sealed_header = new_key(), header(version=2**63 - 1)
    blob = seal_version(EVENT, header=sealed_header, data_key=key)

    opened = open_version(blob, data_key=key)

    assert opened.event == EVENT
    assert opened.header == sealed_header == read_header(blob)
    assert json.loads(blob)["format"] == FORMAT
    assert commitment_holds(opened.event, opened.salt, json.loads(blob)["commitment"])


HEADER_CHANGES = {
    "threadId": "19:other@thread.v2",
    "messageId": "1613694358928",
    "version": "1613694358928",
    "action": "deleted",
    "composeTime": "2021-02-19T00:25:59.927Z",
    "editTime": "2021-02-19T00:28:20.784Z",
    "sender": "0" * 64,
    "dataKeyId": "00000000-0000-4000-8000-000000000000",
}


@pytest.mark.parametrize("field", sorted(HEADER_CHANGES))
def test_a_changed_header_field_fails_the_tag(field):
    key = new_key()
    blob = seal_version(EVENT, header=header(), data_key=key)
    changed = rewritten(
        blob, lambda document: document["header"].update({field: HEADER_CHANGES[field]})
    )

    with pytest.raises(UnreadableEnvelope, match="does not open"):
        open_version(changed, data_key=key)


@pytest.mark.parametrize(
    ("field", "index"),
    [("nonce", 0), ("nonce", 11), ("ciphertext", 0), ("ciphertext", -1), ("ciphertext", -16)],
    ids=["nonce-first", "nonce-last", "ciphertext-first", "tag-last", "tag-first"],
)
def test_a_changed_nonce_ciphertext_or_tag_byte_fails_the_tag(field, index):
    key = new_key()
    blob = seal_version(EVENT, header=header(), data_key=key)

    with pytest.raises(UnreadableEnvelope, match="does not open"):
        open_version(flipped(blob, field, index), data_key=key)


def test_a_changed_commitment_is_caught_after_decryption():
    key = new_key()
    blob = seal_version(EVENT, header=header(), data_key=key)
    changed = rewritten(blob, lambda document: document.update(commitment="0" * 64))

    with pytest.raises(UnreadableEnvelope, match="commitment does not hold"):
        open_version(changed, data_key=key)


def test_another_data_key_does_not_open_an_envelope():
    blob = seal_version(EVENT, header=header(), data_key=new_key())

    with pytest.raises(UnreadableEnvelope, match="is not data key"):
        open_version(blob, data_key=new_key())


@pytest.mark.parametrize(
    "blob",
    [b"not json", b"[]", b'{"format": "acs-chat-archiver/envelope@1"}', b"{}"],
    ids=["text", "array", "no-header", "empty"],
)
def test_what_is_not_an_envelope_says_so_as_damage_to_the_archive(blob):
    with pytest.raises(DamagedArchive, match=r"versions/x\.json is not an envelope"):
        read_header(blob, name="versions/x.json")


def test_an_envelope_of_another_format_is_refused_by_name():
    blob = rewritten(
        seal_version(EVENT, header=header(), data_key=new_key()),
        lambda document: document.update(format="acs-chat-archiver/envelope@2"),
    )

    with pytest.raises(UnreadableEnvelope, match="format 'acs-chat-archiver/envelope@2'"):
        read_header(blob)


def test_an_extra_header_field_is_refused():
    blob = rewritten(
        seal_version(EVENT, header=header(), data_key=new_key()),
        lambda document: document["header"].update(senderName="Bob"),
    )

    with pytest.raises(UnreadableEnvelope, match="not an envelope"):
        read_header(blob)


def test_two_envelopes_of_one_event_share_no_nonce_salt_or_ciphertext():
    key, same = new_key(), header()
    first, second = (seal_version(EVENT, header=same, data_key=key) for _ in range(2))
    firsts, seconds = json.loads(first), json.loads(second)
    salts = {open_version(blob, data_key=key).salt for blob in (first, second)}

    assert firsts["nonce"] != seconds["nonce"]
    assert firsts["ciphertext"] != seconds["ciphertext"]
    assert firsts["commitment"] != seconds["commitment"]
    assert len(salts) == 2


def test_the_envelope_shows_no_text_name_or_raw_id_of_the_sender():
    blob = seal_version(EVENT, header=header(), data_key=new_key())

    for secret in (CARD, "my card", ALICE, "Bob(Admin)", "Welcome"):
        assert secret.encode() not in blob
    assert read_header(blob).sender == PSEUDONYMS.pseudonym(ALICE) != ALICE


def test_an_edit_and_a_deletion_keep_their_times_in_the_header():
    edited = header(
        action=Action.EDITED, edit_time=datetime(2021, 2, 19, 0, 28, 20, 784000, tzinfo=UTC)
    )
    deleted = replace(
        edited,
        action=Action.DELETED,
        delete_time=datetime(2021, 2, 19, 0, 43, 10, 140000, tzinfo=UTC),
    )

    for sealed in (edited, deleted):
        assert read_header(seal_version(EVENT, header=sealed, data_key=new_key())) == sealed


@given(event=st.binary(max_size=4096))
def test_any_event_bytes_come_back_exactly_and_match_their_commitment(event):
    key = new_key()
    blob = seal_version(event, header=header(), data_key=key)

    opened = open_version(blob, data_key=key)

    assert opened.event == event
    assert commitment_holds(event, opened.salt, opened.commitment)
    assert opened.commitment == json.loads(blob)["commitment"]
