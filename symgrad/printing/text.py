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
from symgrad.results import (
    CheckResult,
    ClaimVerdict,
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


def gradient(result: Gradient) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = entry_text(result)
    lines += [f"df/d{var_text(v)} = {text(p)}" for v, p in zip(result.wrt, result.partials)]
    return lines


def matrix(result: Hessian | Jacobian) -> list[str]:
    """A Hessian (each distinct entry once) or a Jacobian (every entry)."""
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = entry_text(result)
    lines += [f"{partial_text(wrt, f)} = {text(e)}" for _, _, wrt, f, e in matrix_entries(result)]
    return lines


def derivative(result: Derivative) -> list[str]:
    return [
        f"f = {expr_text(result.expression)}",
        f"{partial_text(result.wrt)} = {expr_text(result.derivative)}",
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
