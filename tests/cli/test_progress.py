"""The progress bar draws on a terminal only, and ends its line when done."""

from __future__ import annotations

import io

from archiver.cli.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_shows_done_out_of_total_and_ends_its_line():
    screen = Terminal()
    bar = ProgressBar(40, label="delivering", stream=screen)

    bar.advance(10)
    bar.advance(30)
    bar.finish()

    text = screen.getvalue()
    assert "\rdelivering [" in text
    assert "40/40 100%" in text
    assert text.endswith("\n")


def test_a_pipe_or_a_disabled_bar_gets_nothing():
    pipe = io.StringIO()
    quiet = Terminal()

    for bar in (
        ProgressBar(5, label="x", stream=pipe),
        ProgressBar(5, label="x", stream=quiet, enabled=False),
    ):
        bar.advance(5)
        bar.finish()

    assert pipe.getvalue() == quiet.getvalue() == ""


def test_without_a_total_the_bar_counts_what_is_done():
    screen = Terminal()
    bar = ProgressBar(None, label="exporting", stream=screen, unit="messages")

    bar.advance(1200)
    bar.finish()

    assert "\rexporting 1,200 messages" in screen.getvalue()
    assert screen.getvalue().endswith("\n")
