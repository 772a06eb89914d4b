"""Results in the form a person writes, by cheap rewrites in bounded time (never simplify)."""

from __future__ import annotations

import sympy as sp
from sympy.core.exprtools import factor_terms

from symgrad.errors import InputError

# Above this many nodes a result is printed as sympy built it: the tidy-up pass is for
# expressions a person reads, and must not cost more than the derivative itself.
TIDY_MAX_NODES = 200


def tidy(expr: sp.Expr) -> sp.Expr:
    """The form a person would write, by cheap rewrites only (never ``simplify``).

    Tries a common denominator and pulling common factors out of sums, keeps the shortest
    (``(1 - 2*x**2/(x**2 + 1))/(x**2 + 1)`` becomes ``(1 - x**2)/(x**2 + 1)**2``), and moves a
    minus sign into a sum whose terms are mostly negative.
    """
    _require_real(expr)
    if _too_big(expr) or not expr.has(sp.Add):
        return expr  # the rewrites work on sums only
    candidates = [factor_terms(expr), expr] if _sum_with_common_factor(expr) else [expr]
    if _sum_with_fraction(expr):  # only then can a common denominator shorten it
        combined = sp.together(expr)
        if combined != expr:
            candidates.insert(0, factor_terms(combined))
    # on a tie the first wins: the most factored form
    best = _lightest(list(dict.fromkeys(candidates)))
    return _flip_signs(best)


def _sum_with_common_factor(expr: sp.Expr) -> bool:
    """Whether some sum in ``expr`` has terms that share a number or a base, so that
    factor_terms (the costliest step of tidy) can pull something out: 2*b + 2*w*x."""

    def bases(term: sp.Expr) -> set:
        return {f.as_base_exp()[0] for f in sp.Mul.make_args(term.as_coeff_Mul()[1])}

    for node in sp.preorder_traversal(expr):
        if not node.is_Add:
            continue
        coeffs = [t.as_coeff_Mul()[0] for t in node.args]
        if all(c.is_Rational for c in coeffs) and abs(sp.igcd(*[c.p for c in coeffs])) > 1:
            return True
        shared = bases(node.args[0])
        for term in node.args[1:]:
            shared &= bases(term)
            if not shared:
                break
        if shared:
            return True
    return False


def _sum_with_fraction(expr: sp.Expr) -> bool:
    """Whether some sum in ``expr`` has a term with a denominator: 1 - 2*x**2/(x**2 + 1),
    y/3 + 2/3."""

    def fraction(term: sp.Expr) -> bool:
        factors = term.args if term.is_Mul else (term,)
        return any(
            (f.is_Pow and f.exp.is_negative) or (f.is_Rational and not f.is_Integer)
            for f in factors
        )

    return any(
        node.is_Add and any(fraction(t) for t in node.args) for node in sp.preorder_traversal(expr)
    )


def _require_real(expr: sp.Expr) -> None:
    """A derivative must be a real, defined expression, like its input."""
    if expr.has(sp.I):
        raise InputError(
            f"a derivative is not real ({expr}): a power of a negative base such as (-1)^n is "
            "real only for whole n; symgrad works with real numbers"
        )
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise InputError(
            f"a derivative is undefined ({expr}): the expression is not differentiable anywhere"
        )


def _too_big(expr: sp.Expr) -> bool:
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count > TIDY_MAX_NODES:
            return True
    return False


def _lightest(candidates: list[sp.Expr]) -> sp.Expr:
    """The smallest tree wins (a node count: count_ops costs as much as the rewrites); on a
    tie, the first."""
    if len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=lambda c: sum(1 for _ in sp.preorder_traversal(c)))


def _mostly_negative(add: sp.Expr) -> bool:
    negative = sum(1 for t in add.args if t.could_extract_minus_sign())
    return 2 * negative > len(add.args)


def _flip_signs(expr: sp.Expr) -> sp.Expr:
    """-2*x*(-b - w*x + y) reads better as 2*x*(b + w*x - y)."""
    if not expr.args:
        return expr
    args = [_flip_signs(a) for a in expr.args]
    if expr.is_Mul:
        coeff, *rest = args if args[0].is_Number else [sp.S.One, *args]
        for k, factor in enumerate(rest):
            if factor.is_Add and _mostly_negative(factor) and coeff.is_negative:
                rest[k] = sp.Add(*[-t for t in factor.args])
                return _keep_product(-coeff, rest)
        return _keep_product(coeff, rest) if args != list(expr.args) else expr
    return expr.func(*args) if args != list(expr.args) else expr


def _keep_product(coeff: sp.Expr, factors: list[sp.Expr]) -> sp.Expr:
    from sympy.core.mul import _keep_coeff

    return _keep_coeff(coeff, sp.Mul(*factors))
