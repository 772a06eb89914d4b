"""Graphviz source: the computation graph of ``explain --at`` with values and gradients on the
nodes and local derivatives on the edges (``symgrad explain ... --format dot | dot -Tsvg``)."""

from __future__ import annotations

from symgrad.errors import InputError
from symgrad.notation import expr_text, fmt_number
from symgrad.results import Explanation

# result type -> its renderer, defined below
TABLE = {
    Explanation: "explanation",
}


def render(result, *, source=None, width=80) -> list[str]:
    if type(result) not in TABLE:
        raise InputError("--format dot draws the graph of symgrad explain --at")
    return globals()[TABLE[type(result)]](result)


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def explanation(result: Explanation) -> list[str]:
    """Graphviz source of the computation graph: values and gradients on the nodes, local
    derivatives on the edges (``symgrad explain ... --at ... --format dot | dot -Tsvg``)."""
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
