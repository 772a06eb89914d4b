"""Expressions generated from the function table, for the combination test.

Every entry of ``symgrad.functions.FUNCTIONS`` is called with each number of arguments it
takes (a vector function with an index), and each call is used alone and composed: inside
``log``, inside a power and in a sum of 20 terms. A function added to the table shows up here
with no change. The arguments are shifted (``x + 1`` for ``acosh``) until the function is
defined at the point (``X``, ``Y``), so that values there can be compared; the shift is found
with the independent reference (mpmath), not with symgrad's own numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import sympy as sp

from symgrad import parse
from symgrad.errors import SymgradError
from symgrad.functions import FUNCTIONS, Function, symbol
from tests.reference import central_difference, numeric

X, Y = 0.37, 0.21
"""The point every expression is evaluated at: away from 0 and 1 (kinks, domain edges), and
x != y. In a sum of 20 terms the k-th term has its own variable xk, also at X."""

SHIFTS = ("", " + 1", " + 2", " - 1", "/4")
"""Tried in turn on the first argument until the call is defined at the point."""
WHOLE_NUMBERS = ("2", "1", "0")
"""Tried for an argument that must be a whole number (``DiracDelta(x, k)``)."""
SUM_TERMS = 20
MAX_ARGUMENTS = 3


def point(variables) -> dict[str, float]:
    """The point for these variable names."""
    return {v: Y if v == "y" else X for v in variables}


def _template(count: int, shift: str) -> list[str]:
    """Arguments of a call, ``{v}`` standing for the first variable: x, then y, then x*y
    (no third variable, so that values stay comparable)."""
    return ["{v}" + shift, "y", "{v}*y"][:count]


@dataclass(frozen=True)
class Case:
    function: str  # the table entry
    form: str  # alone, log, power, sum
    text: str  # what is typed

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(sorted(s.name for s in parse(self.text).free_symbols))


def _parses(text: str) -> sp.Expr | None:
    try:
        return parse(text)
    except SymgradError:
        return None


def _defined(expr: sp.Expr) -> bool:
    """Value and first partials real and finite at the point (mpmath at 30 digits)."""
    at = {symbol(k): v for k, v in point(s.name for s in expr.free_symbols).items()}
    try:
        values = [numeric(expr, at)]
        values += [central_difference(expr, s, at) for s in expr.free_symbols]
    except (AssertionError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return False
    return all(math.isfinite(v) for v in values)


def _call(entry: Function, args: list[str]) -> str | None:
    """``name(args)``, with ``[k]`` for one output of a vector function; None if not valid
    or constant (``softmax(x)[0]`` is 1)."""
    text = f"{entry.name}({', '.join(args)})"
    try:
        value = entry.build(*[parse(a) for a in args])
    except (SymgradError, ValueError, TypeError, ArithmeticError):
        return None
    if isinstance(value, sp.MatrixBase):
        text += f"[{len(value) - 1}]"
        value = value[len(value) - 1]
    if not value.free_symbols or _parses(text) is None:
        return None
    return text


def _counts(entry: Function) -> list[int]:
    counts = list(entry.arity)
    if entry.variadic:
        counts += [entry.arity[-1] + 1, entry.arity[-1] + 2]
    return [n for n in counts if 0 < n <= MAX_ARGUMENTS]


def _template_for(entry: Function, count: int) -> list[str] | None:
    """Argument templates for ``count``-argument calls of ``entry`` (``{v}`` the first
    variable), defined at the point where possible; None when no call is valid."""
    found = None
    for shift in SHIFTS:
        args = _template(count, shift)
        # a trailing argument may have to be a whole number: DiracDelta(x, 2)
        for k in range(count - 1, 0, -1):
            if _call(entry, _fill(args, "x")) is not None:
                break
            for number in WHOLE_NUMBERS:
                trial = [*args[:k], number, *args[k + 1 :]]
                if _call(entry, _fill(trial, "x")) is not None:
                    args = trial
                    break
        text = _call(entry, _fill(args, "x"))
        if text is None:
            continue
        found = found or args
        if _defined(parse(text)):
            return args
    return found


def _fill(template: list[str], variable: str) -> list[str]:
    return [a.replace("{v}", variable) for a in template]


def forms(entry: Function) -> list[Case]:
    """``entry`` called alone, inside log, inside a power, and in a sum of 20 terms (the
    k-th with its own variable xk)."""
    cases = []
    for count in _counts(entry):
        template = _template_for(entry, count)
        if template is None:
            continue
        call = _call(entry, _fill(template, "x"))
        terms = [_call(entry, _fill(template, f"x{k}")) for k in range(1, SUM_TERMS + 1)]
        cases += [
            Case(entry.name, "alone", call),
            Case(entry.name, "log", f"log(1 + {call}^2)"),
            Case(entry.name, "power", f"({call})^3"),
            Case(entry.name, "sum", " + ".join(terms)),
        ]
    return cases


@cache
def cases() -> tuple[Case, ...]:
    """Every function of the table in every form."""
    return tuple(case for entry in FUNCTIONS for case in forms(entry))


def uncovered() -> list[str]:
    """Functions of the table for which no call could be generated."""
    covered = {case.function for case in cases()}
    return [entry.name for entry in FUNCTIONS if entry.name not in covered]
