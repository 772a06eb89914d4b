"""Renderers of explain, plot data and descend results: one function per (result, format).

With the new layout each function moves to its format's module (printing/text.py,
json.py, latex.py, pretty.py, and dot for explain) and into that module's table
``{ResultType: renderer}``. Text and JSON never contain ANSI escapes; nothing here computes.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from symgrad.notation import expr_latex, expr_text, fmt_number, point_text
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


def _names_lines(result: Explanation) -> list[str]:
    return [f"{'where' if k == 0 else '     '} {n.name} = {expr_text(d)}" for k, (n, d) in
            enumerate(result.names)]  # fmt: skip


def explanation_text(result: Explanation) -> list[str]:
    """Plain lines: f, the inner names, each partial's numbered steps, the graph at a point."""
    lines = [f"f = {expr_text(result.expression)}"]
    lines += _names_lines(result)
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


def explanation_json(result: Explanation, source: str | None = None) -> dict[str, Any]:
    """The JSON record: ``names``, ``steps`` (rule, of, wrt, derivative, variable, uses,
    local), ``gradient``; with a point ``at``, ``value``, ``gradient_value``, ``graph``."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["names"] = {n.name: expr_text(d) for n, d in result.names}
    record["steps"] = [
        {
            "rule": s.rule,
            "of": expr_text(s.of),
            "wrt": s.wrt.name,
            "derivative": expr_text(s.derivative),
            "variable": s.variable.name,
            "uses": [i + 1 for i in s.uses],
            "local": s.local,
        }
        for s in result.steps
    ]
    record["gradient"] = [expr_text(p) for p in result.partials]
    if result.graph is not None:
        record["at"] = dict(result.at or {})
        record["value"] = result.value
        record["gradient_value"] = list(result.gradient_value or ())
        record["graph"] = graph_json(result.graph)
    record["notes"] = list(result.notes)
    return record


def graph_json(graph: Graph) -> dict[str, Any]:
    return {
        "output": graph.output,
        "nodes": [
            {
                "id": n.id,
                "op": n.op,
                "expression": expr_text(n.expression),
                "inputs": list(n.inputs),
                "value": n.value,
                "grad": n.grad,
                "leaf": n.leaf,
                "requires_grad": n.requires_grad,
                "local": [
                    {"input": e.input, "derivative": expr_text(e.derivative), "value": e.value}
                    for e in n.local
                ],
            }
            for n in graph.nodes
        ],
    }


def explanation_latex(result: Explanation) -> list[str]:
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


def explanation_pretty(result: Explanation, width: int = 80) -> list[tuple[str, str]]:
    """(role, block) pairs: the expression, the names, numbered steps per partial (the last
    one as the result), and the graph as a table."""
    from symgrad.printing.pretty import labelled

    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    if result.names:
        blocks.append(("note", "\n".join(_names_lines(result))))
    for var in result.wrt:
        numbered = [(k, s) for k, s in enumerate(result.steps) if s.variable == var]
        lines = [step_line(k + 1, s, result.steps) for k, s in numbered[:-1]]
        if lines:
            blocks.append(("partial", f"∂f/∂{var.name}:\n" + "\n".join("  " + x for x in lines)))
        k, last = numbered[-1]
        blocks.append(("result", step_line(k + 1, last, result.steps)))
    if result.graph is not None:
        table = "\n".join(graph_table(result.graph))
        blocks.append(("partial", f"backward pass at {point_text(result.at)}:\n{table}"))
        values = ", ".join(
            f"{v.name}.grad = {fmt_number(x)}"
            for v, x in zip(result.wrt, result.gradient_value or ())
        )
        blocks.append(("result", f"f = {fmt_number(result.value)};  {values}"))
    blocks += [("note", note) for note in result.notes]
    return blocks


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def explanation_dot(result: Explanation) -> list[str]:
    """Graphviz source of the computation graph: values and gradients on the nodes, local
    derivatives on the edges (``symgrad explain ... --at ... --format dot | dot -Tsvg``)."""
    from symgrad.errors import InputError

    if result.graph is None:
        raise InputError("--format dot draws the computation graph: give a point with --at")
    lines = [
        "digraph backward {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="monospace"];',
        '  edge [fontname="monospace", fontsize=10];',
    ]
    for n in result.graph.nodes:
        title = n.id if n.leaf else f"{n.id} = {expr_text(n.expression)}"
        grad = f"grad {fmt_number(n.grad)}" if n.requires_grad else "requires_grad False"
        label = "\\n".join(_dot_text(t) for t in (title, f"value {fmt_number(n.value)}", grad))
        style = []
        if n.leaf:
            style.append('style=filled, fillcolor="#dbeafe"' if n.requires_grad else "")
        if not n.requires_grad:
            style.append("color=gray, fontcolor=gray")
        if n.id == result.graph.output:
            style.append("penwidth=2")
        extra = ", ".join(s for s in style if s)
        extra = f", {extra}" if extra else ""
        lines.append(f'  "{_dot_text(n.id)}" [label="{label}"{extra}];')
    for n in result.graph.nodes:
        for e in n.local:
            label = f"d{n.id}/d{e.input} = {expr_text(e.derivative)} = {fmt_number(e.value)}"
            source, target = _dot_text(e.input), _dot_text(n.id)
            lines.append(f'  "{source}" -> "{target}" [label="{_dot_text(label)}"];')
    lines.append("}")
    return lines


# ---------------------------------------------------------------- plot data


def plot_json(result: PlotData, source: str | None = None) -> dict[str, Any]:
    """The sampled data: ``x``, ``f``, ``gradient`` (df/dx values), where lines break, kinks."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["at"] = dict(result.at)
    f, d = result.curves
    record["partial"] = expr_text(d.expression)
    record["x"] = list(result.x)
    record["f"] = list(f.values)
    record["gradient"] = [list(d.values)]
    record["breaks"] = {"f": list(f.breaks), "gradient": list(d.breaks)}
    record["kinks"] = [{"x": k.x, "value": k.value, "jump": k.jump} for k in result.kinks]
    record["notes"] = list(result.notes)
    return record


def field_json(result: FieldData, source: str | None = None) -> dict[str, Any]:
    """The grid data: ``x``, ``y``, ``f[j][i]`` at ``(x[i], y[j])``, ``gradient`` (two grids)."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["at"] = dict(result.at)
    record["partials"] = [expr_text(p) for p in result.partials]
    record["x"] = list(result.x)
    record["y"] = list(result.y)
    record["f"] = [list(row) for row in result.f]
    record["gradient"] = [[list(row) for row in grid] for grid in result.gradient]
    record["notes"] = list(result.notes)
    return record


# ---------------------------------------------------------------- descend


def _settings(result: Descent) -> str:
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
                f"{s.value:.6g}",
                f"{s.gradient_norm:.3g}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]


def descent_text(result: Descent, stride: int | None = None) -> list[str]:
    """f, the optimizer, every k-th row of the path, the verdict and notes."""
    lines = [
        f"f = {expr_text(result.expression)}",
        f"{_settings(result)} from {point_text(result.start)}",
    ]
    lines += path_rows(result, stride)
    lines.append(verdict_line(result))
    lines += [f"note: {n}" for n in result.notes]
    return lines


def descent_pretty(result: Descent, width: int = 80) -> list[tuple[str, str]]:
    from symgrad.printing.pretty import labelled

    stride = every(result)
    blocks = [
        ("header", labelled("parsed as  f", result.expression, width)),
        ("note", f"{_settings(result)} from {point_text(result.start)}; a row every {stride} steps"
         if stride > 1 else f"{_settings(result)} from {point_text(result.start)}"),
        ("partial", "\n".join(path_rows(result, stride))),
        ("result", verdict_line(result)),
    ]  # fmt: skip
    blocks += [("note", n) for n in result.notes]
    return blocks


def descent_json(result: Descent, source: str | None = None) -> list[dict[str, Any]]:
    """JSON Lines: one ``step`` record per state of the path, then the ``descent`` record."""
    names = [v.name for v in result.wrt]
    records: list[dict[str, Any]] = [
        {
            "record": "step",
            "step": s.step,
            "point": dict(zip(names, s.point)),
            "value": _num(s.value),
            "gradient": [_num(g) for g in s.gradient],
            "gradient_norm": _num(s.gradient_norm),
        }
        for s in result.path
    ]
    summary: dict[str, Any] = {"record": "descent"}
    if source is not None:
        summary["input"] = source
    last = result.final
    summary.update(
        {
            "expression": expr_text(result.expression),
            "wrt": names,
            "gradient": [expr_text(p) for p in result.partials],
            "optimizer": result.optimizer,
            "lr": result.lr,
            "momentum": result.momentum,
            "max_steps": result.steps,
            "tol": result.tol,
            "from": dict(result.start),
            "verdict": result.verdict,
            "steps": last.step,
            "point": {k: _num(v) for k, v in result.point.items()},
            "value": _num(last.value),
            "gradient_norm": _num(last.gradient_norm),
            "notes": list(result.notes),
        }
    )
    records.append(summary)
    return records


def _num(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


def descent_latex(result: Descent) -> list[str]:
    from symgrad.errors import InputError

    raise InputError("descend prints a path: use --format text, pretty or json")


# ---------------------------------------------------------------- pictures


def _picture_what(result) -> str:
    what = result.what
    if isinstance(what, PlotData):
        return f"f and df/d{what.wrt[0].name} of {expr_text(what.expression)}"
    if isinstance(what, FieldData):
        return f"contours and gradient arrows of {expr_text(what.expression)}"
    if isinstance(what, Descent):
        return f"the {what.optimizer} path over {expr_text(what.expression)}"
    return "a picture"


def picture_text(result) -> list[str]:
    return [f"wrote {result.path} ({result.format}): {_picture_what(result)}"]


def picture_json(result, source: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {} if source is None else {"input": source}
    what = result.what
    record["expression"] = expr_text(what.expression)
    record["wrt"] = [v.name for v in what.wrt]
    record["file"] = str(result.path)
    record["picture_format"] = result.format
    return record
