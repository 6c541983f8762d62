"""Checking the seals of a batch of threads into one report: what `verify --seals`
prints and what a `verify` queue job writes to reports/verify/{run}/{batch}.json."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archiver.core.evidence.signatures import PublicKey
from archiver.core.progress import Progress
from archiver.sealing.inspection import CONCURRENCY, inspect
from archiver.sealing.judgement import Finding, Judgement
from archiver.storage.ports import Storage


@dataclass(frozen=True, order=True)
class ThreadFinding:
    """Something altered (`finding`) in one thread."""

    thread_id: str
    finding: Finding


@dataclass
class SealReport:
    """What checking threads found, thread after thread in the order they were checked:
    the findings, the blobs not sealed yet, how much was checked, and the last thread
    checked (the cursor a run stopped there resumes after)."""

    threads: int = 0
    checked: Counter[str] = field(default_factory=Counter)
    receipts: set[str] = field(default_factory=set)
    findings: list[ThreadFinding] = field(default_factory=list)
    unsealed: list[str] = field(default_factory=list)
    cursor: str | None = None

    def add(self, thread_id: str, judgement: Judgement) -> None:
        """Count in one thread's judgement; it becomes the cursor."""
        self.threads += 1
        self.checked += judgement.checked
        self.receipts |= judgement.receipts
        self.findings += (ThreadFinding(thread_id, f) for f in judgement.altered)
        self.unsealed += judgement.unsealed
        self.cursor = thread_id

    @property
    def kinds(self) -> Counter[str]:
        """How many findings of each kind ("modified", "seal missing", ...)."""
        return Counter(item.finding.what for item in self.findings)

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object: counts first, then every finding and unsealed blob."""
        return {
            "threads": self.threads,
            "checked": {name: self.checked[name] for name in ("seals", "blobs", "rows")},
            # Sealed leaves an erasure receipt accounts for, by its decision, and the receipts.
            "leaves": {
                name.removeprefix("leaves "): count
                for name, count in sorted(self.checked.items())
                if name.startswith("leaves ")
            },
            "receipts": sorted(self.receipts),
            "altered": len(self.findings),
            "kinds": dict(sorted(self.kinds.items())),
            "unsealedBlobs": len(self.unsealed),
            "cursor": self.cursor,
            "findings": [
                {
                    "thread": item.thread_id,
                    "subject": item.finding.subject,
                    "what": item.finding.what,
                    "detail": item.finding.detail,
                }
                for item in sorted(self.findings)
            ],
            "unsealed": self.unsealed,
        }


async def inspect_threads(
    storage: Storage,
    keys: Mapping[str, PublicKey],
    thread_ids: Iterable[str],
    *,
    concurrency: int = CONCURRENCY,
    progress: Progress | None = None,
    report: SealReport | None = None,
) -> SealReport:
    """Check every seal, blob and row of the threads, `concurrency` at once, into a
    report (into `report`, so that what was checked before a failure is kept)."""
    into = SealReport() if report is None else report
    async for thread_id, judgement in inspect(
        storage, keys, threads=thread_ids, concurrency=concurrency, progress=progress
    ):
        into.add(thread_id, judgement)
    return into
