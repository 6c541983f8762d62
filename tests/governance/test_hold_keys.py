"""The keys of the hold table never collide, and a disposal's plan holds only the
thread's own blobs, whatever its id (attacks 3 and 11 of issue 24). Pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver.core.errors import InvalidQuery
from archiver.core.governance.disposals import of_thread
from archiver.core.governance.holds import PARTICIPANT_SCOPE, Hold, Scope, scope_key

ids = st.text(min_size=1, max_size=20)  # short enough to be a key however it encodes


@given(thread=ids, participant=ids)
def test_no_thread_key_is_ever_a_custodians_key(thread: str, participant: str):
    assert scope_key(Scope.THREAD, thread) != scope_key(Scope.PARTICIPANT, participant)
    assert not scope_key(Scope.THREAD, thread).startswith(PARTICIPANT_SCOPE)


@given(first=ids, second=ids)
def test_two_matters_have_two_keys_and_none_is_the_threads_own_row(first: str, second: str):
    one = Hold(scope=Scope.THREAD, target="19:a@thread.v2", matter=first)
    other = Hold(scope=Scope.THREAD, target="19:a@thread.v2", matter=second)

    assert (one.matter_key == other.matter_key) == (first == second)
    assert one.matter_key != ""  # the thread's own row (the disposal claim) is RowKey ""


def test_a_matter_too_long_for_a_key_is_refused_not_shortened():
    with pytest.raises(InvalidQuery, match="matter is too long to be a storage key"):
        _ = Hold(scope=Scope.THREAD, target="19:a@thread.v2", matter="M" * 256).matter_key


@pytest.mark.parametrize(
    ("name", "own"),
    [
        ("messages/keys/1613694358927/00000001613694358927-received.json", True),
        ("threads/keys/00000001613782482822-created.json", True),
        ("threads/keys/00000001613782482823-participantAdded-8:acs:1.json", True),
        ("transcripts/keys/20270301T050000Z.json", True),
        ("seals/keys/20270301T041500Z.json", True),
        ("seals/keys/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.pem", False),
        ("seals/keys/notes.txt", False),
        ("messages/keys/1613694358927/not-a-version.json", False),
        ("messages/keys-2/1613694358927/00000001613694358927-received.json", False),
        ("audit/2027/03/01/050000-0193a4f1c2e07000a1b2c3d4e5f60718.json", False),
    ],
)
def test_a_disposal_of_thread_keys_plans_only_its_own_blobs(name: str, own: bool):
    assert of_thread(name, thread_id="keys", thread_key="keys") is own
