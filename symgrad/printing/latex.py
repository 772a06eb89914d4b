"""LaTeX lines, one display-math equation each, fit to paste into notes or a paper."""

from __future__ import annotations

from symgrad.errors import InputError
from symgrad.functions import symbol
from symgrad.notation import expr_latex, fmt_number
from symgrad.printing.common import as_matrix, matrix_entries, partial_latex, softmax_outputs
from symgrad.results import (
    CheckResult,
    Code,
    Derivative,
    Gradient,
    GradientAt,
    Hessian,
    Jacobian,
    ValuesAt,
)

# result type -> its renderer, defined below
TABLE = {
    Gradient: "gradient",
    Hessian: "matrix",
    Jacobian: "matrix",
    Derivative: "derivative",
    GradientAt: "gradient_at",
    ValuesAt: "values_at",
    CheckResult: "check",
    Code: "code",
}


def render(result, *, source=None, width=80) -> list[str]:
    return globals()[TABLE[type(result)]](result)


def _cse(result) -> list[str]:
    return [f"{expr_latex(name)} = {expr_latex(form)}" for name, form in result.cse or ()]


def _notes(result) -> list[str]:
    """Notes as LaTeX comments: the lines stay equations, the words stay visible."""
    return [f"% note: {note}" for note in result.notes]


def gradient(result: Gradient) -> list[str]:
    lines = [f"f = {expr_latex(result.expression)}", *_cse(result)]
    for v, p in zip(result.wrt, result.partials):
        lines.append(rf"{partial_latex((v,))} = {expr_latex(p)}")
    entries = r" \\ ".join(expr_latex(p) for p in result.partials)
    lines.append(rf"\nabla f = \begin{{pmatrix}} {entries} \end{{pmatrix}}")
    return lines + _notes(result)


def matrix(result: Hessian | Jacobian) -> list[str]:
    """A Hessian (distinct entries, then the matrix) or a Jacobian; the Jacobian of softmax
    reads as a paper writes it: s = softmax(a, b), entries in s_0, s_1."""
    f = "f"
    entries = matrix_entries(result)
    full = as_matrix(result.matrix)
    lines = [f"f = {expr_latex(result.expression)}", *_cse(result)]
    if isinstance(result, Jacobian):
        _, outputs = softmax_outputs(result)
        if outputs:
            f = "s"
            lines[0] = f"s = {expr_latex(result.expression)}"
            full = full.xreplace(outputs)
            entries = [(i, j, wrt, name, full[i, j]) for i, j, wrt, name, _ in entries]
    for i, _, wrt, name, e in entries:
        if isinstance(result, Jacobian):
            name = f + (f"_{{{i}}}" if len(result.matrix) > 1 else "")
        lines.append(f"{partial_latex(wrt, name)} = {expr_latex(e)}")
    label = r"\nabla^{2} f" if isinstance(result, Hessian) else f"J_{{{f}}}"
    lines.append(f"{label} = {expr_latex(full)}")
    return lines + _notes(result)


def derivative(result: Derivative) -> list[str]:
    return [
        f"f = {expr_latex(result.expression)}",
        f"{partial_latex(result.wrt)} = {expr_latex(result.derivative)}",
        *_notes(result),
    ]


def _point(at) -> str:
    return ", ".join(f"{expr_latex(symbol(k))} = {fmt_number(v)}" for k, v in at.items())


def gradient_at(result: GradientAt) -> list[str]:
    lines = gradient(result.gradient)
    values = r" \\ ".join(fmt_number(v) for v in result.gradient_value)
    lines.append(
        rf"f = {fmt_number(result.value)}, \quad \nabla f = \begin{{pmatrix}} {values} "
        rf"\end{{pmatrix}} \quad \text{{at }} {_point(result.at)}"
    )
    return lines


def values_at(result: ValuesAt) -> list[str]:
    inner = result.result
    lines = render(inner)
    if isinstance(inner, Derivative):
        shown = fmt_number(result.values)
        label = partial_latex(inner.wrt)
    else:
        rows = r" \\ ".join(" & ".join(fmt_number(v) for v in row) for row in result.values)
        shown = rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"
        label = r"\nabla^{2} f" if isinstance(inner, Hessian) else "J_{f}"
    lines.append(rf"{label} = {shown} \quad \text{{at }} {_point(result.at)}")
    return lines


def check(result: CheckResult) -> list[str]:
    lines = gradient(result.gradient)
    for claim in result.claims:
        relation = "=" if claim.status == "pass" else r"\neq" if claim.status == "mismatch" else "?"
        lines.append(f"{partial_latex((claim.variable,))} {relation} {expr_latex(claim.claim)}")
    return lines


def code(result: Code) -> list[str]:
    raise InputError("codegen writes Python: use --format text or json")
