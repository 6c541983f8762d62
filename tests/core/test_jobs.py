"""Jobs on the queue: what a message says, and a run cut into messages."""

from __future__ import annotations

import pytest

from archiver.core.errors import InvalidJob
from archiver.core.jobs import MAX_THREADS, Job, Kind, batches, parse_job

pytestmark = pytest.mark.pure


def test_a_job_reads_back_from_its_text():
    job = Job(job=Kind.SEAL, run="seal-20261203T041500Z", threads=("19:a@thread.v2",))

    assert parse_job(job.text()) == job


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"job": "format-disk", "run": "r"}',
        '{"job": "seal"}',
        '{"job": "seal", "run": "r", "threads": [""]}',
        '{"job": "seal", "run": "r", "threads": "19:a@thread.v2"}',
        '{"job": "seal", "run": "r", "extra": 1}',
        '{"job": "seal", "run": "r", "threads": [' + ",".join(['"t"'] * (MAX_THREADS + 1)) + "]}",
    ],
)
def test_a_message_that_is_no_job_is_refused_with_what_is_wrong(text):
    with pytest.raises(InvalidJob, match="not a job of the archiver"):
        parse_job(text)


def test_a_run_is_cut_into_batches_of_the_given_size_in_order():
    found = list(batches(Kind.DISPOSE, "r", [f"t{n}" for n in range(5)], 2))

    assert [job.threads for job in found] == [("t0", "t1"), ("t2", "t3"), ("t4",)]
    assert {job.job for job in found} == {Kind.DISPOSE}


def test_a_run_with_nothing_to_visit_is_still_one_empty_job():
    assert list(batches(Kind.SEAL, "r", [], 25)) == [Job(job=Kind.SEAL, run="r")]
