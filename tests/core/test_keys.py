"""Thread and message ids become safe, reversible blob-path and table keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.core.errors import InvalidEvent
from archiver.core.keys import MAX_KEY_LENGTH, decode_key, encode_key

REAL_IDS = [
    "19:6e5d6ca1d75044a49a36a7965ec4a906@thread.v2",
    "19:meeting_NjE1ZGQ0ZjYtYjg4ZS00ZTM0LWI0NjQtMjJkYjI0NjVlMTMw@thread.v2",
    "1613694358927",
    "8:acs:109f0644-b956-4cd9-87b1-71024f6e2f44_00000008-578d-7caf-07fd-084822001724",
]
HOSTILE_IDS = [
    "a/b",
    "a\\b",
    "#1",
    "what?",
    "..",
    ".",
    "../../etc",
    "tab\there",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "100%",
    "it's",
    "~7E",
    "∑ ünï 👋",
    "lone \ud800 surrogate",
    " spaced ",
    "a" * 80,
]


@pytest.mark.parametrize("thread_id", REAL_IDS)
def test_real_acs_ids_are_their_own_keys(thread_id):
    assert encode_key(thread_id, field="threadId") == thread_id


# Any text at all: every Unicode category, lone surrogates included (ids arrive as JSON,
# which can carry them), with the characters keys treat specially drawn often.
ANY_ID = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.characters(codec=None, categories=["Cs", "Cc", "Zs"]),
        st.sampled_from("-_:@.~/\\#?%'"),
    ),
    min_size=1,
    max_size=100,
)


def key_of(value: str) -> str | None:
    """The key of an id, or None when it is refused as too long."""
    try:
        return encode_key(value, field="threadId")
    except InvalidEvent as refused:
        reason = str(refused)
    assert "too long" in reason
    return None


@given(ANY_ID)
def test_every_key_decodes_back_to_its_id(value):
    # Decoding is a function, so a round trip for every id also means that two different
    # ids never share a key.
    key = key_of(value)

    assert key is None or decode_key(key) == value


@given(ANY_ID)
def test_keys_hold_nothing_that_blob_names_or_table_keys_forbid(value):
    key = key_of(value)

    assert key is None or not set(key) & set("/\\#?%'")
    assert key is None or all(32 < ord(char) < 127 for char in key)
    assert key is None or not key.startswith(".")
    assert key is None or len(key) <= MAX_KEY_LENGTH


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_ids_with_path_query_control_and_escape_characters_round_trip_to_safe_keys(value):
    key = encode_key(value, field="threadId")

    assert decode_key(key) == value
    assert not set(key) & set("/\\#?%'")
    assert all(32 < ord(char) < 127 for char in key)
    assert not key.startswith(".")  # nor "." or ".."


def test_an_empty_id_is_refused_with_the_field_named():
    with pytest.raises(InvalidEvent, match="messageId is empty"):
        encode_key("", field="messageId")


def test_an_id_too_long_to_key_is_refused_rather_than_shortened():
    assert len(encode_key("x" * MAX_KEY_LENGTH, field="threadId")) == MAX_KEY_LENGTH

    with pytest.raises(InvalidEvent, match="threadId is too long"):
        encode_key("x" * (MAX_KEY_LENGTH + 1), field="threadId")
    with pytest.raises(InvalidEvent, match="threadId is too long"):
        encode_key("/" * 100, field="threadId")
