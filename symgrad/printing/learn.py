"""What the renderers of explain, plot and descend share: the line of one derivation step,
the table of the backward graph, the table of a descent path and its verdict, and what a
picture shows. Each format's module (text.py, json.py, latex.py, pretty.py, dot.py) renders
these results with its own function in its TABLE; nothing here computes.
"""

from __future__ import annotations

import math

import sympy as sp

from symgrad.notation import expr_text, fmt_number, point_text
from symgrad.results import Descent, Explanation, FieldData, Graph, PlotData, Step

RULE_TEXT = {
    "constant": "does not depend on {v}",
    "variable": "d{v}/d{v} = 1",
    "sum": "sum rule, term by term; constant factors stay",
    "constant factor": "a constant factor stays",
    "product": "product rule (f*g)' = f'*g + f*g'",
    "quotient": "quotient rule (f/g)' = (f'*g - f*g')/g^2",
    "power": "power rule (u^n)' = n*u^(n-1)",
    "exponential": "(a^u)' = a^u*log(a)",
    "general power": "(f^g)' = f^g*(g'*log(f) + g*f'/f)",
    "known derivative": "from the table of functions",
    "chain": "chain rule",
    "substitute": "names replaced by their definitions, tidied as grad prints it",
    "tidy": "tidied as grad prints it",
}


def _d(wrt: sp.Symbol, of: sp.Expr) -> str:
    text = expr_text(of)
    if of.is_Add or of.is_Mul and len(text) > 1 and not of.is_Function:
        text = f"({text})"
    return f"d/d{wrt.name} {text}"


def _chain_formula(step: Step, steps: tuple[Step, ...]) -> str:
    """d/dw F(u) = dF/du * du/dw, for each input u the chain rule joins."""
    parts = []
    for i in step.uses:
        s = steps[i]
        if s.local and s.wrt != step.wrt:
            parts.append(f"dF/d{s.wrt.name}*d{s.wrt.name}/d{step.wrt.name}")
    return " + ".join(parts)


def step_line(k: int, step: Step, steps: tuple[Step, ...]) -> str:
    """``3. chain rule (dF/du*du/dw): d/dw sigmoid(u) = x*...  [1, 2]``."""
    how = RULE_TEXT.get(step.rule, step.rule).format(v=step.wrt.name)
    if step.rule == "chain":
        formula = _chain_formula(step, steps)
        how = f"chain rule, {formula}" if formula else how
    if step.rule in ("substitute", "tidy"):
        lhs = f"df/d{step.wrt.name}"
    else:
        lhs = _d(step.wrt, step.of)
    uses = f"  [from {', '.join(str(i + 1) for i in step.uses)}]" if step.uses else ""
    return f"{k}. {lhs} = {expr_text(step.derivative)}    ({how}){uses}"


def names_lines(result: Explanation) -> list[str]:
    return [f"{'where' if k == 0 else '     '} {n.name} = {expr_text(d)}" for k, (n, d) in
            enumerate(result.names)]  # fmt: skip


def graph_table(graph: Graph) -> list[str]:
    """One row per node: id, op, what it computes, value, grad, requires_grad, local
    derivatives by input."""
    header = ("node", "op", "computes", "value", "grad", "requires_grad", "local derivatives")
    rows = [header]
    for n in graph.nodes:
        local = ", ".join(
            f"d{n.id}/d{e.input} = {expr_text(e.derivative)} = {fmt_number(e.value)}"
            for e in n.local
        )
        rows.append(
            (
                n.id,
                n.op,
                expr_text(n.expression),
                fmt_number(n.value),
                "-" if n.grad is None and not n.requires_grad else fmt_number(n.grad),
                "yes" if n.requires_grad else "no",
                local,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1]
        for row in rows
    ]


# ---------------------------------------------------------------- descend


def settings_text(result: Descent) -> str:
    extra = f", momentum {result.momentum:g}" if result.momentum is not None else ""
    return f"{result.optimizer} (lr {result.lr:g}{extra})"


def every(result: Descent, rows: int = 20) -> int:
    """The k of "every k-th step" that shows about ``rows`` rows of the path."""
    return max(1, -(-len(result.path) // rows))


def verdict_line(result: Descent) -> str:
    last = result.final
    at = point_text(result.point)
    if result.verdict == "converged":
        head = f"converged after {last.step:,} steps"
        tail = f"|grad f| = {last.gradient_norm:.3g} < {result.tol:g}"
    elif result.verdict == "diverged":
        head = f"diverged at step {last.step:,}"
        tail = f"|grad f| = {fmt_number(last.gradient_norm)}"
    elif result.verdict == "left domain":
        return f"left the domain of f at step {last.step:,}: {at}, f = {fmt_number(last.value)}"
    else:
        head = f"step limit: {result.steps:,} steps"
        tail = f"|grad f| = {last.gradient_norm:.3g}, not below {result.tol:g}"
    return f"{head}: {at}, f = {fmt_number(last.value)}, {tail}"


def path_rows(result: Descent, stride: int | None = None) -> list[str]:
    stride = stride or every(result)
    names = [v.name for v in result.wrt]
    header = ["step", *names, "f", "|grad f|"]
    rows = [header]
    shown = [s for s in result.path if s.step % stride == 0]
    if shown[-1] is not result.final:
        shown.append(result.final)
    for s in shown:
        rows.append(
            [
                str(s.step),
                *(f"{x:.6g}" for x in s.point),
                _short(s.value, 6),
                _short(s.gradient_norm, 3),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]


# ---------------------------------------------------------------- pictures


def picture_what(result) -> str:
    what = result.what
    if isinstance(what, PlotData):
        return f"f and df/d{what.wrt[0].name} of {expr_text(what.expression)}"
    if isinstance(what, FieldData):
        return f"contours and gradient arrows of {expr_text(what.expression)}"
    if isinstance(what, Descent):
        return f"the {what.optimizer} path over {expr_text(what.expression)}"
    return "a picture"


def _short(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits; NaN (outside f's domain) is undefined."""
    return f"{value:.{digits}g}" if math.isfinite(value) else fmt_number(value)
