"""An independent numeric reference for derivatives: mpmath at 30 digits, not symgrad's code."""

from __future__ import annotations

import math

import sympy as sp


def _evaluate(expr: sp.Expr, point: dict) -> complex | sp.Expr:
    """``expr`` at ``point`` as a 30-digit sympy number."""
    # 40-digit inputs: evalf computes no more precisely than the numbers it is given
    point = {var: sp.Float(value, 40) for var, value in point.items()}
    # all variables at once: one at a time, x^2/(x + y) at (0, 0) would become 0, not nan
    at = expr.rewrite(sp.exp).subs(point, simultaneous=True) if point else expr
    try:
        value = at.evalf(30)
        complex(value)
    except (ValueError, TypeError) as err:  # an undefined value (0*zoo inside a function)
        raise AssertionError(f"{expr} has no value at {point}") from err
    return value


def numeric(expr: sp.Expr, point: dict) -> float:
    """Value of ``expr`` at ``point`` (symbol -> float) through mpmath, not symgrad's code."""
    value = complex(_evaluate(expr, point))
    assert abs(value.imag) <= 1e-9 * max(1.0, abs(value.real)), (expr, point, value)
    return value.real


def central_difference(expr: sp.Expr, var: sp.Symbol, point: dict, h: float = 1e-10) -> float:
    """(f(x+h) - f(x-h)) / 2h, every step at 30 digits: truncation error O(h^2) ~ 1e-20, and
    no cancellation in doubles."""
    up = dict(point)
    down = dict(point)
    up[var] = sp.Float(point[var], 40) + sp.Float(h, 40)
    down[var] = sp.Float(point[var], 40) - sp.Float(h, 40)
    difference = (_evaluate(expr, up) - _evaluate(expr, down)) / (2 * sp.Float(h, 40))
    value = complex(difference.evalf(30))
    assert abs(value.imag) <= 1e-9 * max(1.0, abs(value.real)), (expr, point, value)
    return value.real


def close(a: float, b: float, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)
