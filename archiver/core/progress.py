"""Progress of a long run, as a port: the command line draws a bar, the Azure side
passes nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Counts work done; told when the run is over."""

    def advance(self, amount: int) -> None:
        """Count `amount` more units done."""

    def finish(self) -> None:
        """The run is over."""
