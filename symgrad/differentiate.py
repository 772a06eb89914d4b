"""Partial derivatives and the gradient, tidied in bounded time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional, Union

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

# Per-variable diff walks the expression once per variable; above this much work
# (distinct nodes * variables) one reverse sweep (symgrad.reverse) is cheaper.
REVERSE_MIN_WORK = 20_000


@dataclass(frozen=True)
class Gradient:
    """The gradient of ``expression``: ``partials[i]`` is d expression / d ``wrt[i]``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    partials: tuple[sp.Expr, ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions ``(name, definition)``, in order, that ``partials`` may use;
    None unless asked for (``cse=True``)."""

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
    return tuple(sorted(_symbols(expr), key=lambda s: natural_key(s.name)))


def _symbols(expr: sp.Expr) -> set[sp.Symbol]:
    # free_symbols walks the tree; this walks each distinct subexpression once
    if not expr.args:
        return {expr} if expr.is_Symbol else set()
    seen, stack, found = {expr}, [expr], set()
    while stack:
        for a in stack.pop().args:
            if a.is_Symbol:
                found.add(a)
            elif a.args and a not in seen:
                seen.add(a)
                stack.append(a)
    return found


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
    taken: set[sp.Symbol] = set()
    for item in names:
        name = item.name if isinstance(item, sp.Symbol) else normalize_name(str(item).strip())
        if not name:
            raise VariableError("empty variable name in --wrt: give names such as --wrt w,b")
        if name not in by_name:
            listed = ", ".join(s.name for s in have) or "none"
            raise VariableError(f"'{name}' is not in {expr}; its variables are {listed}")
        if by_name[name] in taken:
            raise VariableError(f"'{name}' is named twice in --wrt")
        chosen.append(by_name[name])
        taken.add(by_name[name])
    return tuple(chosen)


def as_expr(expr: ExprLike) -> sp.Expr:
    """Parse text; pass a sympy expression through."""
    if isinstance(expr, str):
        return parse(expr)
    if isinstance(expr, sp.Basic):
        return expr
    raise ParseError(f"expected an expression or text, got {type(expr).__name__}")


def gradient(expr: ExprLike, wrt: WrtLike = None, *, cse: bool = False) -> Gradient:
    """Every partial derivative of ``expr`` by the variables in ``wrt`` (default: all).

    With ``cse=True`` the partials refer to shared subexpressions listed in ``.cse`` (one
    reverse sweep names every shared value and adjoint). Without it, a large expression
    with many variables is still differentiated in reverse mode, then written out in full.

    >>> g = gradient("y*log(w*x+b)", "w,b")
    >>> g.partials
    (x*y/(b + w*x), y/(b + w*x))
    >>> g = gradient("y*log(w*x+b)", "w,b", cse=True)
    >>> g.cse, g.partials
    (((t0, b + w*x), (t1, y/t0)), (t1*x, t1))
    """
    expr = as_expr(expr)
    chosen = resolve_wrt(expr, wrt)
    if cse or use_reverse_mode(expr, chosen):
        from symgrad.reverse import expand_names, reverse_gradient

        sweep = reverse_gradient(expr, chosen)
        if cse:
            return Gradient(expr, chosen, sweep.gradient, cse=sweep.definitions)
        partials = expand_names(sweep.definitions, sweep.gradient)
        return Gradient(expr, chosen, tuple(tidy(p) for p in partials))
    partials = tuple(tidy(sp.diff(expr, v)) for v in chosen)
    return Gradient(expression=expr, wrt=chosen, partials=partials)


def use_reverse_mode(expr: sp.Expr, wrt: tuple[sp.Symbol, ...]) -> bool:
    """True when one reverse sweep beats one ``diff`` per variable (a big expression and
    many variables)."""
    if len(wrt) < 2:
        return False
    budget = REVERSE_MIN_WORK // len(wrt)
    stack, seen = [expr], {expr}
    while stack:  # count distinct nodes, stopping once past the budget
        if len(seen) > budget:
            return True
        for a in stack.pop().args:
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return False


def tidy(expr: sp.Expr) -> sp.Expr:
    """The form a person would write, by cheap rewrites only (never ``simplify``).

    Pulls common factors out of sums (``2*b + 2*w*x - 2*y`` is ``2*(b + w*x - y)``) and moves
    a minus sign into a sum whose terms are mostly negative.
    """
    if _too_big(expr):
        return expr
    candidates = [expr, factor_terms(expr)]
    best = min(candidates, key=_weight)
    return _flip_signs(best)


def _too_big(expr: sp.Expr) -> bool:
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count > TIDY_MAX_NODES:
            return True
    return False


def _weight(expr: sp.Expr) -> tuple[int, int]:
    return (sp.count_ops(expr), len(str(expr)))


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
