"""Results at a point: the value and the gradient (``grad --at``), and the entries of a Hessian,
a Jacobian or a higher derivative (``--at`` on those commands).

Evaluation goes through generated numpy code (``symgrad.numeric.compile``: stable forms of
log-sigmoid, softplus, log-sum-exp), never through ``evalf`` on user input; a value that is
not a finite float there is computed again with 50 digits (``symgrad.numeric.precise``), so a
float that rounded to 0 or overflowed never makes a point "outside the domain".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

import sympy as sp

from symgrad.derive.partial import ExprLike, WrtLike, as_expr, gradient
from symgrad.numeric import precise
from symgrad.numeric.compile import beyond_doubles, compile_exprs, number_name
from symgrad.numeric.domain import domain_conditions, domain_notes, kink_report, violated
from symgrad.numeric.points import exact_point, finite_or_none
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
    values, exact = exact_point(grad.expression, at, grad.wrt)
    symbols = list(values)
    point = [values[s] for s in symbols]
    exprs = [grad.expression, *grad.partials]
    found = _values(exprs, symbols, point)
    reasons = _on_edges(grad.expression, grad.partials, symbols, point, exact, found)
    value, partial_values = found[0], found[1:]
    notes: list[str] = []
    kink_notes, undefined = kink_report(grad, values, exact)
    for i in undefined:
        partial_values[i] = None
    if reasons:
        notes += reasons
    elif value is None or any(v is None for v in partial_values) and not kink_notes:
        notes += _why_undefined(grad.expression, grad.partials, symbols, point, exact, found)
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


def _values(exprs, symbols, point) -> list[float | None]:
    """Each expression at the point: compiled floats, and where a float is not finite, the
    value with 50 digits (``1 - sigmoid(40)`` is not 0; ``log`` of a negative is undefined).
    A real value too large for a float is None too (its note says so)."""
    raw = compile_exprs(list(exprs), symbols)(*point)
    found = [finite_or_none(v) for v in raw]
    # a float of sin(10^30*x) is any number, and so is one at 50 digits: none is given
    rounded = {i for i, e in enumerate(exprs) if rounded_periods([e])}
    found = [None if i in rounded else v for i, v in enumerate(found)]
    missing = [i for i, v in enumerate(found) if v is None and i not in rounded]
    if missing:
        exact = precise.values([exprs[i] for i in missing], dict(zip(symbols, point)))
        for i, v in zip(missing, exact):
            found[i] = None if v is None else finite_or_none(v)
    return found


def values_at(result: Hessian | Jacobian | Derivative, at: Point) -> ValuesAt:
    """A Hessian, a Jacobian or a higher derivative evaluated at the point ``at``.

    >>> from symgrad import hessian
    >>> values_at(hessian("x^2*y", "x,y"), "x=1,y=2").values
    ((4.0, 2.0), (2.0, 0.0))
    """
    expression = result.expression
    outputs = tuple(expression) if isinstance(expression, sp.MatrixBase) else (expression,)
    scope = sp.ImmutableMatrix(outputs) if len(outputs) > 1 else outputs[0]
    values, exact = exact_point(scope, at, result.wrt)
    symbols = list(values)
    point = [values[s] for s in symbols]
    if isinstance(result, Derivative):
        entries = [result.derivative]
    else:
        entries = [e for row in result.matrix for e in row]
    if result_cse := getattr(result, "cse", None):
        from symgrad.derive.reverse import expand_names

        entries = list(expand_names(result_cse, entries))
    found = _values([*outputs, *entries], symbols, point)
    notes: list[str] = _on_edges(scope, entries, symbols, point, exact, found, len(outputs))
    f_values, entry_values = found[: len(outputs)], found[len(outputs) :]
    if any(v is None for v in found) and not notes:
        notes += _why_undefined(scope, entries, symbols, point, exact, found)
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


def _on_edges(expression, entries, symbols, point, exact, found, outputs=1) -> list[str]:
    """Where the point as typed is exactly on a pole or an edge of a domain (``tan`` at
    ``x=pi/2``, whose float is finite), the reasons, and each value that is undefined there
    set to None in ``found`` (the outputs first, then ``entries``)."""
    reasons = violated(domain_conditions(expression), symbols, point, exact)
    if reasons:
        found[:outputs] = [None] * outputs
    if not violated(domain_conditions(expression, *entries), symbols, point, exact):
        return reasons
    for k, entry in enumerate(entries):
        own = violated(domain_conditions(entry), symbols, point, exact)
        if own:
            found[outputs + k] = None
            reasons = reasons or own
    return reasons


def _why_undefined(expression, entries, symbols, point, exact, found) -> list[str]:
    # name the expression's own condition before an entry's stronger one
    huge = huge_numbers([expression, *entries])
    if huge:
        return huge
    rounded = rounded_periods([expression, *entries])
    if rounded:
        return [
            f"{number_name(n)} is not exactly a double, and a sine or cosine of it depends on "
            "every digit: its value cannot be computed in floating point"
            for n in rounded
        ]
    reasons = violated(domain_conditions(expression), symbols, point, exact) or violated(
        domain_conditions(expression, *entries), symbols, point, exact
    )
    if reasons:
        return reasons
    too_large = precise.values(
        [e for e, v in zip([expression, *entries], found) if v is None],
        dict(zip(symbols, point)),
    )
    if too_large and all(v is not None for v in too_large):
        return ["a value is a real number too large for a floating-point number here"]
    return ["the value is not a finite real number here (a kink, a pole or a jump)"]


def huge_numbers(exprs) -> list[str]:
    """Notes on the numbers in ``exprs`` that no double holds: values using them are not
    computed."""
    return [
        f"{number_name(n)} is beyond the range of a double (about 1.8e308): a value that uses "
        "it cannot be computed in floating point"
        for n in beyond_doubles(exprs)
    ]


_PERIODIC = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


def rounded_periods(exprs) -> list[sp.Integer]:
    """Whole numbers inside a periodic function that no double holds exactly: sin(10^30*x)
    depends on every digit of 10^30, and a double keeps 16 of them.

    >>> from symgrad import parse
    >>> rounded_periods([parse("sin(10^30*x)")]), rounded_periods([parse("sin(2^60*x) + 10^30*x")])
    ([1000000000000000000000000000000], [])
    """
    found = []
    for e in exprs:
        for f in e.atoms(*_PERIODIC):
            for n in f.args[0].atoms(sp.Integer):
                if abs(n) > 2**53 and _rounds(n):
                    found.append(n)
    return list(dict.fromkeys(found))


def _rounds(n: sp.Integer) -> bool:
    try:
        return int(float(n)) != int(n)
    except OverflowError:
        return False  # past a double altogether: huge_numbers says so
