"""Beyond the gradient: the Hessian, the Jacobian of a vector, higher and mixed partials."""

from __future__ import annotations

from symgrad.derive.forms import tidy
from symgrad.derive.forward import differentiate
from symgrad.derive.partial import (
    ExprLike,
    WrtLike,
    as_expr,
    choose_wrt,
    outputs,
    require_scalar,
    resolve_wrt,
    typed_variables,
    variables,
)
from symgrad.errors import InputError, VariableError
from symgrad.limits import check_order
from symgrad.results import Derivative, Hessian, Jacobian


def hessian(expr: ExprLike, wrt: WrtLike = None, *, cse: bool = False) -> Hessian:
    """The symmetric matrix of second partials; each distinct entry is computed once.

    With ``cse=True`` the entries refer to shared subexpressions listed in ``.cse``.

    >>> hessian("x^2*y", "x,y").matrix
    ((2*y, 2*x), (2*x, 0))
    """
    expr = as_expr(expr)
    require_scalar(expr, "a Hessian")
    chosen, notes = choose_wrt(expr, wrt)
    first = [differentiate(expr, v) for v in chosen]
    n = len(chosen)
    upper = {
        (i, j): tidy(differentiate(first[i], chosen[j])) for i in range(n) for j in range(i, n)
    }
    matrix = tuple(tuple(upper[min(i, j), max(i, j)] for j in range(n)) for i in range(n))
    if cse:
        definitions, matrix = _shared(expr, matrix)
        return Hessian(expr, chosen, matrix, cse=definitions, notes=notes)
    return Hessian(expression=expr, wrt=chosen, matrix=matrix, notes=notes)


def jacobian(expr: ExprLike, wrt: WrtLike = None, *, cse: bool = False) -> Jacobian:
    """One row per output, one column per variable; a scalar gives one row (its gradient).

    With ``cse=True`` the entries refer to shared subexpressions listed in ``.cse``.

    >>> jacobian("[x*y, x + y]", "x,y").matrix
    ((y, x), (1, 1))
    >>> jacobian("softmax(a, b)").matrix[0]
    ((1 - softmax(a, b)[0])*softmax(a, b)[0], -softmax(a, b)[0]*softmax(a, b)[1])
    """
    expr = as_expr(expr)
    chosen, notes = choose_wrt(expr, wrt)
    matrix = tuple(tuple(tidy(differentiate(f, v)) for v in chosen) for f in outputs(expr))
    if cse:
        definitions, matrix = _shared(expr, matrix)
        return Jacobian(expr, chosen, matrix, cse=definitions, notes=notes)
    return Jacobian(expression=expr, wrt=chosen, matrix=matrix, notes=notes)


def _shared(expr, matrix) -> tuple[tuple, tuple]:
    """Name the subexpressions the entries share; the matrix in terms of those names."""
    from symgrad.derive.reverse import share

    flat = [e for row in matrix for e in row]
    definitions, reduced = share(flat, taken=variables(expr))
    width = len(matrix[0]) if matrix else 0
    rows = tuple(tuple(reduced[i * width : (i + 1) * width]) for i in range(len(matrix)))
    return definitions, rows


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
        raise InputError(f"--order must be 1 or more, got {order}")
    check_order(order)
    have = typed_variables(expr)
    notes: tuple[str, ...] = ()
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
        found = [choose_wrt(expr, [name]) for name in names]
        chosen = tuple(var for (var,), _ in found)
        notes = tuple(dict.fromkeys(note for _, some in found for note in some))
    if order > 1 and len(chosen) > 1:
        raise VariableError(
            "--order repeats one variable; for a mixed partial list each variable once per "
            "derivative, as in --wrt x,x,y"
        )
    chosen = chosen * order
    check_order(len(chosen))
    result = expr
    for v in chosen:
        result = differentiate(result, v)
    return Derivative(expression=expr, wrt=chosen, derivative=tidy(result), notes=notes)
