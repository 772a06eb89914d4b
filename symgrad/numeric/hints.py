"""Symbolic help for a verdict, each step within its own share of the deadline: whether a
claim is provably the derivative, and what differs when it is not ("missing factor x")."""

from __future__ import annotations

import numpy as np
import sympy as sp

from symgrad.budget import within
from symgrad.notation import expr_text, fmt_number

SYMBOLIC_BUDGET = 1.0  # seconds of sympy simplify per claim


def _simplified(expr: sp.Expr, seconds: float = SYMBOLIC_BUDGET, how=sp.simplify) -> sp.Expr | None:
    """``how(expr)`` (``simplify`` by default), or None when that takes longer than ``seconds``."""
    result = None
    with within(seconds):
        result = how(expr)
    return result


def equivalent(claim: sp.Expr, true: sp.Expr) -> bool:
    """True where the difference simplifies to 0 within the budget."""
    if claim == true:
        return True
    diff = _simplified(claim - true)
    return diff is not None and diff == 0


def factor_hint(c: np.ndarray, t: np.ndarray) -> str | None:
    """Where the claim's values ``c`` are the derivative's ``t`` times one constant at every
    point (two at least): that factor, a sign error, or a claim of 0."""
    with np.errstate(all="ignore"):
        nonzero = np.abs(t) > 1e-12
        if np.count_nonzero(nonzero) < 2:
            return None
        ratio = c[nonzero] / t[nonzero]
        r0 = ratio[0]
        if not np.all(np.abs(ratio - r0) <= 1e-9 * max(1.0, abs(r0))):
            return None
    if abs(r0) < 1e-12:
        return "the claim is 0 here but the derivative is not"
    if abs(r0 + 1) <= 1e-9:
        return "off by a factor of -1 (a sign error)"
    return f"off by a factor of {fmt_number(float(f'{r0:.10g}'))}"


def constant_shift(c: np.ndarray, t: np.ndarray) -> str | None:
    """Where the derivative's values ``t`` are the claim's ``c`` plus one constant at every
    point (two at least): ``the claim + 2``, as the end of a hint."""
    if len(c) < 2:
        return None
    with np.errstate(all="ignore"):
        shift = t - c
        if not np.all(np.abs(shift - shift[0]) <= 1e-9 * max(1.0, abs(shift[0]))):
            return None
    sign = "-" if shift[0] < 0 else "+"
    return f"the claim {sign} {fmt_number(abs(shift[0]))}"


def hint(claim, true, c: np.ndarray, t: np.ndarray) -> str | None:
    """What differs, where that is cheap to see: a constant factor, a constant term, a
    missing or extra factor, a missing term."""
    found = factor_hint(c, t)
    if found is not None:
        return found
    shifted = constant_shift(c, t)
    if shifted is not None:
        return f"off by a constant: the derivative is {shifted}"
    # cancel, not simplify: rational arithmetic is quick, and a hint is only a hint
    small = 6
    if claim != 0 and true != 0:
        for candidate, words in ((true / claim, "missing factor"), (claim / true, "extra factor")):
            q = _simplified(candidate, SYMBOLIC_BUDGET / 4, sp.cancel)
            if q is not None and q.is_Number and q != 0 and words == "missing factor":
                # at a single point the ratio of values says nothing; the symbolic one does
                factor = 1 / q
                if factor == -1:
                    return "off by a factor of -1 (a sign error)"
                return f"off by a factor of {expr_text(factor)}"
            if (
                q is not None
                and q.free_symbols
                and sp.denom(q) == 1
                and not q.is_Add
                and sp.count_ops(q) <= small
            ):
                return f"{words} {expr_text(q)}"
    d = _simplified(true - claim, SYMBOLIC_BUDGET / 4, sp.expand)
    if d is not None and d != 0 and not d.is_Add and sp.count_ops(d) <= small:
        return f"missing term {expr_text(d)} (the derivative is the claim + {expr_text(d)})"
    return None
