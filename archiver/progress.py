"""A progress bar on stderr for long runs, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work done out of a known total, redrawn at most ten times a second."""

    def __init__(
        self, total: int, *, label: str, stream: TextIO = sys.stderr, enabled: bool = True
    ) -> None:
        self._total = max(total, 1)
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
        if self._enabled and (now - self._drawn >= 0.1 or self._done >= self._total):
            self._drawn = now
            self._draw(now)

    def finish(self) -> None:
        """End the bar's line."""
        if self._enabled:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, now: float) -> None:
        share = min(self._done / self._total, 1.0)
        filled = int(share * 30)
        rate = self._done / max(now - self._started, 1e-9)
        self._stream.write(
            f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{self._done}/{self._total} {share:4.0%} {rate:,.0f}/s"
        )
        self._stream.flush()
