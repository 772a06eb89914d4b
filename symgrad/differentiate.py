"""Partial derivatives and the gradient, tidied in bounded time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

import sympy as sp
from sympy.core.exprtools import factor_terms

from symgrad.errors import ParseError, VariableError
from symgrad.functions import normalize_name
from symgrad.parser import parse

ExprLike = Union[str, sp.Expr]
WrtLike = Union[None, str, Iterable[Union[str, sp.Symbol]]]

# Above this many nodes a result is printed as sympy built it: the tidy-up pass is for
# expressions a person reads, and must not cost more than the derivative itself.
TIDY_MAX_NODES = 400


@dataclass(frozen=True)
class Gradient:
    """The gradient of ``expression``: ``partials[i]`` is d expression / d ``wrt[i]``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    partials: tuple[sp.Expr, ...]

    def __getitem__(self, name: str) -> sp.Expr:
        """The partial derivative for the variable called ``name``."""
        for var, partial in zip(self.wrt, self.partials):
            if var.name == name:
                return partial
        raise KeyError(name)


def natural_key(name: str) -> tuple:
    """Sort key putting ``x2`` before ``x10``."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def variables(expr: sp.Expr) -> tuple[sp.Symbol, ...]:
    """The variables of ``expr`` in natural order (``x2`` before ``x10``)."""
    return tuple(sorted(expr.free_symbols, key=lambda s: natural_key(s.name)))


def resolve_wrt(expr: sp.Expr, wrt: WrtLike) -> tuple[sp.Symbol, ...]:
    """The variables to differentiate by: ``wrt`` checked against ``expr``, or all of them."""
    have = variables(expr)
    if wrt is None:
        if not have:
            raise VariableError(f"{expr} has no variables, so there is nothing to differentiate")
        return have
    names = [n for n in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    by_name = {s.name: s for s in have}
    chosen: list[sp.Symbol] = []
    for item in names:
        name = item.name if isinstance(item, sp.Symbol) else normalize_name(str(item).strip())
        if not name:
            raise VariableError("empty variable name in --wrt: give names such as --wrt w,b")
        if name not in by_name:
            listed = ", ".join(s.name for s in have) or "none"
            raise VariableError(f"'{name}' is not in {expr}; its variables are {listed}")
        if by_name[name] in chosen:
            raise VariableError(f"'{name}' is named twice in --wrt")
        chosen.append(by_name[name])
    return tuple(chosen)


def as_expr(expr: ExprLike) -> sp.Expr:
    """Parse text; pass a sympy expression through."""
    if isinstance(expr, str):
        return parse(expr)
    if isinstance(expr, sp.Basic):
        return expr
    raise ParseError(f"expected an expression or text, got {type(expr).__name__}")


def gradient(expr: ExprLike, wrt: WrtLike = None) -> Gradient:
    """Every partial derivative of ``expr`` by the variables in ``wrt`` (default: all).

    >>> g = gradient("y*log(w*x+b)", "w,b")
    >>> g.partials
    (x*y/(b + w*x), y/(b + w*x))
    """
    expr = as_expr(expr)
    chosen = resolve_wrt(expr, wrt)
    partials = tuple(tidy(sp.diff(expr, v)) for v in chosen)
    return Gradient(expression=expr, wrt=chosen, partials=partials)


def tidy(expr: sp.Expr) -> sp.Expr:
    """The form a person would write, by cheap rewrites only (never ``simplify``).

    Pulls common factors out of sums (``2*b + 2*w*x - 2*y`` is ``2*(b + w*x - y)``) and moves
    a minus sign into a sum whose terms are mostly negative.
    """
    if _too_big(expr) or not expr.has(sp.Add):
        return expr  # both rewrites work on sums only
    factored = factor_terms(expr)
    # most partials have nothing to pull out: then there is nothing to weigh either
    best = expr if factored == expr else _lighter(expr, factored)
    return _flip_signs(best)


def _too_big(expr: sp.Expr) -> bool:
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count > TIDY_MAX_NODES:
            return True
    return False


def _lighter(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """Fewer operations wins; on a tie the shorter text (printed only then: it costs)."""
    ops_a, ops_b = sp.count_ops(a), sp.count_ops(b)
    if ops_a != ops_b:
        return a if ops_a < ops_b else b
    return a if len(str(a)) <= len(str(b)) else b


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
