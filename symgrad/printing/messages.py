"""Messages for stderr: one line per error, whatever the input it quotes."""

from __future__ import annotations

from symgrad.errors import SymgradError


def error_line(error: SymgradError, line: int | None = None) -> str:
    """One line for stderr: ``symgrad: parse error at column 3: unexpected ';'``; in a stream
    it names the input line: ``symgrad: line 7: parse error at column 3: ...``."""
    where = f" at column {error.column}" if error.column else ""
    stream = f"line {line}: " if line is not None else ""
    return printable(f"symgrad: {stream}{error.kind} error{where}: {error.message}")


def printable(text: str) -> str:
    """``text`` with control characters escaped, so that a message is one line and never moves
    a terminal's cursor, whatever the input it quotes (a newline, an ANSI escape).

    >>> printable("unexpected '\\x1b'")
    "unexpected '\\\\x1b'"
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def error_caret(error: SymgradError) -> str | None:
    """The input with a caret under the column (for a terminal); None when it does not fit."""
    src = error.source
    if not src or not error.column or not src.isprintable() or len(src) > 200:
        return None
    return f"  {src}\n  {' ' * (error.column - 1)}^"
