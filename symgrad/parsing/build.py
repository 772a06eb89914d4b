"""Building sympy trees for what was typed, and for large inputs as written.

Text longer than ``RAW_MIN_CHARS`` (a loss written out by a program) is built as written:
numbers are folded but terms are neither collected nor reordered and functions are not
evaluated. sympy's canonicalisation asks its assumption system about every new node (about
0.3 ms for a term such as ``0.5*w``), which would make a megabyte take minutes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import sympy as sp

RAW_MIN_CHARS = 5_000


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cycle collector while building a big tree: it holds no cycles, and the
    collector's full passes over a growing heap made parsing a megabyte 25% slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def raw_add(terms: list[sp.Expr]) -> sp.Expr:
    """A sum in the order written: numbers folded into one leading constant, like terms
    (``x + x``, ``2*w - w``) collected, nothing reordered."""
    constant = sp.S.Zero
    collected: dict[sp.Expr, list] = {}  # rest -> [coefficient, the term as written]
    for t in terms:
        if t.is_Number:
            constant += t
            continue
        if t.is_Mul and t.args[0].is_Number:
            coeff = t.args[0]
            rest = t.args[1] if len(t.args) == 2 else sp.Mul._from_args(t.args[1:])
        else:
            coeff, rest = sp.S.One, t
        seen = collected.get(rest)
        if seen is None:
            collected[rest] = [coeff, t]
        else:
            seen[0] += coeff
            seen[1] = None
    rest = []
    for r, (c, t) in collected.items():
        if t is None:  # collected from several terms
            t = raw_mul([c, r])
            if _zero(t):
                continue
        rest.append(t)
    if not _zero(constant):
        rest.insert(0, constant)
    if len(rest) <= 1:
        return rest[0] if rest else constant
    return sp.Add._from_args(rest, is_commutative=True)  # symgrad has only real scalars


def raw_mul(factors: list[sp.Expr]) -> sp.Expr:
    """A product in the order written, its numbers folded into one leading coefficient."""
    coeff = sp.S.One
    rest = []
    for f in factors:
        if f.is_Mul and f.args[0].is_Number:  # -(0.5*w) is -0.5*w
            rest.extend(f.args[1:])
            f = f.args[0]
        elif not f.is_Number:
            rest.append(f)
            continue
        if coeff is sp.S.One:
            coeff = f
        elif coeff is sp.S.NegativeOne:
            coeff = _negated(f)
        else:
            coeff = coeff * f
    if not rest or _zero(coeff):
        return coeff
    if coeff is not sp.S.One:
        rest.insert(0, coeff)
    return rest[0] if len(rest) == 1 else sp.Mul._from_args(rest, is_commutative=True)


def _zero(number: sp.Expr) -> bool:
    # number == 0 goes through sympify and number.is_zero through the assumption system
    return number is sp.S.Zero or (number.is_Float and not number._mpf_[1])


_NEGATED: dict[tuple, sp.Float] = {}


def _negated(number: sp.Expr) -> sp.Expr:
    """-number; a data set's floats are negated over and over, so they are cached."""
    if not number.is_Float:
        return -number
    key = (number._mpf_, number._prec)
    found = _NEGATED.get(key)
    if found is None:
        if len(_NEGATED) > 100_000:
            _NEGATED.clear()
        found = _NEGATED[key] = -number
    return found


def raw_pow(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
    if base.is_Number and exponent.is_Number:
        return sp.Pow(base, exponent)
    return sp.Pow(base, exponent, evaluate=False)
