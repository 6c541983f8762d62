"""What archiving a thread from ACS did, and its record in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field

from archiver.acs.completeness import Gaps
from archiver.core.governance.principals import Principal
from archiver.governance.trail import AuditTrail
from archiver.summaries.summarizer import Summarised


@dataclass
class Reconciled:
    """What archiving one thread did."""

    thread_id: str
    source: str = "acs"  # where the transcript came from: "acs" or "archive"
    listed: int = 0  # user messages ACS showed
    system: int = 0  # system messages ACS showed (thread changes)
    repaired: list[str] = field(default_factory=list)  # "{messageId} v{version} {action}"
    present: int = 0  # versions ACS showed that the archive already held
    unrecoverable: int = 0  # edited or deleted messages of which no earlier version exists
    quarantined: int = 0
    transcripts: tuple[str, ...] = ()
    note: str | None = None
    refused: str | None = None  # why ACS would not let the thread be archived
    complete: bool | None = None  # the archive held every message ACS showed (None: not checked)
    gaps: Gaps | None = None  # what it lacked, by sequenceId (archiver.acs.completeness)
    summary: Summarised | None = None  # what became of its summary (None: summaries are off)


async def record_run(trail: AuditTrail, report: Reconciled, principal: Principal) -> None:
    """One audit record of an archiving run of one thread."""
    await trail.record(
        "archive-thread",
        principal,
        outcome="refused" if report.refused else "done",
        target={"threadId": report.thread_id},
        details={
            "source": report.source,
            "repaired": len(report.repaired),
            "transcripts": list(report.transcripts),
            "complete": report.complete,
        }
        | ({} if report.summary is None else {"summary": report.summary.outcome}),
    )
