"""A request's row writes travel as one table transaction per thread, cut to fit one."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from archiver.core.layout import MAX_ROW_TEXT_UNITS
from archiver.core.transactions import (
    MAX_BYTES,
    MAX_OPERATIONS,
    RowWrite,
    check,
    row_bytes,
    transactions,
)
from archiver.storage.entities import to_entity
from tests.storage.test_storage_contract import row


def write(thread: str, message: int, **changes: object) -> RowWrite:
    return RowWrite(
        row(thread_key=thread, thread_id=thread, message_key=str(message), **changes), etag=None
    )


def test_writes_are_grouped_by_thread_in_the_order_they_came():
    writes = [write("a", 1), write("b", 1), write("a", 2), write("b", 2), write("c", 1)]

    groups = transactions(writes)

    assert groups == [(writes[0], writes[2]), (writes[1], writes[3]), (writes[4],)]


def test_a_thread_with_more_rows_than_one_transaction_holds_is_cut_at_a_hundred():
    groups = transactions(write("a", n) for n in range(250))

    assert [len(g) for g in groups] == [100, 100, 50]


def test_rows_too_heavy_for_one_request_body_are_cut_by_weight():
    heavy = "\x01" * MAX_ROW_TEXT_UNITS  # each unit a six-byte JSON escape

    groups = transactions(write("a", n, body=heavy, metadata=heavy) for n in range(40))

    assert len(groups) > 1
    assert all(sum(row_bytes(w.row) for w in g) <= MAX_BYTES for g in groups)


def test_the_same_row_twice_never_shares_a_transaction():
    groups = transactions([write("a", 1), write("a", 1, body="again")])

    assert [len(g) for g in groups] == [1, 1]


def test_no_writes_make_no_transactions():
    assert transactions([]) == []


@given(st.text(max_size=2000), st.text(max_size=500), st.text(max_size=200))
def test_a_rows_weight_is_never_less_than_its_entity_as_json(body, metadata, name):
    written = row(body=body or None, metadata=metadata or None, sender_display_name=name or None)

    entity = to_entity(written)

    assert row_bytes(written) >= len(json.dumps(entity, default=str).encode())


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 40)), max_size=400))
def test_every_write_is_in_exactly_one_group_and_every_group_is_one_transaction(pairs):
    writes = [write(thread, message) for thread, message in pairs]

    groups = transactions(writes)

    assert sorted(map(id, (w for g in groups for w in g))) == sorted(map(id, writes))
    for group in groups:
        check(group)  # raises when a group could not be one transaction
        assert len(group) <= MAX_OPERATIONS
