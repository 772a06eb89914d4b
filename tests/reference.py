"""An independent numeric reference for derivatives: mpmath at 30 digits, not symgrad's code."""

from __future__ import annotations

import math

import sympy as sp


def numeric(expr: sp.Expr, point: dict) -> float:
    """Value of ``expr`` at ``point`` (symbol -> float) through mpmath, not symgrad's code."""
    # all variables at once: one at a time, x^2/(x + y) at (0, 0) would become 0, not nan
    at = expr.rewrite(sp.exp).subs(point, simultaneous=True) if point else expr
    try:
        value = complex(at.evalf(30))
    except ValueError as err:  # evalf of an undefined value (0*zoo inside a function)
        raise AssertionError(f"{expr} has no value at {point}") from err
    assert abs(value.imag) <= 1e-9 * max(1.0, abs(value.real)), (expr, point, value)
    return value.real


def central_difference(expr: sp.Expr, var: sp.Symbol, point: dict, h: float = 1e-10) -> float:
    """(f(x+h) - f(x-h)) / 2h with high-precision evaluation: error O(h^2)."""
    up = dict(point)
    down = dict(point)
    up[var] = sp.Float(point[var]) + sp.Float(h)
    down[var] = sp.Float(point[var]) - sp.Float(h)
    return (numeric(expr, up) - numeric(expr, down)) / (2 * h)


def close(a: float, b: float, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)
