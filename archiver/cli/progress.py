"""A progress bar on stderr for long runs, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Counts work done out of a total (or open-ended when the total is None), redrawn
    at most ten times a second."""

    def __init__(
        self,
        total: int | None,
        *,
        label: str,
        stream: TextIO = sys.stderr,
        enabled: bool = True,
        unit: str = "",
    ) -> None:
        self._total = None if total is None else max(total, 1)
        self._unit = unit
        self._label = label
        self._stream = stream
        self._enabled = enabled and stream.isatty()
        self._done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def advance(self, amount: int) -> None:
        """Count `amount` more units done."""
        self._done += amount
        now = time.monotonic()
        finished = self._total is not None and self._done >= self._total
        if self._enabled and (now - self._drawn >= 0.1 or finished):
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        """End the bar's line."""
        if self._enabled:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, now: float) -> None:
        rate = self._done / max(now - self._started, 1e-9)
        if self._total is None:
            self._stream.write(f"\r{self._label} {self._done:,} {self._unit} {rate:,.0f}/s")
            self._stream.flush()
            return
        share = min(self._done / self._total, 1.0)
        filled = int(share * 30)
        self._stream.write(
            f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{self._done}/{self._total} {share:4.0%} {rate:,.0f}/s"
        )
        self._stream.flush()
