"""Refusals counted per minute and caller: bounded whatever the flood, every refusal in
exactly one count, the verified principal named when there is one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from archiver.access.tally import MOST_ADDRESS_CHARACTERS, MOST_ADDRESSES, Tally
from archiver.core.governance.audit import ANONYMOUS, OTHERS, REFUSALS, refusals_record
from archiver.core.governance.principals import Principal

MINUTE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
EVE = Principal(kind="entra", object_id="0b7c-eve", name="Eve", roles=frozenset({"X"}))


def at(seconds: float) -> datetime:
    return MINUTE + timedelta(seconds=seconds)


def refuse(tally: Tally, seconds: float, *, ip: str | None = "203.0.113.7", **kw: object) -> None:
    values: dict[str, object] = {"principal": None, "route": "read.thread", "status": 401} | kw
    tally.count(at=at(seconds), client_ip=ip, **values)  # type: ignore[arg-type]


def test_a_minute_of_refusals_from_one_address_is_one_count_of_its_statuses_and_routes():
    tally = Tally()
    for second in range(60):
        refuse(tally, second + 0.5, route="events" if second % 3 == 0 else "read.thread")

    [refused] = tally.closed(at(60))

    assert (refused.principal, refused.client_ip, refused.count) == (ANONYMOUS, "203.0.113.7", 60)
    assert refused.statuses == {401: 60}
    assert refused.routes == {"events": 20, "read.thread": 40}
    assert (refused.minute, refused.first, refused.last) == (MINUTE, at(0.5), at(59.5))
    assert len(tally) == 0


def test_a_verified_principal_is_counted_by_itself_whatever_address_it_calls_from():
    tally = Tally()
    refuse(tally, 1, ip="198.51.100.1", principal=EVE, status=403, route="hold.add")
    refuse(tally, 2, ip="198.51.100.2", principal=EVE, status=403, route="read.thread")
    refuse(tally, 3, ip="198.51.100.1")

    eve, anonymous = tally.closed(at(60))

    assert (eve.principal, eve.client_ip, eve.count, eve.statuses) == (
        EVE,
        "198.51.100.1",
        2,
        {403: 2},
    )
    assert eve.routes == {"hold.add": 1, "read.thread": 1}
    assert (anonymous.principal, anonymous.client_ip, anonymous.count) == (
        ANONYMOUS,
        "198.51.100.1",
        1,
    )


def test_past_the_cap_a_minutes_other_callers_are_one_count_together():
    tally = Tally(most_callers=3, most_addresses=3)
    for n in range(1000):
        refuse(tally, n / 20, ip=f"198.51.100.{n % 250}")

    counted = tally.closed(at(60))

    assert [c.client_ip for c in counted] == [f"198.51.100.{n}" for n in range(3)] + [None]
    assert counted[-1].principal == OTHERS
    assert [c.count for c in counted] == [4, 4, 4, 988]
    assert sum(c.count for c in counted) == 1000


def test_made_up_addresses_fill_only_their_share_so_a_verified_principal_keeps_its_own():
    tally = Tally(most_callers=4, most_addresses=2)
    for n in range(100):
        refuse(tally, n / 10, ip=f"198.51.100.{n}")
    refuse(tally, 30, principal=EVE, status=403)

    counted = tally.closed(at(60))

    assert [(c.principal, c.client_ip, c.count) for c in counted] == [
        (ANONYMOUS, "198.51.100.0", 1),
        (ANONYMOUS, "198.51.100.1", 1),
        (OTHERS, None, 98),
        (EVE, "203.0.113.7", 1),
    ]


def test_a_refusal_is_counted_in_constant_time_whatever_the_flood():
    tally = Tally()
    began = time.perf_counter()
    for n in range(100_000):
        refuse(tally, n / 2000, ip=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    took = time.perf_counter() - began

    assert len(tally) == 100_000
    assert len(tally.closed(at(60))) == MOST_ADDRESSES + 1
    assert took < 5, took  # a few microseconds each


def test_each_minute_is_counted_apart_and_only_a_closed_one_is_taken_out():
    tally = Tally()
    refuse(tally, 59.999)
    refuse(tally, 60.0)

    assert tally.due() == at(60)
    assert [c.minute for c in tally.closed(at(60))] == [MINUTE]
    assert tally.closed(at(119)) == []
    assert tally.due() == at(120)
    assert [c.count for c in tally.closed(at(61), everything=True)] == [1]
    assert tally.due() is None


def test_an_address_is_cut_to_the_length_of_an_address_so_a_count_stays_small():
    tally = Tally()
    refuse(tally, 1, ip="9" * 100_000)
    refuse(tally, 2, ip="9" * 99_999)

    [refused] = tally.closed(at(60))

    assert refused.client_ip == "9" * MOST_ADDRESS_CHARACTERS
    assert refused.count == 2


def test_the_record_of_a_count_names_the_minute_the_caller_and_how_many_of_each():
    tally = Tally()
    refuse(tally, 1.25)
    refuse(tally, 2.5, status=503, route="events")
    [refused] = tally.closed(at(60))

    record = refusals_record(refused, at=at(61)).as_json()

    assert record["action"] == REFUSALS
    assert (record["outcome"], record["status"], record["clientIp"]) == (
        "refused",
        None,
        "203.0.113.7",
    )
    assert record["principal"]["kind"] == "anonymous"
    assert record["time"] == "2026-12-03T10:01:01.000Z"
    assert record["details"] == {
        "minute": "2026-12-03T10:00:00.000Z",
        "count": 2,
        "statuses": {"401": 1, "503": 1},
        "routes": {"events": 1, "read.thread": 1},
        "first": "2026-12-03T10:00:01.250Z",
        "last": "2026-12-03T10:00:02.500Z",
    }
