"""A restricted data key opens only with both admins' shares of the restriction key, in its
own place; a share alone, a share of another key, a typo or a changed byte is named."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from archiver.core.erasure.keys import new_key, new_key_id
from archiver.core.erasure.restriction import (
    RestrictionKey,
    Share,
    check_shares,
    create_restriction_key,
    open_restricted,
    read_share,
)
from archiver.core.errors import ConfigurationError, UnreadableEnvelope

pytestmark = pytest.mark.pure


class Made:
    """A restriction key as `create_restriction_key` hands it out."""

    def __init__(self) -> None:
        self.pem, self.first_text, self.second_text = create_restriction_key()
        self.key = RestrictionKey.from_pem(self.pem)
        self.first = read_share(self.first_text, source="share one")
        self.second = read_share(self.second_text, source="share two")


@pytest.fixture(scope="module")
def made() -> Made:
    return Made()


@pytest.fixture(scope="module")
def other() -> Made:
    return Made()


def ids() -> dict[str, str]:
    return {"data_key_id": new_key_id(), "subject_key_id": new_key_id()}


def test_a_restricted_data_key_opens_with_both_shares_in_either_order(made):
    data_key, where = new_key(), ids()

    restricted = made.key.restrict(data_key, **where)

    assert data_key not in restricted
    assert open_restricted(restricted, shares=(made.first, made.second), **where) == data_key
    assert open_restricted(restricted, shares=(made.second, made.first), **where) == data_key


def test_the_shares_name_their_place_and_their_key(made):
    assert (made.first.number, made.second.number) == (1, 2)
    assert made.first.key_id == made.second.key_id == made.key.key_id
    assert made.key.key_id.startswith("restriction-")
    assert RestrictionKey.from_pem(made.key.pem) == made.key


@pytest.mark.parametrize("which", ["first", "second"])
def test_one_share_twice_does_not_open_and_asks_for_the_other_admins_share(made, which):
    share = getattr(made, which)
    where = ids()
    restricted = made.key.restrict(new_key(), **where)

    with pytest.raises(UnreadableEnvelope, match=f"share {3 - share.number}, which the other"):
        open_restricted(restricted, shares=(share, share), **where)


@pytest.mark.parametrize("which", ["first", "second"])
def test_a_share_alone_is_not_the_private_key(made, which):
    material = getattr(made, which).material
    der = made_der(made)

    assert len(material) == len(der)
    assert material != der
    with pytest.raises(ValueError, match="Could not deserialize key data"):
        serialization.load_der_private_key(material, password=None)


def made_der(made: Made) -> bytes:
    return bytes(a ^ b for a, b in zip(made.first.material, made.second.material, strict=True))


def test_a_share_of_another_key_is_named(made, other):
    where = ids()
    restricted = made.key.restrict(new_key(), **where)

    with pytest.raises(UnreadableEnvelope, match="of two restriction keys"):
        open_restricted(restricted, shares=(made.first, other.second), **where)


def test_both_shares_of_another_key_do_not_open_a_key_restricted_under_this_one(made, other):
    where = ids()
    restricted = made.key.restrict(new_key(), **where)

    with pytest.raises(UnreadableEnvelope, match=f"under restriction key {other.key.key_id}"):
        open_restricted(restricted, shares=(other.first, other.second), **where)


def test_shares_relabelled_as_another_keys_do_not_make_that_key(made, other):
    # Whoever holds the shares of one key cannot pass them off as another's: the checksum
    # is theirs to recompute, but what the shares make is checked against the name.
    relabelled = tuple(
        read_share(replace(share, key_id=other.key.key_id).text)
        for share in (made.first, made.second)
    )

    with pytest.raises(UnreadableEnvelope, match=f"do not make restriction key {other.key.key_id}"):
        check_shares(other.key, (relabelled[0], relabelled[1]))


@pytest.mark.parametrize("moved", ["data_key_id", "subject_key_id"])
def test_a_restricted_key_moved_to_another_row_does_not_open(made, moved):
    where = ids()
    restricted = made.key.restrict(new_key(), **where)

    with pytest.raises(UnreadableEnvelope, match="another key's row"):
        open_restricted(
            restricted, shares=(made.first, made.second), **(where | {moved: new_key_id()})
        )


@pytest.mark.parametrize("index", [0, 191, -1])
def test_a_changed_byte_of_a_restricted_key_does_not_open(made, index):
    where = ids()
    restricted = bytearray(made.key.restrict(new_key(), **where))
    restricted[index] ^= 0x01

    with pytest.raises(UnreadableEnvelope, match="a changed byte"):
        open_restricted(bytes(restricted), shares=(made.first, made.second), **where)


def test_the_public_key_is_no_share_and_holds_no_private_half(made):
    with pytest.raises(UnreadableEnvelope, match="the public key is not a restriction key share"):
        read_share(made.pem, source="the public key")
    assert "PRIVATE" not in made.pem
    assert isinstance(serialization.load_pem_public_key(made.pem.encode()), rsa.RSAPublicKey)


def test_the_shares_check_against_their_own_key_and_no_other(made, other):
    check_shares(made.key, (made.first, made.second))

    with pytest.raises(UnreadableEnvelope, match=f"{made.key.key_id}, not {other.key.key_id}"):
        check_shares(other.key, (made.first, made.second))


def typo(text: str) -> str:
    lines = text.splitlines()
    line = lines[5]
    lines[5] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    return "\n".join(lines)


def dropped_line(text: str) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:6] + lines[7:])


def other_number(text: str) -> str:
    return text.replace("share 1 of 2", "share 2 of 2", 1)


@pytest.mark.parametrize("spoil", [typo, dropped_line, other_number], ids=lambda f: f.__name__)
def test_a_shares_checksum_catches_a_typo_a_lost_line_or_a_changed_number(made, spoil):
    with pytest.raises(UnreadableEnvelope, match=r"share one .* fails its checksum"):
        read_share(spoil(made.first_text), source="share one")


def test_a_share_naming_another_key_fails_its_checksum(made, other):
    text = made.first_text.replace(made.key.key_id, other.key.key_id)

    with pytest.raises(UnreadableEnvelope, match="fails its checksum"):
        read_share(text, source="a share")


def test_a_share_reads_the_same_after_a_trip_through_email_or_a_printer(made):
    copied = "\r\n".join(f"  {line}  " for line in made.second_text.splitlines()) + "\r\n\r\n"

    assert read_share(copied) == made.second


def test_a_share_prints_its_checksum_and_no_key(made):
    assert made.first_text.splitlines()[-1].startswith("checksum: ")
    assert "PRIVATE" not in made.first_text + made.second_text


def test_a_share_made_by_hand_round_trips_through_its_text(made):
    share = Share(2, made.key.key_id, made.second.material)

    assert read_share(share.text) == share
    assert "material" not in repr(share)


def pem_of(public: object) -> str:
    assert isinstance(public, rsa.RSAPublicKey | ed25519.Ed25519PublicKey)
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("pem", "told"),
    [
        (lambda: private_pem(), "holds a private key"),
        (lambda: pem_of(ed25519.Ed25519PrivateKey.generate().public_key()), "RSA public key"),
        (
            lambda: pem_of(
                rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            ),
            "at least 3072 bits",
        ),
        (lambda: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", "not a PEM"),
    ],
    ids=["private", "ed25519", "rsa-2048", "garbage"],
)
def test_only_the_public_half_of_a_big_enough_rsa_key_is_taken(pem, told):
    with pytest.raises(ConfigurationError, match=f"THE_SETTING .*{told}"):
        RestrictionKey.from_pem(pem(), source="THE_SETTING")


def test_only_a_data_key_is_restricted(made):
    with pytest.raises(ValueError, match="a data key is 32 bytes"):
        made.key.restrict(b"short", **ids())
