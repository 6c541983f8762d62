"""The reliability figures the suite gathers, printed at its end (conftest's summary hook).

Load, fault and fuzzing tests record what they did here; the report says how much load
the archiver held, which faults it survived, how many bad inputs it was fed, and how
many versions were lost (which the tests themselves assert to be zero).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Load:
    """One load run: events delivered against some archiver processes."""

    name: str
    events: int
    requests: int
    seconds: float
    processes: int
    lost: int


@dataclass
class Figures:
    """Everything recorded during one test session."""

    loads: list[Load] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    bad_inputs: Counter[str] = field(default_factory=Counter)
    lost: int = 0

    def load(
        self, name: str, *, events: int, requests: int, seconds: float, processes: int, lost: int
    ) -> None:
        """Record a load run and the versions it lost."""
        self.loads.append(Load(name, events, requests, seconds, processes, lost))
        self.lost += lost

    def fault(self, kind: str, count: int = 1) -> None:
        """Record faults injected (and survived: the test asserts the archive is complete)."""
        self.faults[kind] += count

    def bad_input(self, kind: str, count: int = 1) -> None:
        """Record hostile inputs fed to the webhook."""
        self.bad_inputs[kind] += count

    def lines(self) -> list[str]:
        """The report, or nothing when no reliability test ran."""
        if not (self.loads or self.faults or self.bad_inputs):
            return []
        lines = []
        for run in self.loads:
            lines.append(
                f"load   {run.name}: {run.events:,} events in {run.requests:,} requests "
                f"to {run.processes} process(es), {run.requests / max(run.seconds, 1e-9):,.0f} "
                f"requests/s, {run.events / max(run.seconds, 1e-9):,.0f} events/s, "
                f"lost {run.lost}"
            )
        if self.faults:
            kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.faults.items()))
            lines.append(f"faults {sum(self.faults.values()):,} injected and survived: {kinds}")
        if self.bad_inputs:
            kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.bad_inputs.items()))
            lines.append(f"input  {sum(self.bad_inputs.values()):,} bad inputs tried: {kinds}")
        lines.append(f"lost   {self.lost}")
        return lines


FIGURES = Figures()
