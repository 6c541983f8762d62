"""Each key opens only under the key above it and in its own place; pseudonyms are
stable per participant and carry no raw id."""

from __future__ import annotations

import uuid

import pytest

from archiver.core.erasure.keys import (
    KeyWrapper,
    LocalKeyWrapper,
    new_key,
    new_key_id,
    unwrap_data_key,
    wrap_data_key,
)
from archiver.core.erasure.pseudonyms import Pseudonymiser
from archiver.core.errors import ConfigurationError, UnreadableEnvelope
from tests.builders import ALICE

pytestmark = pytest.mark.pure

BOB = "8:acs:b1b2c3d4-0000-0000-0000-000000000002_0000001b-bbbb-bbbb-bbbb-bbbbbbbbbbbb"


def test_a_data_key_unwraps_under_its_subject_key_and_ids():
    data_key, subject_key = new_key(), new_key()
    ids = {"data_key_id": new_key_id(), "subject_key_id": new_key_id()}

    wrapped = wrap_data_key(data_key, subject_key=subject_key, **ids)

    assert unwrap_data_key(wrapped, subject_key=subject_key, **ids) == data_key
    assert data_key not in wrapped


def test_another_subjects_key_does_not_unwrap_a_data_key():
    ids = {"data_key_id": new_key_id(), "subject_key_id": new_key_id()}
    wrapped = wrap_data_key(new_key(), subject_key=new_key(), **ids)

    with pytest.raises(UnreadableEnvelope, match="another subject's key"):
        unwrap_data_key(wrapped, subject_key=new_key(), **ids)


@pytest.mark.parametrize("moved", ["data_key_id", "subject_key_id"])
def test_a_wrapped_data_key_moved_to_another_row_does_not_unwrap(moved):
    subject_key = new_key()
    ids = {"data_key_id": new_key_id(), "subject_key_id": new_key_id()}
    wrapped = wrap_data_key(new_key(), subject_key=subject_key, **ids)

    with pytest.raises(UnreadableEnvelope, match="does not unwrap"):
        unwrap_data_key(wrapped, subject_key=subject_key, **(ids | {moved: new_key_id()}))


@pytest.mark.parametrize("index", [0, 11, 12, -1])
def test_a_changed_byte_of_a_wrapped_data_key_does_not_unwrap(index):
    subject_key = new_key()
    ids = {"data_key_id": new_key_id(), "subject_key_id": new_key_id()}
    wrapped = bytearray(wrap_data_key(new_key(), subject_key=subject_key, **ids))
    wrapped[index] ^= 0x80

    with pytest.raises(UnreadableEnvelope):
        unwrap_data_key(bytes(wrapped), subject_key=subject_key, **ids)


def test_a_truncated_wrapped_data_key_does_not_unwrap():
    with pytest.raises(UnreadableEnvelope):
        unwrap_data_key(b"short", subject_key=new_key(), data_key_id="d", subject_key_id="s")


async def test_a_subject_key_unwraps_under_its_root_key_only():
    root: KeyWrapper = LocalKeyWrapper(new_key(), key_id="dev-root")
    subject_key = new_key()

    wrapped = await root.wrap(subject_key)

    assert await root.unwrap(wrapped, wrapped_by="dev-root") == subject_key
    assert subject_key not in wrapped
    with pytest.raises(UnreadableEnvelope, match="does not unwrap under root key dev-root"):
        await LocalKeyWrapper(new_key(), key_id="dev-root").unwrap(wrapped, wrapped_by="dev-root")
    with pytest.raises(UnreadableEnvelope, match="wrapped by root key dev-root, not by other"):
        await LocalKeyWrapper(new_key(), key_id="other").unwrap(wrapped, wrapped_by="dev-root")


def test_a_local_root_key_is_32_bytes_and_never_shows_them():
    material = new_key()

    assert material.hex() not in repr(LocalKeyWrapper(material))
    with pytest.raises(ValueError, match="32 bytes, not 16"):
        LocalKeyWrapper(material[:16])


def test_keys_and_key_ids_are_fresh_every_time():
    assert len({new_key() for _ in range(100)}) == 100
    assert len({new_key_id() for _ in range(100)}) == 100
    assert uuid.UUID(new_key_id()).version == 4


def test_a_pseudonym_is_stable_per_participant_and_never_the_raw_id():
    pseudonyms = Pseudonymiser(b"k" * 32)
    alice = pseudonyms.pseudonym(ALICE)

    assert alice == Pseudonymiser(b"k" * 32).pseudonym(ALICE)
    assert alice != pseudonyms.pseudonym(BOB)
    assert ALICE not in alice
    assert ALICE.split(":")[-1] not in alice
    assert set(alice) <= set("0123456789abcdef")
    assert len(alice) == 64


def test_another_secret_gives_unlinkable_pseudonyms():
    assert Pseudonymiser(b"k" * 32).pseudonym(ALICE) != Pseudonymiser(b"j" * 32).pseudonym(ALICE)


def test_a_short_pseudonymisation_secret_is_refused_and_never_shown():
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Pseudonymiser(b"short")
    assert "k" * 32 not in repr(Pseudonymiser(b"k" * 32))
