"""Partial derivatives and the gradient, tidied in bounded time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional, Union

import sympy as sp
from sympy.core.exprtools import factor_terms

from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import normalize_name
from symgrad.parser import parse

ExprLike = Union[str, sp.Expr]
WrtLike = Union[None, str, Iterable[Union[str, sp.Symbol]]]

# Above this many nodes a result is printed as sympy built it: the tidy-up pass is for
# expressions a person reads, and must not cost more than the derivative itself.
TIDY_MAX_NODES = 200

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
            raise VariableError(
                f"the expression is the constant {expr}: it has no variables to differentiate by"
            )
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
    require_scalar(expr, "a gradient")
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
            f"a derivative is undefined ({expr}): the expression is not differentiable "
            "anywhere (for example 0^x)"
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


# ---------------------------------------------------------------- beyond the gradient


def is_vector(expr) -> bool:
    """True for a vector-valued expression: ``[f1, f2]`` or ``softmax(a, b, c)``."""
    return isinstance(expr, sp.MatrixBase)


def outputs(expr) -> tuple[sp.Expr, ...]:
    """The components of a vector expression; a scalar is a vector of one."""
    return tuple(expr) if is_vector(expr) else (expr,)


def require_scalar(expr, what: str) -> None:
    """An InputError pointing to the Jacobian when ``expr`` is a vector."""
    if is_vector(expr):
        raise InputError(
            f"{what} needs a scalar expression, and this one is a vector of {len(expr)} "
            "outputs: its derivative is a Jacobian (symgrad jacobian), or take one output, "
            "as in softmax(a, b)[0]"
        )


@dataclass(frozen=True)
class Hessian:
    """Second partials of ``expression``: ``matrix[i][j]`` is d2 f / d wrt[i] d wrt[j]."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]


@dataclass(frozen=True)
class Jacobian:
    """First partials of a vector: ``matrix[i][j]`` is d outputs[i] / d wrt[j]."""

    expression: sp.Expr  # an ImmutableMatrix column, or a scalar (a Jacobian of one row)
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]

    @property
    def outputs(self) -> tuple[sp.Expr, ...]:
        return outputs(self.expression)


@dataclass(frozen=True)
class Derivative:
    """One higher or mixed partial: ``expression`` differentiated by each of ``wrt`` in turn."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]  # with repeats: (x, x, y) is d3 f / dx2 dy
    derivative: sp.Expr

    @property
    def order(self) -> int:
        return len(self.wrt)


def hessian(expr: ExprLike, wrt: WrtLike = None) -> Hessian:
    """The symmetric matrix of second partials; each distinct entry is computed once.

    >>> hessian("x^2*y", "x,y").matrix
    ((2*y, 2*x), (2*x, 0))
    """
    expr = as_expr(expr)
    require_scalar(expr, "a Hessian")
    chosen = resolve_wrt(expr, wrt)
    first = [sp.diff(expr, v) for v in chosen]
    n = len(chosen)
    upper = {(i, j): tidy(sp.diff(first[i], chosen[j])) for i in range(n) for j in range(i, n)}
    matrix = tuple(tuple(upper[min(i, j), max(i, j)] for j in range(n)) for i in range(n))
    return Hessian(expression=expr, wrt=chosen, matrix=matrix)


def jacobian(expr: ExprLike, wrt: WrtLike = None) -> Jacobian:
    """One row per output, one column per variable; a scalar gives one row (its gradient).

    >>> jacobian("[x*y, x + y]", "x,y").matrix
    ((y, x), (1, 1))
    >>> jacobian("softmax(a, b)").matrix[0]
    ((1 - softmax(a, b)[0])*softmax(a, b)[0], -softmax(a, b)[0]*softmax(a, b)[1])
    """
    expr = as_expr(expr)
    chosen = resolve_wrt(expr, wrt)
    matrix = tuple(tuple(tidy(sp.diff(f, v)) for v in chosen) for f in outputs(expr))
    return Jacobian(expression=expr, wrt=chosen, matrix=matrix)


def derivative(expr: ExprLike, wrt: WrtLike = None, order: int = 1) -> Derivative:
    """A higher or mixed partial: ``wrt="x"`` with ``order=3`` is d3f/dx3, ``wrt="x,y"`` is
    d2f/dxdy (a name may repeat: ``"x,x,y"``).

    >>> derivative("x^3*y", "x", order=2).derivative
    6*x*y
    >>> derivative("x^3*y", "x,y").derivative
    3*x**2
    """
    expr = as_expr(expr)
    require_scalar(expr, "diff")
    if order < 1:
        raise VariableError(f"--order must be 1 or more, got {order}")
    have = variables(expr)
    if wrt is None:
        if len(have) != 1:
            resolve_wrt(expr, None)  # no variables at all: its error says so
            listed = ", ".join(s.name for s in have)
            raise VariableError(
                f"{expr} has variables {listed}: say which to differentiate by, as in --wrt x"
            )
        chosen = have
    else:
        names = wrt.split(",") if isinstance(wrt, str) else list(wrt)
        chosen = tuple(resolve_wrt(expr, [name])[0] for name in names)
    if order > 1 and len(chosen) > 1:
        raise VariableError(
            "--order repeats one variable; for a mixed partial list each variable once per "
            "derivative, as in --wrt x,x,y"
        )
    chosen = chosen * order
    result = expr
    for v in chosen:
        result = sp.diff(result, v)
    return Derivative(expression=expr, wrt=chosen, derivative=tidy(result))
