"""What several formats share: names of partials, the entries of a matrix result, CSE lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from symgrad.functions import SoftmaxOutput, symbol
from symgrad.notation import (  # noqa: F401 - runs, partial_text/latex: printers' names
    linear_text,
    partial_latex,
    partial_text,
    runs,
    softmax_inputs,
    var_text,
)
from symgrad.results import Hessian, Jacobian

SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def partial_pretty(wrt: Sequence[sp.Symbol], f: str = "f", name: Callable = var_text) -> str:
    """Unicode name of a partial: ``∂f/∂w``, ``∂²f/∂w²``, ``∂²f/∂w∂b``."""
    n = len(wrt)
    top = f"∂{str(n).translate(SUPERSCRIPT_DIGITS)}{f}" if n > 1 else f"∂{f}"
    bottom = "".join(
        f"∂{name(v)}" + (str(k).translate(SUPERSCRIPT_DIGITS) if k > 1 else "")
        for v, k in runs(wrt)
    )
    return f"{top}/{bottom}"


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
