"""What several formats share: names of partials, the entries of a matrix result, CSE lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from symgrad.functions import SoftmaxOutput, symbol
from symgrad.notation import expr_latex, linear_text, softmax_inputs, var_text
from symgrad.results import Hessian, Jacobian

SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def runs(wrt: Sequence[sp.Symbol]) -> list[tuple[sp.Symbol, int]]:
    """(x, x, y) -> [(x, 2), (y, 1)]: the denominator of d3f/dx2dy."""
    found: list[tuple[sp.Symbol, int]] = []
    for v in wrt:
        if found and found[-1][0] == v:
            found[-1] = (v, found[-1][1] + 1)
        else:
            found.append((v, 1))
    return found


def partial_text(wrt: Sequence[sp.Symbol], f: str = "f") -> str:
    """ASCII name of a partial: ``df/dw``, ``d2f/dw^2``, ``d2f/dwdb``."""
    n = len(wrt)
    top = f"d{n}{f}" if n > 1 else f"d{f}"
    bottom = "".join(f"d{var_text(v)}" + (f"^{k}" if k > 1 else "") for v, k in runs(wrt))
    return f"{top}/{bottom}"


def partial_pretty(wrt: Sequence[sp.Symbol], f: str = "f", name: Callable = var_text) -> str:
    """Unicode name of a partial: ``∂f/∂w``, ``∂²f/∂w²``, ``∂²f/∂w∂b``."""
    n = len(wrt)
    top = f"∂{str(n).translate(SUPERSCRIPT_DIGITS)}{f}" if n > 1 else f"∂{f}"
    bottom = "".join(
        f"∂{name(v)}" + (str(k).translate(SUPERSCRIPT_DIGITS) if k > 1 else "")
        for v, k in runs(wrt)
    )
    return f"{top}/{bottom}"


def partial_latex(wrt: Sequence[sp.Symbol], f: str = "f") -> str:
    r"""LaTeX of a partial: ``\frac{\partial^{2} f}{\partial w \partial b}``."""
    n = len(wrt)
    top = rf"\partial^{{{n}}} {f}" if n > 1 else rf"\partial {f}"
    bottom = " ".join(
        rf"\partial {expr_latex(v)}" + (f"^{{{k}}}" if k > 1 else "") for v, k in runs(wrt)
    )
    return rf"\frac{{{top}}}{{{bottom}}}"


def cse_pairs(definitions) -> list[list[str]]:
    """``[[name, expression], ...]``: the JSON form of shared subexpressions."""
    return [[name.name, linear_text(form)] for name, form in definitions]


def cse_lines(definitions) -> list[str]:
    """``t0 = ...`` lines, in order: each uses only names defined above it."""
    return [f"{name} = {text}" for name, text in cse_pairs(definitions)]


def entry_text(result):
    """The printer of one entry: with shared subexpressions there may be thousands of small
    entries, which the linear printer writes fastest."""
    from symgrad.notation import expr_text

    return linear_text if getattr(result, "cse", None) else expr_text


# ---------------------------------------------------------------- Hessian and Jacobian


def matrix_entries(result: Hessian | Jacobian) -> list[tuple[int, int, tuple, str, sp.Expr]]:
    """The entries a matrix result lists, as ``(row, column, wrt, output name, entry)``.

    A Hessian is symmetric: each distinct entry once, ``d2f/dxdy`` for j >= i. A Jacobian:
    every entry, output by output (``f0``, ``f1``; ``f`` when there is one output).
    """
    rows = result.matrix
    if isinstance(result, Hessian):
        n = len(result.wrt)
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        return [(i, j, (result.wrt[i], result.wrt[j]), "f", rows[i][j]) for i, j in pairs]
    names = [f"f{i}" if len(rows) > 1 else "f" for i in range(len(rows))]
    return [
        (i, j, (result.wrt[j],), names[i], e)
        for i, row in enumerate(rows)
        for j, e in enumerate(row)
    ]


def as_matrix(rows) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([list(row) for row in rows])


def softmax_outputs(result: Jacobian) -> tuple[tuple, dict]:
    """For the Jacobian of softmax(...): its inputs and {output k: s_k}; else ((), {})."""
    expression = result.expression
    inputs = softmax_inputs(expression) if isinstance(expression, sp.MatrixBase) else None
    if inputs is None:
        return (), {}
    # the ML literature's form: d s_i/d x_j = s_i*(δ_ij - s_j), s_k the softmax outputs
    return inputs, {SoftmaxOutput(k, *inputs): symbol(f"s_{k}") for k in range(len(inputs))}
