"""A disclosed event and its salt prove themselves against the envelope's commitment with
nothing but SHA-256; any other salt or event does not."""

from __future__ import annotations

import hashlib
import json

import pytest

from archiver.core.erasure.commitments import commitment_holds, commitment_of, new_salt
from tests.builders import message_event

pytestmark = pytest.mark.pure

EVENT = json.dumps(message_event(body="4111 1111 1111 1111")).encode()


def test_the_commitment_is_sha256_of_the_raw_salt_then_the_event_bytes():
    salt = new_salt()

    assert commitment_of(EVENT, salt) == hashlib.sha256(salt + EVENT).hexdigest()
    assert commitment_holds(EVENT, salt, hashlib.sha256(salt + EVENT).hexdigest().upper())


def test_another_salt_or_event_does_not_hold():
    salt = new_salt()
    commitment = commitment_of(EVENT, salt)

    assert not commitment_holds(EVENT, new_salt(), commitment)
    assert not commitment_holds(EVENT.replace(b"4111", b"4112"), salt, commitment)
    assert commitment_of(EVENT, new_salt()) != commitment


def test_a_salt_of_the_wrong_length_or_a_garbled_commitment_never_holds():
    salt = new_salt()
    commitment = commitment_of(EVENT, salt)

    assert not commitment_holds(EVENT, salt[:15], commitment)
    assert not commitment_holds(EVENT, salt + b"\x00", commitment)
    assert not commitment_holds(EVENT, salt, "é" * 64)
    with pytest.raises(ValueError, match="16 bytes, not 15"):
        commitment_of(EVENT, salt[:15])


def test_salts_are_128_fresh_bits():
    salts = {new_salt() for _ in range(100)}

    assert len(salts) == 100
    assert {len(salt) for salt in salts} == {16}
