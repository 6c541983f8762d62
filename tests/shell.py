"""How the tests read a command line that a page or a help text shows."""

from __future__ import annotations

import re
import shlex


def shell_words(line: str) -> list[str]:
    """The command's words, up to a redirection, a pipe or the next command."""
    # <NAME> is a placeholder for the reader to fill in, not a redirection.
    line = re.sub(r"<([\w .-]+)>", r"{\1}", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    for word in lexer:
        if word in {">", ">>", "<", "|", "&&", ";", "&"}:
            break
        words.append(word)
    return words
