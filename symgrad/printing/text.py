"""Plain ASCII lines: ``f = ...`` then one ``df/dw = ...`` per partial. Every expression in
them re-parses with symgrad; a stream separates records with a blank line."""

from __future__ import annotations

from symgrad.notation import expr_text, fmt_number, point_text, var_text
from symgrad.printing.common import (
    cse_lines,
    entry_text,
    matrix_entries,
    partial_text,
)
from symgrad.printing.learn import (
    graph_table,
    names_lines,
    path_rows,
    picture_what,
    settings_text,
    step_line,
    verdict_line,
)
from symgrad.results import (
    CheckResult,
    ClaimVerdict,
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
    MatrixClaimVerdict,
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
    MatrixJacobian: "matrix_jacobian",
    MatrixGradientAt: "matrix_gradient_at",
    MatrixJacobianAt: "matrix_jacobian_at",
    MatrixCheckResult: "matrix_check",
    MatrixCode: "code",
    Explanation: "explanation",
    PlotData: "plot",
    FieldData: "field",
    Descent: "descent",
    Picture: "picture",
}


def render(result, *, source=None, width=80) -> list[str]:
    if type(result) is PlotData:  # a chart is as wide as the terminal
        return plot(result, width)
    return globals()[TABLE[type(result)]](result)


def gradient(result: Gradient) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = entry_text(result)
    lines += [f"df/d{var_text(v)} = {text(p)}" for v, p in zip(result.wrt, result.partials)]
    return lines + notes(result.notes)


def matrix(result: Hessian | Jacobian) -> list[str]:
    """A Hessian (each distinct entry once) or a Jacobian (every entry)."""
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = entry_text(result)
    lines += [f"{partial_text(wrt, f)} = {text(e)}" for _, _, wrt, f, e in matrix_entries(result)]
    return lines + notes(result.notes)


def derivative(result: Derivative) -> list[str]:
    return [
        f"f = {expr_text(result.expression)}",
        f"{partial_text(result.wrt)} = {expr_text(result.derivative)}",
        *notes(result.notes),
    ]


def notes(found) -> list[str]:
    return [f"note: {note}" for note in found]


def gradient_at(result: GradientAt) -> list[str]:
    lines = gradient(result.gradient)
    lines.append(f"at {point_text(result.at)}:")
    lines.append(f"  f = {fmt_number(result.value)}")
    for v, value in zip(result.gradient.wrt, result.gradient_value):
        lines.append(f"  df/d{var_text(v)} = {fmt_number(value)}")
    return lines + notes(result.notes)


def values_at(result: ValuesAt) -> list[str]:
    inner = result.result
    lines = render(inner)
    lines.append(f"at {point_text(result.at)}:")
    value = result.value
    if isinstance(value, tuple):
        lines += [f"  f{i} = {fmt_number(v)}" for i, v in enumerate(value)]
    else:
        lines.append(f"  f = {fmt_number(value)}")
    if isinstance(inner, Derivative):
        lines.append(f"  {partial_text(inner.wrt)} = {fmt_number(result.values)}")
    else:
        for i, j, wrt, f, _ in matrix_entries(inner):
            lines.append(f"  {partial_text(wrt, f)} = {fmt_number(result.values[i][j])}")
    return lines + notes(result.notes)


def claim_lines(claim: ClaimVerdict) -> list[str]:
    """A claim's verdict in words: the first line says it, the next ones show why."""
    head = f"claim df/d{var_text(claim.variable)} = {expr_text(claim.claim)}"
    if claim.status == "pass":
        how = (
            "proved (it simplifies to the derivative)"
            if claim.proof == "symbolic"
            else f"agrees at {claim.points:,} points (not proved)"
        )
        return [f"{head}: right, {how}"]
    if claim.status == "unverifiable":
        return [f"{head}: cannot be checked here"]
    lines = [f"{head}: WRONG" + (f", {claim.hint}" if claim.hint else "")]
    if claim.counterexample is not None:
        witness = (
            ""
            if claim.finite_difference is None
            else f" (finite difference {fmt_number(claim.finite_difference)})"
        )
        lines.append(
            f"  at {point_text(claim.counterexample)}: claim {fmt_number(claim.claimed_value)}, "
            f"derivative {fmt_number(claim.true_value)}{witness}, "
            f"difference {fmt_number(claim.difference)}"
        )
    lines.append(f"  the derivative is {expr_text(claim.derivative)}")
    return lines


def check_summary(result: CheckResult) -> str:
    where = f"at {point_text(result.at)}" if result.at else f"at {result.points:,} points"
    if result.max_abs_error is None:
        return f"gradient vs central differences: {result.gradient_status}"
    return (
        f"gradient vs central differences {where}: {result.gradient_status}; largest error "
        f"{result.max_abs_error:.3g} absolute, {result.max_rel_error:.3g} relative "
        f"(rtol {result.rtol:g}, atol {result.atol:g})"
        + ("" if result.at else f", worst at {point_text(result.worst_point)}")
    )


def check(result: CheckResult) -> list[str]:
    lines = gradient(result.gradient)
    lines.append(f"check: {result.status}")
    for claim in result.claims:
        lines += claim_lines(claim)
    lines.append(check_summary(result))
    return lines + notes(result.notes)


def code(result: Code) -> list[str]:
    return result.source.rstrip("\n").split("\n")


# ---------------------------------------------------------------- vectors and matrices


def _shaped_head(result) -> list[str]:
    """``shapes: X=m,n; w=n`` (what --shape takes) and ``f = ...``; then shared names."""
    from symgrad.parsing.matrix_text import text
    from symgrad.printing.shaped import shapes_spec

    spec = shapes_spec(result.shapes)
    lines = [f"shapes: {spec}"] if spec else []
    lines.append(f"f = {text(result.expression)}")
    lines += [f"{name} = {text(d)}" for name, d in result.cse or ()]
    return lines


def matrix_gradient(result: MatrixGradient) -> list[str]:
    from symgrad.parsing.matrix_text import text

    lines = _shaped_head(result)
    lines += [f"df/d{v} = {text(p)}" for v, p in zip(result.wrt, result.partials)]
    return lines + notes(result.notes)


def matrix_jacobian(result: MatrixJacobian) -> list[str]:
    return matrix_gradient(_as_gradient(result))


def _as_gradient(result: MatrixJacobian) -> MatrixGradient:
    """A Jacobian's lines are a gradient's: one ``df/dx = ...`` per variable."""
    return MatrixGradient(
        result.expression, result.shapes, result.wrt, result.blocks, result.cse, result.notes
    )


def _values(wrt, values, at, dims) -> list[str]:
    from symgrad.printing.shaped import dims_note, nested_text, point_text

    lines = [f"at {point_text(at)}{dims_note(dims)}:"]
    lines += [f"  df/d{v} = {nested_text(value)}" for v, value in zip(wrt, values)]
    return lines


def _at_lines(grad: MatrixGradient, result) -> list[str]:
    from symgrad.printing.shaped import nested_text

    lines = matrix_gradient(grad.__class__(*_fields(grad), notes=()))
    values = _values(grad.wrt, _point_values(result), result.at, result.dims)
    values.insert(1, f"  f = {nested_text(result.value)}")
    return lines + values + notes((*grad.notes, *result.notes))


def _fields(grad: MatrixGradient) -> tuple:
    return (grad.expression, grad.shapes, grad.wrt, grad.partials, grad.cse)


def _point_values(result) -> tuple:
    return getattr(result, "gradient_value", None) or result.jacobian_value


def matrix_gradient_at(result: MatrixGradientAt) -> list[str]:
    return _at_lines(result.gradient, result)


def matrix_jacobian_at(result: MatrixJacobianAt) -> list[str]:
    return _at_lines(_as_gradient(result.jacobian), result)


def matrix_claim_lines(claim: MatrixClaimVerdict, shape) -> list[str]:
    """A matrix claim's verdict: the first line says it, the next ones show why."""
    from symgrad.parsing.matrix_text import text
    from symgrad.printing.shaped import entry_label, point_text, small

    head = f"claim df/d{claim.variable} = {text(claim.claim)}"
    if claim.status == "pass":
        how = (
            "proved (the same matrix formula)"
            if claim.proof == "symbolic"
            else f"agrees with the derivative in every entry at {claim.points:,} points "
            "(not proved)"
        )
        return [f"{head}: right, {how}"]
    if claim.status == "unverifiable":
        return [f"{head}: cannot be checked here"]
    lines = [f"{head}: WRONG" + (f", {claim.hint}" if claim.hint else "")]
    if claim.entry is not None:
        witness = (
            ""
            if claim.finite_difference is None
            else f" (finite difference {fmt_number(claim.finite_difference)})"
        )
        lines.append(
            f"  entry {entry_label(claim.entry, shape)}: claim {fmt_number(claim.claimed_value)}, "
            f"derivative {fmt_number(claim.true_value)}{witness}, "
            f"difference {fmt_number(claim.difference)}"
        )
    if claim.counterexample is not None:
        where = point_text(claim.counterexample) if small(claim.counterexample) else None
        lines.append(f"  at {where}" if where else "  at a random point (--format json shows it)")
    lines.append(f"  the derivative is {text(claim.derivative)}")
    return lines


def matrix_check_summary(result: MatrixCheckResult) -> str:
    from symgrad.printing.shaped import dims_note, entry_label

    where = "at the point" if result.at else f"at {result.points:,} points"
    where += dims_note(result.dims)
    if result.max_abs_error is None:
        return f"gradient vs central differences: {result.gradient_status}"
    worst = ""
    if result.worst is not None:
        var, entry = result.worst
        shape = result.gradient.shapes[var]
        worst = f", worst in entry {entry_label(entry, shape)} of df/d{var}"
    return (
        f"gradient vs central differences {where}, {result.entries:,} entries: "
        f"{result.gradient_status}; largest error {result.max_abs_error:.3g} absolute, "
        f"{result.max_rel_error:.3g} relative (rtol {result.rtol:g}, atol {result.atol:g})" + worst
    )


def matrix_check(result: MatrixCheckResult) -> list[str]:
    grad = result.gradient
    lines = [line for line in matrix_gradient(grad) if not line.startswith("note: ")]
    lines.append(f"check: {result.status}")
    for claim in result.claims:
        lines += matrix_claim_lines(claim, grad.shapes[claim.variable])
    lines.append(matrix_check_summary(result))
    return lines + notes((*grad.notes, *result.notes))


# ---------------------------------------------------------------- explain, plot, descend


def explanation(result: Explanation) -> list[str]:
    """Plain lines: f, the inner names, each partial's numbered steps, the graph at a point."""
    lines = [f"f = {expr_text(result.expression)}"]
    lines += names_lines(result)
    for var in result.wrt:
        lines.append(f"df/d{var.name}:")
        steps = result.steps
        for k, step in enumerate(steps):
            if step.variable == var:
                lines.append("  " + step_line(k + 1, step, steps))
    if result.graph is not None:
        lines.append(f"backward pass at {point_text(result.at)}:")
        lines += ["  " + row for row in graph_table(result.graph)]
        lines.append(f"  f = {fmt_number(result.value)}")
        for v, value in zip(result.wrt, result.gradient_value or ()):
            lines.append(f"  {v.name}.grad = df/d{v.name} = {fmt_number(value)}")
    lines += [f"note: {note}" for note in result.notes]
    return lines


def plot(result: PlotData, width: int = 80) -> list[str]:
    from symgrad.printing.plot import terminal_chart

    return terminal_chart(result, width=width).split("\n")


def field(result: FieldData) -> list[str]:
    from symgrad.errors import InputError

    raise InputError(
        "a field of two variables is a picture: write it with -o FILE.png (or .svg, .pdf), "
        "or get its numbers with --format json"
    )


def descent(result: Descent, stride: int | None = None) -> list[str]:
    """f, the optimizer, every k-th row of the path, the verdict and notes."""
    lines = [
        f"f = {expr_text(result.expression)}",
        f"{settings_text(result)} from {point_text(result.start)}",
    ]
    lines += path_rows(result, stride)
    lines.append(verdict_line(result))
    lines += [f"note: {n}" for n in result.notes]
    return lines


def picture(result: Picture) -> list[str]:
    return [f"wrote {result.path} ({result.format}): {picture_what(result)}"]
