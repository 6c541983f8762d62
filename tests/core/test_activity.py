"""The activity hours and the windows each daily job reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archiver.core.activity import Window, due, hour_of, next_cursor, parse_hour, since_cursor

pytestmark = pytest.mark.pure
NOW = datetime(2026, 12, 3, 4, 15, tzinfo=UTC)


def test_a_moment_falls_in_its_utc_hour_whatever_its_zone():
    east = datetime(2026, 12, 3, 5, 59, tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo)

    assert hour_of(east) == "2026120305"
    assert parse_hour("2026120305") == datetime(2026, 12, 3, 5, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "20261203", "2026120305x", "~cursor", "2026133105"])
def test_anything_but_an_hour_is_refused_as_a_window_end(text):
    with pytest.raises(ValueError, match="not an activity hour"):
        Window(text, "2026120305")


def test_sealing_reads_from_its_cursor_to_this_hour():
    assert since_cursor("2026120204", NOW) == Window("2026120204", "2026120304")


def test_the_cursor_a_run_leaves_rereads_the_hour_a_late_request_started_in():
    # A request that recorded 03:59 activity may still be writing at 04:05.
    assert next_cursor(datetime(2026, 12, 3, 4, 5, tzinfo=UTC)) == "2026120303"
    assert next_cursor(NOW) == "2026120304"


def test_disposal_reads_the_arrivals_whose_retention_ended_since_its_last_run():
    window = due("2026120205", NOW, timedelta(days=30))

    assert window == Window("2026110205", "2026110304")


def test_a_window_that_ends_before_it_begins_is_empty():
    assert Window("2026120305", "2026120304").empty
    assert not Window("2026120304", "2026120304").empty
