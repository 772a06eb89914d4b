"""Partial derivatives and the gradient: which variables, which mode, tidied results."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Union

import sympy as sp

from symgrad.derive.forms import tidy
from symgrad.derive.forward import differentiate
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import constants, function_table, normalize_name, symbol
from symgrad.notation import expr_text
from symgrad.parsing import parse, typed_names
from symgrad.results import Gradient

ExprLike = Union[str, sp.Expr]
WrtLike = Union[None, str, Iterable[Union[str, sp.Symbol]]]

# Per-variable diff walks the expression once per variable; above this much work
# (distinct nodes * variables) one reverse sweep (symgrad.derive.reverse) is cheaper.
REVERSE_MIN_WORK = 20_000


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


def typed_variables(expr: sp.Expr) -> tuple[sp.Symbol, ...]:
    """The variables of ``expr`` and every other name typed in the text it was parsed from,
    in natural order: in ``asin(-x) + asin(x)``, which is 0, x is still a variable.

    >>> from symgrad import parse
    >>> typed_variables(parse("(x^x^x^x)^0 + y"))
    (x, y)
    """
    found = _symbols(expr)
    found.update(symbol(name) for name in typed_names(expr))
    return tuple(sorted(found, key=lambda s: natural_key(s.name)))


_NAME = re.compile(r"[^\W\d_]\w*\Z")


def choose_wrt(expr: sp.Expr, wrt: WrtLike) -> tuple[tuple[sp.Symbol, ...], tuple[str, ...]]:
    """The variables to differentiate by, and notes: ``wrt`` (default: every variable).

    A name that does not appear in ``expr`` is still a variable, whose partial is 0; a note
    says so, with the closest name that does appear (a typo stays visible).

    >>> choose_wrt(parse("w*x"), "W,x")
    ((W, x), ("'W' does not appear in w*x: its partial is 0; did you mean 'w'?",))
    """
    have = typed_variables(expr)
    if wrt is None:
        if not have:
            raise VariableError(
                f"the expression is the constant {expr}: it has no variables to differentiate by"
            )
        return have, ()
    names = [n for n in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    by_name = {s.name: s for s in have}
    chosen: list[sp.Symbol] = []
    notes: list[str] = []
    for item in names:
        name = item.name if isinstance(item, sp.Symbol) else normalize_name(str(item).strip())
        if not name:
            raise VariableError("empty variable name in --wrt: give names such as --wrt w,b")
        var = by_name.get(name)
        if var is None:
            var = _absent_variable(name)
            notes.append(_absent_note(name, expr, have))
        if var in chosen:
            raise VariableError(f"'{name}' is named twice in --wrt")
        chosen.append(var)
    return tuple(chosen), tuple(notes)


def _absent_variable(name: str) -> sp.Symbol:
    """The symbol of a --wrt name that is not in the expression, if it can be a variable."""
    if name in constants():
        raise VariableError(
            f"'{name}' is a constant here (e is Euler's number, pi is π), not a variable"
        )
    if name in function_table():
        raise VariableError(f"'{name}' is a function, not a variable")
    if not _NAME.match(name) or name.startswith("__"):
        raise VariableError(
            f"'{name}' is not a variable name: give names such as --wrt w,b (letters, digits, _)"
        )
    return symbol(name)


def _absent_note(name: str, expr: sp.Expr, have: tuple[sp.Symbol, ...]) -> str:
    shown = expr_text(expr)
    shown = shown if len(shown) <= 60 else "the expression"
    note = f"'{name}' does not appear in {shown}: its partial is 0"
    names = [s.name for s in have]
    close = [n for n in names if n.casefold() == name.casefold()]
    close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"{note}; did you mean '{close[0]}'?" if close else note


def resolve_wrt(expr: sp.Expr, wrt: WrtLike) -> tuple[sp.Symbol, ...]:
    """The variables to differentiate by: ``wrt`` (names that do not appear are variables
    too, with partial 0), or every variable."""
    return choose_wrt(expr, wrt)[0]


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
    chosen, notes = choose_wrt(expr, wrt)
    if cse or use_reverse_mode(expr, chosen):
        from symgrad.derive.reverse import expand_names, reverse_gradient

        sweep = reverse_gradient(expr, chosen)
        if cse:
            return Gradient(expr, chosen, sweep.gradient, cse=sweep.definitions, notes=notes)
        partials = expand_names(sweep.definitions, sweep.gradient)
        return Gradient(expr, chosen, tuple(tidy(p) for p in partials), notes=notes)
    partials = tuple(tidy(differentiate(expr, v)) for v in chosen)
    return Gradient(expression=expr, wrt=chosen, partials=partials, notes=notes)


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
