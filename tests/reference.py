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
        if not value.is_finite and point:
            # 1 - sigmoid(700) rounded to 0 before the substitution could be undone: evalf
            # with the point inside raises its precision until the cancellation is resolved
            value = expr.rewrite(sp.exp).evalf(30, subs=point, maxn=2000)
            complex(value)
    except (ValueError, TypeError) as err:  # an undefined value (0*zoo inside a function)
        raise AssertionError(f"{expr} has no value at {point}") from err
    return value


def numeric(expr: sp.Expr, point: dict) -> float:
    """Value of ``expr`` at ``point`` (symbol -> float) through mpmath, not symgrad's code."""
    value = complex(_evaluate(expr, point))
    assert abs(value.imag) <= 1e-9 * max(1.0, abs(value.real)), (expr, point, value)
    return value.real


def adaptive(expr: sp.Expr, point: dict, digits: int = 1000) -> float:
    """Value of ``expr`` at ``point`` through mpmath with ``digits`` digits throughout:
    enough to resolve the cancellations of losses at logits up to 1,000 (``1 - sigmoid(700)``
    is 9.86e-305, not 0)."""
    import mpmath

    symbols = sorted(point, key=lambda s: s.name)
    plain = expr.rewrite(sp.exp).rewrite(sp.log).rewrite(sp.Max)  # sigmoid, softplus, relu
    extra = {"Heaviside": lambda x, at0=0.5: 1 if x > 0 else 0 if x < 0 else at0}
    f = sp.lambdify(symbols, plain, [extra, "mpmath"])
    with mpmath.workdps(digits):
        value = mpmath.mpmathify(f(*(mpmath.mpf(point[s]) for s in symbols)))
        assert abs(mpmath.im(value)) <= 1e-9 * max(1, abs(mpmath.re(value))), (expr, point)
        return float(mpmath.re(value))


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
