"""Text to sympy trees: plain syntax (``plain``) and LaTeX (``latex``), never ``eval``."""

from __future__ import annotations

import sympy as sp

from symgrad.limits import Limits, current_limits
from symgrad.parsing.plain import parse, remember_names, typed_names

__all__ = ["parse", "parse_input", "looks_like_latex", "remember_names", "typed_names"]


def looks_like_latex(text: str) -> bool:
    """Plain syntax never has a backslash or a dollar sign; LaTeX pasted from notes does."""
    return "\\" in text or "$" in text


def parse_input(
    text: str, limits: Limits | None = None, *, latex: bool = False, max_chars: int | None = None
) -> sp.Expr:
    """Parse plain syntax, or LaTeX when ``latex`` is set or the text looks like LaTeX.

    >>> parse_input("w^2*x + b^2")
    b**2 + w**2*x
    """
    if latex or looks_like_latex(text):
        from symgrad.parsing.latex import parse_latex  # only for LaTeX: keeps the plain path lean

        return parse_latex(text, limits or current_limits(), max_chars=max_chars)
    return parse(text, limits, max_chars=max_chars)
