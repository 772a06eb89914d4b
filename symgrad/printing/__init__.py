"""Results to what a person or a program reads: one module per format.

``text`` (plain ASCII lines that re-parse), ``json`` (one JSON Lines record), ``latex``
(display-math lines) and ``pretty`` (2-D Unicode blocks for a terminal). Each format module
starts with a table from result type to its renderer, so adding a result type or a format is
one obvious place. Nothing here computes: a printer only reads a result.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

FORMATS = ("pretty", "text", "json", "latex", "dot")


def render(result: Any, fmt: str, *, source: str | None = None, width: int = 80) -> Any:
    """``result`` in format ``fmt``: a dict (json), lines (text, latex) or blocks (pretty).

    ``source`` is the input text a JSON record quotes; ``width`` the terminal's columns.

    >>> from symgrad import gradient
    >>> render(gradient("x^2"), "text")
    ['f = x**2', 'df/dx = 2*x']
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = import_module(f"symgrad.printing.{fmt}")  # json never loads the 2-D printer
    return module.render(result, source=source, width=width)
