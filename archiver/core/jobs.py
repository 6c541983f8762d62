"""Jobs on the queue: what a message of `chat-jobs` says, and how a run's threads are cut
into messages.

A message is JSON: `{"job": kind, "run": id, "threads": [thread ids]}`. The timers only
enqueue (threads in batches); the `run_job` function does each batch. Every kind is
idempotent, so a batch delivered twice changes nothing: sealing a sealed thread finds
it unchanged, disposing of a disposed thread finds no row, a transcribed thread is no
longer due, a checkpoint over unchanged heads repeats the last one's heads, a verify
report is written create-only once. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from archiver.core.errors import InvalidJob
from archiver.core.jsontext import dumps

MAX_THREADS = 200  # per message: 200 ids of ACS's length stay far inside 64 KiB
MAX_ID_UNITS = 256


class Kind(StrEnum):
    """What a job does with its threads."""

    SEAL = "seal"  # seal each thread (archiver.sealing.sealer)
    DISPOSE = "dispose"  # dispose of each thread past retention that no matter holds
    TRANSCRIBE = "transcribe"  # archive each inactive thread from ACS, with transcripts
    VERIFY = "verify"  # check each thread's seals, blobs and rows into a report blob
    INDEX = "index"  # write each thread's versions into the search index (ARCHIVE_SEARCH)
    CHECKPOINT = "checkpoint"  # no threads: write the checkpoint (after a sealing run)


ThreadId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_UNITS)]


class Job(BaseModel):
    """One message of the jobs queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job: Kind
    run: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    threads: tuple[ThreadId, ...] = Field(default=(), max_length=MAX_THREADS)
    batch: Annotated[int, Field(ge=0)] = 0  # its place in the run: names its report

    def text(self) -> str:
        """The message's text, as the queue carries it."""
        return dumps(self.model_dump(mode="json"))


def parse_job(text: str) -> Job:
    """The job a message says; InvalidJob (naming what is wrong) for anything else."""
    try:
        return Job.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'message'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise InvalidJob(f"not a job of the archiver: {problems}") from None


def batches(kind: Kind, run: str, thread_ids: Iterable[str], size: int) -> Iterator[Job]:
    """`thread_ids` in order, `size` a message (at least one message per run, empty or not,
    so a run always shows on the queue)."""
    batch: list[str] = []
    sent, number = False, 0
    for thread_id in thread_ids:
        batch.append(thread_id)
        if len(batch) == size:
            yield Job(job=kind, run=run, threads=tuple(batch), batch=number)
            batch, sent, number = [], True, number + 1
    if batch or not sent:
        yield Job(job=kind, run=run, threads=tuple(batch), batch=number)
