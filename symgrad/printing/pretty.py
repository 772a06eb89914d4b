"""2-D Unicode for a terminal: fractions stacked, powers raised, blocks styled by their role.

A renderer returns ``(role, block)`` pairs; ``terminal`` styles them (``header`` dim,
``result`` bold, ``note`` dim italic) for a console of the given width. Whatever does not fit
the width in 2-D falls back to one line of text, which the terminal wraps.
"""

from __future__ import annotations

import os
from functools import lru_cache

import sympy as sp

from symgrad.functions import entry_of, written
from symgrad.notation import (
    LINEAR_TEXT_MIN_NODES,
    PersonOrder,
    expr_text,
    fmt_number,
    larger_than,
    point_text,
    vector_call,
)
from symgrad.printing import text as plain
from symgrad.printing.common import (
    SUBSCRIPT_DIGITS,
    as_matrix,
    cse_lines,
    matrix_entries,
    partial_pretty,
    softmax_outputs,
)
from symgrad.printing.learn import (
    every,
    graph_table,
    names_lines,
    path_rows,
    settings_text,
    step_line,
    verdict_line,
)
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
    PlotData: "plot",
    FieldData: "field",
    Descent: "descent",
    Picture: "picture",
}

Blocks = list[tuple[str, str]]


def render(result, *, source=None, width=80) -> Blocks:
    return globals()[TABLE[type(result)]](result, width)


# ---------------------------------------------------------------- expressions


@lru_cache(maxsize=8)
def _printer(width: int):
    """sympy's 2-D printer with the text output's factor order and the table's names."""
    from sympy.printing.pretty.pretty import PrettyPrinter
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    class Pretty(PersonOrder, PrettyPrinter):
        def _print(self, expr, *args, **kwargs):
            entry = entry_of(expr) if isinstance(expr, sp.Basic) else None
            if entry is not None and (entry.latex_out or entry.written) and not entry.text:
                # sympy draws Heaviside as θ(x), Max as Max(x, x**2), leaky_relu with a
                # subscript: a person reads the name and arguments symgrad prints
                name, places = written(expr)
                return self.call(name, [expr.args[k] for k in places])
            if entry is not None and not entry.text and "_" in entry.name:
                return self.call(entry.name, expr.args)
            return super()._print(expr, *args, **kwargs)

        def call(self, name: str, operands) -> prettyForm:
            """``name(operands)``, the name as written (sympy would set ``_relu`` as a
            subscript)."""
            func = prettyForm(name)
            arguments = prettyForm(*self._print_seq(operands, delimiter=", ").parens())
            form = prettyForm(*stringPict.next(func, arguments), binding=prettyForm.FUNC)
            form.prettyFunc, form.prettyArgs = func, arguments
            return form

        def _print_ImmutableDenseMatrix(self, expr):
            call = vector_call(expr)
            if call is not None:
                return self.call(*call)
            return self._print_MatrixBase(expr)

    return Pretty({"use_unicode": True, "num_columns": width, "wrap_line": True})


def expr_pretty(expr: sp.Expr, width: int = 80) -> str:
    """2-D unicode art: fractions stacked, powers raised."""
    return _printer(width).doprint(expr)


def labelled(label: str, expr: sp.Expr, width: int = 80) -> str:
    """``label = expr`` in 2-D, the label on the expression's baseline; one line of text when
    the 2-D form is wider than ``width``."""
    if larger_than(expr, LINEAR_TEXT_MIN_NODES):
        return f"{label} = {expr_text(expr)}"  # 2-D art of a page-long expression helps nobody
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    form = _printer(width)._print(expr)
    if len(label) + 3 + form.width() > width:
        return f"{label} = {expr_text(expr)}"
    joined = prettyForm(*stringPict.next(prettyForm(label + " = "), form))
    return joined.render(wrap_line=False, use_unicode=True)


def matrix_block(label: str, matrix: sp.ImmutableMatrix, width: int) -> tuple[str, str]:
    """A matrix in 2-D, or a note when it is too wide (its entries are listed above)."""
    if not larger_than(matrix, LINEAR_TEXT_MIN_NODES):
        form = _printer(width)._print(matrix)
        if len(label) + 3 + form.width() <= width:
            return ("result", labelled(label, matrix, width))
    return ("note", f"{label}: too wide for {width} columns; its entries are above")


def _names(wrt) -> str:
    return ", ".join(expr_pretty(v) for v in wrt)


def _partial(wrt, f: str = "f") -> str:
    return partial_pretty(wrt, f, name=expr_pretty)


# ---------------------------------------------------------------- results


def gradient(result: Gradient, width: int) -> Blocks:
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    for v, p in zip(result.wrt, result.partials):
        blocks.append(("partial", labelled(_partial((v,)), p, width)))
    if len(result.partials) > 1:
        vector = sp.ImmutableMatrix(list(result.partials))
        blocks.append(matrix_block(f"∇f({_names(result.wrt)})", vector, width))
    if result.cse:
        blocks.append(("note", where(result.cse, width)))
    return blocks + [("note", note) for note in result.notes]


PRETTY_WHERE_MAX = 20
"""Up to this many shared names are written in 2-D, as the entries that use them (t₀); more
(a network's thousands) as one line of text each, which is faster to print and to read."""


def where(definitions, width: int = 80) -> str:
    """``where`` and one definition per shared name (``t₀ = b + w⋅x``), in order."""
    if len(definitions) > PRETTY_WHERE_MAX:
        lines = cse_lines(definitions)
        return "\n".join(("where " if k == 0 else "      ") + line for k, line in enumerate(lines))
    shown = [labelled(expr_pretty(name), form, width - 2) for name, form in definitions]
    return "\n".join(["where", *("  " + line for block in shown for line in block.split("\n"))])


def matrix(result: Hessian | Jacobian, width: int) -> Blocks:
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    full = as_matrix(result.matrix)
    entries = matrix_entries(result)
    if isinstance(result, Jacobian):
        inputs, outputs = softmax_outputs(result)
        if outputs:
            full = full.xreplace(outputs)
            entries = [(i, j, wrt, f, full[i, j]) for i, j, wrt, f, _ in entries]
            args = ", ".join(expr_text(x) for x in inputs)
            blocks.append(("note", f"where sₖ = softmax({args})[k], output k of f"))
    for _, _, wrt, f, e in entries:
        blocks.append(("partial", labelled(_partial(wrt, f.translate(SUBSCRIPT_DIGITS)), e, width)))
    if isinstance(result, Hessian):
        if len(result.wrt) > 1:
            blocks.append(matrix_block(f"∇²f({_names(result.wrt)})", full, width))
    else:
        blocks.append(matrix_block(f"J({_names(result.wrt)})", full, width))
    if result.cse:
        blocks.append(("note", where(result.cse, width)))
    return blocks + [("note", note) for note in result.notes]


def derivative(result: Derivative, width: int) -> Blocks:
    return [
        ("header", labelled("parsed as  f", result.expression, width)),
        ("result", labelled(_partial(result.wrt), result.derivative, width)),
        *[("note", note) for note in result.notes],
    ]


def gradient_at(result: GradientAt, width: int) -> Blocks:
    blocks = gradient(result.gradient, width)
    lines = [f"at {point_text(result.at)}:", f"  f = {fmt_number(result.value)}"]
    for v, value in zip(result.gradient.wrt, result.gradient_value):
        lines.append(f"  {_partial((v,))} = {fmt_number(value)}")
    blocks.append(("result", "\n".join(lines)))
    return blocks + [("note", note) for note in result.notes]


def values_at(result: ValuesAt, width: int) -> Blocks:
    inner = result.result
    blocks = render(inner, width=width)
    lines = [f"at {point_text(result.at)}:"]
    if isinstance(result.value, tuple):
        for i, v in enumerate(result.value):
            lines.append(f"  f{str(i).translate(SUBSCRIPT_DIGITS)} = {fmt_number(v)}")
    else:
        lines.append(f"  f = {fmt_number(result.value)}")
    if isinstance(inner, Derivative):
        lines.append(f"  {_partial(inner.wrt)} = {fmt_number(result.values)}")
    else:
        for i, j, wrt, f, _ in matrix_entries(inner):
            label = _partial(wrt, f.translate(SUBSCRIPT_DIGITS))
            lines.append(f"  {label} = {fmt_number(result.values[i][j])}")
    blocks.append(("result", "\n".join(lines)))
    return blocks + [("note", note) for note in result.notes]


def check(result: CheckResult, width: int) -> Blocks:
    blocks = gradient(result.gradient, width)
    verdict = {"pass": "✓ pass", "mismatch": "✗ mismatch", "unverifiable": "? unverifiable"}
    blocks.append(("result", f"check: {verdict[result.status]}"))
    for claim in result.claims:
        blocks.append(("result", "\n".join(plain.claim_lines(claim))))
    blocks.append(("partial", plain.check_summary(result)))
    return blocks + [("note", note) for note in result.notes]


def code(result: Code, width: int) -> Blocks:
    return [("partial", result.source.rstrip("\n"))]


# ---------------------------------------------------------------- vectors and matrices


def _shapes_line(shapes) -> str:
    from symgrad.printing.shaped import shape_label

    shaped = [f"{name}: {shape_label(s)}" for name, s in shapes.items() if tuple(s) != (1, 1)]
    scalars = [name for name, s in shapes.items() if tuple(s) == (1, 1)]
    if scalars:
        shaped.append(f"{', '.join(scalars)}: scalar" + ("s" if len(scalars) > 1 else ""))
    return "   ".join(shaped)


def matrix_gradient(result: MatrixGradient | MatrixJacobian, width: int) -> Blocks:
    """The parsed expression and the shapes, then one partial (or Jacobian block) per line
    with its shape: ``∂f/∂w = 2*Xᵀ*(X*w - y)   [n]``."""
    from symgrad.parsing.matrix_text import unicode_text
    from symgrad.printing.shaped import shape_label

    blocks = [("header", f"parsed as  f = {unicode_text(result.expression)}")]
    blocks.append(("note", _shapes_line(result.shapes)))
    partials = result.partials if isinstance(result, MatrixGradient) else result.blocks
    for var, p in zip(result.wrt, partials):
        blocks.append(("partial", f"∂f/∂{var} = {unicode_text(p)}   [{shape_label(p.shape)}]"))
    if result.cse:
        lines = [f"{name} = {unicode_text(d)}" for name, d in result.cse]
        text = "\n".join(("where " if k == 0 else "      ") + line for k, line in enumerate(lines))
        blocks.append(("note", text))
    return blocks + [("note", note) for note in result.notes]


def _numbers(label: str, value) -> str:
    """``label = value``; a matrix as aligned rows under its label."""
    from symgrad.printing.shaped import nested_text

    if isinstance(value, list) and value and isinstance(value[0], list):
        cells = [[fmt_number(v) for v in row] for row in value]
        wide = max(len(c) for row in cells for c in row)
        rows = ["  ".join(c.rjust(wide) for c in row) for row in cells]
        pad = " " * (len(label) + 3)
        return "\n".join(
            (f"{label} = " if k == 0 else pad) + f"[{row}]" for k, row in enumerate(rows)
        )
    return f"{label} = {nested_text(value)}"


def matrix_gradient_at(result: MatrixGradientAt | MatrixJacobianAt, width: int) -> Blocks:
    from symgrad.printing.shaped import dims_note, point_text, small

    gradient_at = isinstance(result, MatrixGradientAt)
    inner = result.gradient if gradient_at else result.jacobian
    values = result.gradient_value if gradient_at else result.jacobian_value
    blocks = [b for b in matrix_gradient(inner, width) if b[1] not in inner.notes]
    where = point_text(result.at) if small(result.at) else "the point of --at"
    lines = [f"at {where}{dims_note(result.dims)}:", "  " + _numbers("f", result.value)]
    for var, value in zip(inner.wrt, values):
        lines.append("  " + _numbers(f"∂f/∂{var}", value).replace("\n", "\n  "))
    blocks.append(("result", "\n".join(lines)))
    return blocks + [("note", note) for note in (*inner.notes, *result.notes)]


def matrix_check(result: MatrixCheckResult, width: int) -> Blocks:
    grad = result.gradient
    blocks = [b for b in matrix_gradient(grad, width) if b[1] not in grad.notes]
    verdict = {"pass": "✓ pass", "mismatch": "✗ mismatch", "unverifiable": "? unverifiable"}
    blocks.append(("result", f"check: {verdict[result.status]}"))
    for claim in result.claims:
        lines = plain.matrix_claim_lines(claim, grad.shapes[claim.variable])
        blocks.append(("result", "\n".join(lines)))
    blocks.append(("partial", plain.matrix_check_summary(result)))
    return blocks + [("note", note) for note in (*grad.notes, *result.notes)]


# ---------------------------------------------------------------- the terminal

STYLES = {"header": "dim", "partial": "", "result": "bold", "note": "dim italic"}


def terminal(blocks: Blocks, width: int, *, color: bool = True) -> str:
    """The blocks as a terminal shows them: each styled by its role and followed by a blank
    line. ``color=False`` (NO_COLOR) gives the same text without escapes."""
    if not color:
        return "".join(block + "\n\n" for _, block in blocks)
    from rich.console import Console
    from rich.text import Text

    console = Console(
        width=width, highlight=False, soft_wrap=True, force_terminal=True, color_system="standard"
    )
    with console.capture() as captured:
        for role, block in blocks:
            console.print(Text(block, style=STYLES.get(role, "")))
            console.print()
    return captured.get()


def color_wanted() -> bool:
    """Styles unless NO_COLOR is set (no-color.org): rich alone would keep dim and bold."""
    return not os.environ.get("NO_COLOR")


# ---------------------------------------------------------------- explain, plot, descend


def explanation(result: Explanation, width: int) -> Blocks:
    """(role, block) pairs: the expression, the names, numbered steps per partial (the last
    one as the result), and the graph as a table."""
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    if result.names:
        blocks.append(("note", "\n".join(names_lines(result))))
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


def plot(result: PlotData, width: int) -> Blocks:
    from symgrad.printing.plot import terminal_chart

    return [("partial", terminal_chart(result, width=width))]


def field(result: FieldData, width: int) -> Blocks:
    return [("result", line) for line in plain.field(result)]


def descent(result: Descent, width: int) -> Blocks:
    stride = every(result)
    how = f"{settings_text(result)} from {point_text(result.start)}"
    blocks = [
        ("header", labelled("parsed as  f", result.expression, width)),
        ("note", f"{how}; a row every {stride} steps" if stride > 1 else how),
        ("partial", "\n".join(path_rows(result, stride))),
        ("result", verdict_line(result)),
    ]
    blocks += [("note", n) for n in result.notes]
    return blocks


def picture(result: Picture, width: int) -> Blocks:
    return [("result", line) for line in plain.picture(result)]
