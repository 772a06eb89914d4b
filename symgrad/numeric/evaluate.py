"""Results at a point: the value and the gradient (``grad --at``), and the entries of a Hessian,
a Jacobian or a higher derivative (``--at`` on those commands).

Evaluation goes through generated numpy code (``symgrad.numeric.compile``), never through
``evalf`` on user input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

import sympy as sp

from symgrad.derive.partial import ExprLike, WrtLike, as_expr, gradient
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.domain import domain_conditions, domain_notes, kink_report, violated
from symgrad.numeric.points import finite_or_none, point_values
from symgrad.results import Derivative, Gradient, GradientAt, Hessian, Jacobian, ValuesAt

Point = Union[Mapping[str, float], str]


def evaluate_gradient(expr: ExprLike | Gradient, at: Point, wrt: WrtLike = None) -> GradientAt:
    """The value of ``expr`` and of each partial at the point ``at``.

    ``expr`` may be text, an expression or a Gradient already computed. A value that is not
    real and finite is None, with a note saying why (outside the domain, at a kink) and
    ``exit_code`` 4.

    >>> r = evaluate_gradient("y*log(w*x+b)", "w=1,x=2,y=3,b=0.5", "w,b")
    >>> r.value, r.gradient_value
    (2.7488721956224653, (2.4, 1.2))
    """
    grad = expr if isinstance(expr, Gradient) else gradient(as_expr(expr), wrt)
    return gradient_at(grad, at)


def gradient_at(grad: Gradient, at: Point) -> GradientAt:
    """``evaluate_gradient`` for a gradient already computed."""
    values = point_values(grad.expression, at, grad.wrt)
    symbols = list(values)
    point = [values[s] for s in symbols]
    raw = compile_exprs([grad.expression, *grad.partials], symbols)(*point)
    value = finite_or_none(raw[0])
    partial_values = [finite_or_none(v) for v in raw[1:]]
    notes: list[str] = []
    kink_notes, undefined = kink_report(grad, values)
    for i in undefined:
        partial_values[i] = None
    if value is None or any(v is None for v in partial_values) and not kink_notes:
        notes += _why_undefined(grad.expression, grad.partials, symbols, point)
    notes += kink_notes
    notes += domain_notes(grad)
    bad = value is None or any(v is None for v in partial_values) or bool(kink_notes)
    return GradientAt(
        gradient=grad,
        at={s.name: values[s] for s in symbols},
        value=value,
        gradient_value=tuple(partial_values),
        notes=tuple(dict.fromkeys(notes)),
        exit_code=4 if bad else 0,
    )


def values_at(result: Hessian | Jacobian | Derivative, at: Point) -> ValuesAt:
    """A Hessian, a Jacobian or a higher derivative evaluated at the point ``at``.

    >>> from symgrad import hessian
    >>> values_at(hessian("x^2*y", "x,y"), "x=1,y=2").values
    ((4.0, 2.0), (2.0, 0.0))
    """
    expression = result.expression
    outputs = tuple(expression) if isinstance(expression, sp.MatrixBase) else (expression,)
    scope = sp.ImmutableMatrix(outputs) if len(outputs) > 1 else outputs[0]
    values = point_values(scope, at, result.wrt)
    symbols = list(values)
    point = [values[s] for s in symbols]
    if isinstance(result, Derivative):
        entries = [result.derivative]
    else:
        entries = [e for row in result.matrix for e in row]
    if result_cse := getattr(result, "cse", None):
        from symgrad.derive.reverse import expand_names

        entries = list(expand_names(result_cse, entries))
    raw = compile_exprs([*outputs, *entries], symbols)(*point)
    found = [finite_or_none(v) for v in raw]
    f_values, entry_values = found[: len(outputs)], found[len(outputs) :]
    notes: list[str] = []
    if any(v is None for v in found):
        notes += _why_undefined(scope, entries, symbols, point)
    if isinstance(result, Derivative):
        shaped = entry_values[0]
    else:
        width = len(result.wrt)
        shaped = tuple(
            tuple(entry_values[i * width : (i + 1) * width]) for i in range(len(result.matrix))
        )
    return ValuesAt(
        result=result,
        at={s.name: values[s] for s in symbols},
        value=tuple(f_values) if len(outputs) > 1 else f_values[0],
        values=shaped,
        notes=tuple(dict.fromkeys(notes)),
        exit_code=4 if notes else 0,
    )


def _why_undefined(expression, entries, symbols, point) -> list[str]:
    # name the expression's own condition before an entry's stronger one
    return (
        violated(domain_conditions(expression), symbols, point)
        or violated(domain_conditions(expression, *entries), symbols, point)
        or ["the value is not a finite real number here (a kink, a pole or a jump)"]
    )
