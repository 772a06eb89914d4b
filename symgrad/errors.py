"""Typed errors: the library raises them, the CLI turns each into one line and an exit code."""

from __future__ import annotations


class SymgradError(Exception):
    """Base of every error symgrad reports to a user.

    ``kind`` names the error in JSON records, ``exit_code`` is the CLI's exit status and
    ``column`` (1-based) points into ``source`` when the error is about a place in the input.
    """

    kind = "error"
    exit_code = 2

    def __init__(self, message: str, *, column: int | None = None, source: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.source = source


class ParseError(SymgradError):
    """The text is not an expression symgrad understands."""

    kind = "parse"


class VariableError(SymgradError):
    """A variable named by the user (``--wrt``, ``--at``) does not fit the expression."""

    kind = "variable"


class InputError(SymgradError):
    """Other bad input: an option value, a file that cannot be read."""

    kind = "input"


class LimitError(SymgradError):
    """A resource limit was hit (size, depth, literal size, time)."""

    kind = "limit"
    exit_code = 3


class UnverifiableError(SymgradError):
    """A result cannot be checked numerically (outside the domain, at a kink, non-finite)."""

    kind = "unverifiable"
    exit_code = 4


class OutputError(SymgradError):
    """The output cannot be written (stdout closed, disk full)."""

    kind = "output"
