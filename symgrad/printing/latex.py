"""LaTeX lines, one display-math equation each, fit to paste into notes or a paper."""

from __future__ import annotations

from symgrad.errors import InputError
from symgrad.functions import symbol
from symgrad.notation import expr_latex, fmt_number
from symgrad.printing import text as plain
from symgrad.printing.common import as_matrix, matrix_entries, partial_latex, softmax_outputs
from symgrad.results import (
    CheckResult,
    Code,
    Derivative,
    Descent,
    Explanation,
    FieldData,
    Gradient,
    GradientAt,
    Hessian,
    Jacobian,
    MatrixCheckResult,
    MatrixCode,
    MatrixGradient,
    MatrixGradientAt,
    MatrixJacobian,
    MatrixJacobianAt,
    Picture,
    PlotData,
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
    MatrixGradient: "matrix_gradient",
    MatrixJacobian: "matrix_gradient",
    MatrixGradientAt: "matrix_gradient_at",
    MatrixJacobianAt: "matrix_gradient_at",
    MatrixCheckResult: "matrix_check",
    MatrixCode: "code",
    Explanation: "explanation",
    PlotData: "unsupported",
    FieldData: "unsupported",
    Descent: "unsupported",
    Picture: "unsupported",
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
    """The gradient, each claim as an equation (or \\neq), and the verdict in words as LaTeX
    comments (``% check: mismatch``), so that the output still pastes into a document."""
    lines = gradient(result.gradient)
    lines.append(f"% check: {result.status}")
    for claim in result.claims:
        partial = partial_latex((claim.variable,))
        lines.append(f"{partial} {_relation(claim.status)} {expr_latex(claim.claim)}")
        lines += _comments(plain.claim_lines(claim))
    lines += _comments([plain.check_summary(result)])
    return lines + _notes(result)


def _relation(status: str) -> str:
    return "=" if status == "pass" else r"\neq" if status == "mismatch" else "?"


def _comments(lines: list[str]) -> list[str]:
    return [f"% {line.strip()}" for line in lines]


def code(result: Code) -> list[str]:
    raise InputError("codegen writes Python: use --format text or json")


# ---------------------------------------------------------------- vectors and matrices


def _partial_shaped(result, var: str) -> str:
    from symgrad.parsing.matrix_text import name_latex

    bold = tuple(result.shapes.get(var, (1, 1))) != (1, 1)
    return rf"\frac{{\partial f}}{{\partial {name_latex(var, bold)}}}"


def matrix_gradient(result: MatrixGradient | MatrixJacobian) -> list[str]:
    """``f = ...``, shared names, then one partial (or Jacobian block) per variable: vectors
    and matrices bold, ``^\top`` for a transpose, ``\\odot`` elementwise."""
    from symgrad.parsing.matrix_text import latex, name_latex

    lines = [f"f = {latex(result.expression)}"]
    lines += [f"{name_latex(name, False)} = {latex(d)}" for name, d in result.cse or ()]
    partials = result.partials if isinstance(result, MatrixGradient) else result.blocks
    for var, p in zip(result.wrt, partials):
        lines.append(f"{_partial_shaped(result, var)} = {latex(p)}")
    return lines


def _nested_latex(value) -> str:
    if not isinstance(value, list):
        return fmt_number(value)
    rows = value if value and isinstance(value[0], list) else [[v] for v in value]
    body = r" \\ ".join(" & ".join(fmt_number(v) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def matrix_gradient_at(result: MatrixGradientAt | MatrixJacobianAt) -> list[str]:
    inner = result.gradient if isinstance(result, MatrixGradientAt) else result.jacobian
    values = (
        result.gradient_value if isinstance(result, MatrixGradientAt) else result.jacobian_value
    )
    lines = matrix_gradient(inner)
    lines.append(f"f = {_nested_latex(result.value)}")
    for var, value in zip(inner.wrt, values):
        lines.append(f"{_partial_shaped(inner, var)} = {_nested_latex(value)}")
    return lines


def matrix_check(result: MatrixCheckResult) -> list[str]:
    from symgrad.parsing.matrix_text import latex

    lines = matrix_gradient(result.gradient)
    lines.append(f"% check: {result.status}")
    for claim in result.claims:
        partial = _partial_shaped(result.gradient, claim.variable)
        lines.append(f"{partial} {_relation(claim.status)} {latex(claim.claim)}")
        shape = result.gradient.shapes[claim.variable]
        lines += _comments(plain.matrix_claim_lines(claim, shape))
    lines += _comments([plain.matrix_check_summary(result)])
    return lines + _notes(result)


# ---------------------------------------------------------------- explain, plot, descend


def explanation(result: Explanation) -> list[str]:
    """One ``aligned`` derivation per partial (inner names first)."""
    out = []
    names = [rf"{expr_latex(n)} &= {expr_latex(d)}" for n, d in result.names]
    for var in result.wrt:
        rows = list(names)
        for step in result.steps:
            if step.variable != var:
                continue
            if step.rule in ("substitute", "tidy"):
                lhs = rf"\frac{{\partial f}}{{\partial {expr_latex(var)}}}"
            else:
                lhs = rf"\frac{{d}}{{d {expr_latex(step.wrt)}}} \left({expr_latex(step.of)}\right)"
            rows.append(rf"{lhs} &= {expr_latex(step.derivative)} && \text{{{step.rule}}}")
        out.append("\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}")
    return out


def unsupported(result) -> list[str]:
    from symgrad.errors import InputError

    raise InputError("this result has no LaTeX form: use --format text, pretty or json")
