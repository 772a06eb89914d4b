"""Results to text, JSON-ready dicts, LaTeX and rich renderables. Nothing here computes.

Each result type registers one function per format with ``functools.singledispatch``; the CLI
calls ``render(result, fmt)`` and prints what comes back.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from functools import lru_cache, singledispatch
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symgrad.differentiate import Derivative, Gradient, Hessian, Jacobian, is_vector
from symgrad.errors import SymgradError
from symgrad.functions import GREEK, SoftmaxOutput, symbol
from symgrad.verdicts import CheckResult, ClaimVerdict, GradientAt, fmt_number, point_text

FORMATS = ("auto", "pretty", "text", "json", "latex")


# ---------------------------------------------------------------- expressions


def _late(factor: sp.Expr) -> bool:
    """Sums (and their powers) go last in a product: x*sigmoid(x)*(1 - sigmoid(x))."""
    return factor.is_Add or (factor.is_Pow and factor.base.is_Add and factor.exp.is_positive)


def _person_terms(expr: sp.Expr) -> list[sp.Expr]:
    """sympy's order of terms, but a sum starts with a positive term: y - b - w*x."""
    terms = expr.as_ordered_terms()
    positive = [t for t in terms if not t.could_extract_minus_sign()]
    if not positive or not terms[0].could_extract_minus_sign():
        return terms
    return positive + [t for t in terms if t.could_extract_minus_sign()]


def _person_order(expr: sp.Expr) -> list[sp.Expr]:
    coeff, rest = expr.as_coeff_Mul()
    factors = list(rest.as_ordered_factors()) if rest.is_Mul else [rest]
    ordered = [f for f in factors if not _late(f)] + [f for f in factors if _late(f)]
    return ordered if coeff is sp.S.One else [coeff, *ordered]


class _PersonOrder:
    """Mixin for sympy printers: sums in ``_person_terms``, products in ``_person_order``."""

    @contextmanager
    def _order(self, order):
        saved = self._settings["order"]
        self._settings["order"] = order
        try:
            yield
        finally:
            self._settings["order"] = saved

    def _print_Add(self, expr, order=None):
        with self._order("none"):  # print the terms in the order given here
            return super()._print_Add(sp.Add._from_args(_person_terms(expr)))

    def _print_Mul(self, expr):
        with self._order("none"):  # print the factors in the order given here
            return super()._print_Mul(sp.Mul._from_args(_person_order(expr)))


class TextPrinter(_PersonOrder, StrPrinter):
    """sympy's str() in symgrad's vocabulary: abs(x), shortest floats, sums last in products.

    Every string it prints parses back with ``symgrad.parser`` to the same expression.
    """

    def _print_Float(self, expr):
        if expr._prec <= 53:
            value = float(expr)
            text = repr(value)
            if not math.isfinite(value) or (value == 0.0 and not expr.is_zero):
                # beyond the range of a double: 1.0e+4000, 1.5e-400
                from mpmath.libmp import from_str, to_str

                for digits in (15, 16, 17):  # the shortest spelling that reads back exactly
                    text = to_str(expr._mpf_, digits)
                    if from_str(text, 53, "n") == expr._mpf_:
                        break
            return text
        return super()._print_Float(expr)

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_ImmutableDenseMatrix(self, expr):
        # a vector prints as typed: softmax(a, b, c) or [f1, f2]
        inputs = softmax_inputs(expr)
        if inputs is not None:
            return f"softmax({', '.join(self._print(x) for x in inputs)})"
        if expr.cols == 1:
            return "[" + ", ".join(self._print(e) for e in expr) + "]"
        rows = [self._print(expr.row(i).T) for i in range(expr.rows)]
        return "[" + ", ".join(rows) + "]"


def softmax_inputs(matrix) -> tuple | None:
    """The inputs when ``matrix`` is exactly the vector softmax(x0, ..., xn), else None."""
    entries = list(matrix)
    if matrix.cols != 1 or not entries or not isinstance(entries[0], SoftmaxOutput):
        return None
    inputs = entries[0].inputs
    for k, e in enumerate(entries):
        if not isinstance(e, SoftmaxOutput) or e.index != k or e.inputs != inputs:
            return None
    return inputs if len(entries) == len(inputs) else None


class SymgradLatexPrinter(_PersonOrder, LatexPrinter):
    """LaTeX with the same factor order as the text output, fit to paste into a paper.

    A name of several letters is one variable, so it prints as one word, ``\\mathit{wx}``
    (a bare ``wx`` would read as w times x); matrices and vectors are ``pmatrix``.
    """

    def _print_Symbol(self, expr, style="plain"):
        return latex_name(expr.name)

    def _operator(self, name: str, args, exp=None) -> str:
        # sympy writes Heaviside as \theta(x) and DiracDelta as \delta(x), which read back
        # as products with a variable theta or delta
        inner = ", ".join(self._print(a) for a in args)
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"\operatorname{{{name}}}{power}\left({inner}\right)"

    def _print_Heaviside(self, expr, exp=None):
        return self._operator("Heaviside", expr.args[:1], exp)

    def _print_DiracDelta(self, expr, exp=None):
        return self._operator("DiracDelta", expr.args, exp)

    def _print_atan2(self, expr, exp=None):
        return self._operator("atan2", expr.args, exp)

    def _print_ImmutableDenseMatrix(self, expr):
        inputs = softmax_inputs(expr)
        if inputs is not None:
            args = ", ".join(self._print(x) for x in inputs)
            return rf"\operatorname{{softmax}}\left({args}\right)"
        rows = [" & ".join(self._print(e) for e in expr.row(i)) for i in range(expr.rows)]
        return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"


def latex_name(name: str) -> str:
    """A variable's name in LaTeX: ``x_1`` and ``x1`` are x_{1}, ``theta`` is \\theta,
    ``wx`` is \\mathit{wx}."""
    base, sep, sub = name.partition("_")
    if not sep:
        m = re.fullmatch(r"(.*?[^\d])(\d+)", name)
        base, sub = (m.group(1), m.group(2)) if m else (name, "")

    def part(text: str) -> str:
        if text in _GREEK_NAMES:
            return "o" if text == "omicron" else "\\" + text
        if len(text) <= 1 or text.isdigit():
            return text
        escaped = text.replace("_", "\\_")
        return rf"\mathit{{{escaped}}}"

    return part(base) + (f"_{{{part(sub)}}}" if sub else "")


_TEXT = TextPrinter()


def expr_text(expr: sp.Expr) -> str:
    """ASCII text that re-parses to ``expr``: ``x*y/(b + w*x)``."""
    if _larger_than(expr, LINEAR_TEXT_MIN_NODES):
        return linear_text(expr)
    return _TEXT.doprint(expr)


_GREEK_NAMES = frozenset(GREEK.values())


# Above this many nodes, text is printed in one linear pass, terms in stored order: sympy's
# printer sorts every sum and negates terms to print their signs, about 0.5 ms per node.
LINEAR_TEXT_MIN_NODES = 300


def _larger_than(expr: sp.Expr, limit: int) -> bool:
    stack = [expr]
    count = 0
    while stack:
        count += 1
        if count > limit:
            return True
        stack.extend(stack.pop().args)
    return False


_FUNCTION_NAMES = {"Abs": "abs"}


def linear_text(expr: sp.Expr, names: dict[str, str] | None = None) -> str:
    """Text of ``expr`` in time linear in its size, terms in the order sympy stores them.

    Re-parses to ``expr`` like ``expr_text`` does; used for large expressions and for the
    definitions of ``--cse`` (thousands of small ones). ``names`` renames symbols, functions
    and constants (``{"tanh": "numpy.tanh"}``), which makes it a Python code printer.

    >>> from symgrad import parse
    >>> linear_text(parse("2*x - y/(1 + x)^2 + sigmoid(-x)"))
    '2*x - y/(1 + x)**2 + sigmoid(-x)'
    """
    memo: dict[sp.Expr, tuple[str, int]] = {}
    if names:
        memo[_NAMES] = names  # type: ignore[index]
    return _linear(expr, memo)[0]


_NAMES = object()  # key of the renaming table inside the memo


# precedence levels: sum < product (and a leading minus) < power < atom
_SUM, _PRODUCT, _POWER, _ATOM = 1, 2, 3, 4


def _wrap(item: tuple[str, int], level: int) -> str:
    text, prec = item
    return f"({text})" if prec < level else text


def _linear(expr: sp.Expr, memo: dict) -> tuple[str, int]:
    if expr.is_Symbol:  # before the memo: hashing a Float costs more than printing it
        return (memo.get(_NAMES, {}).get(expr.name, expr.name), _ATOM)
    if expr.is_Number and not expr.is_Rational:
        negative = _negative(expr)
        text = _number_text(-expr if negative else expr)
        return (f"-{text}", _PRODUCT) if negative else (text, _ATOM)
    found = memo.get(expr)
    if found is not None:
        return found
    if expr.is_Add:
        parts = []
        for k, term in enumerate(expr.args):
            negative, magnitude = _split_sign(term, memo)
            if k == 0:
                parts.append(f"-{magnitude}" if negative else magnitude)
            else:
                parts.append(f" - {magnitude}" if negative else f" + {magnitude}")
        result = ("".join(parts), _SUM)
    elif expr.is_Mul or expr.is_Number:
        negative, magnitude = _split_sign(expr, memo)
        if negative:
            result = (f"-{magnitude}", _PRODUCT)
        else:
            result = (magnitude, _ATOM if expr.is_Integer or expr.is_Float else _PRODUCT)
    elif expr.is_Pow:
        base, exponent = expr.args
        if exponent is sp.S.Half:
            sqrt = memo.get(_NAMES, {}).get("sqrt", "sqrt")
            result = (f"{sqrt}({_linear(base, memo)[0]})", _ATOM)
        else:
            result = (
                f"{_wrap(_linear(base, memo), _ATOM)}**{_wrap(_linear(exponent, memo), _ATOM)}",
                _POWER,
            )
    elif expr.is_Symbol:
        result = (memo.get(_NAMES, {}).get(expr.name, expr.name), _ATOM)
    elif expr.is_NumberSymbol:
        result = (memo.get(_NAMES, {}).get(str(expr), str(expr)), _ATOM)
    elif isinstance(expr, (sp.Function, sp.Max, sp.Min)) and not isinstance(
        expr, sp.core.function.AppliedUndef
    ):
        name = type(expr).__name__
        name = memo.get(_NAMES, {}).get(name) or _FUNCTION_NAMES.get(name, name)
        result = (f"{name}({', '.join(_linear(a, memo)[0] for a in expr.args)})", _ATOM)
    else:
        result = (f"({_TEXT.doprint(expr)})", _ATOM)
    memo[expr] = result
    return result


def _negative(number: sp.Expr) -> bool:
    # number.is_negative asks the assumption system: 0.1 ms for each new Float
    if number.is_Rational:
        return number.p < 0
    if number.is_Float:
        return bool(number._mpf_[0])  # the sign bit of (sign, mantissa, exponent, bits)
    return bool(number.is_negative)


def _number_text(number: sp.Expr) -> str:
    if number.is_Float:
        return _TEXT._print_Float(number)
    return str(number)


def _split_sign(expr: sp.Expr, memo: dict) -> tuple[bool, str]:
    """(is negative, text of its magnitude) for a term of a sum."""
    if expr.is_Number:
        negative = _negative(expr)
        return negative, _number_text(-expr if negative else expr)
    if not expr.is_Mul:
        return False, _wrap(_linear(expr, memo), _PRODUCT)
    args = expr.args
    coeff = args[0] if args[0].is_Number else sp.S.One
    factors = args[1:] if args[0].is_Number else args
    negative = _negative(coeff)
    coeff = -coeff if negative else coeff
    numerator, denominator = [], []
    if coeff.is_Rational and not coeff.is_Integer:
        if coeff.p != 1:
            numerator.append(str(coeff.p))
        denominator.append(str(coeff.q))
    elif coeff is not sp.S.One:
        numerator.append(_number_text(coeff))
    for f in sorted(factors, key=_late):  # stable: sums last, as in expr_text
        if f.is_Pow and f.exp.is_Number and _negative(f.exp):
            inverse = f.base if f.exp == -1 else sp.Pow(f.base, -f.exp, evaluate=False)
            denominator.append(_wrap(_linear(inverse, memo), _POWER))
        else:
            numerator.append(_wrap(_linear(f, memo), _PRODUCT + 1 if f.is_Mul else _PRODUCT))
    text = "*".join(numerator) or "1"
    if denominator:
        below = denominator[0] if len(denominator) == 1 else f"({'*'.join(denominator)})"
        text = f"{text}/{below}"
    return negative, text


def expr_latex(expr: sp.Expr) -> str:
    """LaTeX math for ``expr``."""
    return SymgradLatexPrinter({"mul_symbol": None}).doprint(expr)


@lru_cache(maxsize=8)
def _pretty_printer(width: int):
    """sympy's 2-D unicode printer with the text output's factor order (built on first use)."""
    from sympy.printing.pretty.pretty import PrettyPrinter

    class Pretty(_PersonOrder, PrettyPrinter):
        def _print_ImmutableDenseMatrix(self, expr):
            inputs = softmax_inputs(expr)
            if inputs is not None:
                return self._print(sp.Function("softmax")(*inputs))
            return self._print_MatrixBase(expr)

    return Pretty({"use_unicode": True, "num_columns": width, "wrap_line": True})


def expr_pretty(expr: sp.Expr, width: int = 80) -> str:
    """2-D unicode art: fractions stacked, powers raised."""
    return _pretty_printer(width).doprint(expr)


def labelled(label: str, expr: sp.Expr, width: int = 80) -> str:
    """``label = expr`` in 2-D, the label on the expression's baseline."""
    if not isinstance(expr, sp.MatrixBase) and _larger_than(expr, LINEAR_TEXT_MIN_NODES):
        return f"{label} = {expr_text(expr)}"  # 2-D art of a page-long expression helps nobody
    from sympy.printing.pretty.stringpict import prettyForm, stringPict

    form = _pretty_printer(width)._print(expr)
    if len(label) + 3 + form.width() > width:
        # too wide for 2-D: one line of text that the terminal wraps
        return f"{label} = {expr_text(expr)}"
    joined = prettyForm(*stringPict.next(prettyForm(label + " = "), form))
    return joined.render(wrap_line=False, use_unicode=True)


def var_text(var: sp.Symbol) -> str:
    return var.name


# ---------------------------------------------------------------- results


@singledispatch
def as_dict(result: Any, source: str | None = None) -> dict:
    """JSON-ready dict of a result (one JSON Lines record)."""
    raise TypeError(f"no JSON form for {type(result).__name__}")


@singledispatch
def as_text(result: Any) -> list[str]:
    """Plain ASCII lines of a result."""
    raise TypeError(f"no text form for {type(result).__name__}")


@singledispatch
def as_latex(result: Any) -> list[str]:
    """LaTeX lines of a result, one display-math equation each."""
    raise TypeError(f"no LaTeX form for {type(result).__name__}")


@singledispatch
def as_pretty(result: Any, width: int = 80) -> list[tuple[str, str]]:
    """(role, 2-D block) pairs for the terminal; the CLI styles each block by its role
    (``header``, ``partial``, ``result``, ``note``) and prints it."""
    raise TypeError(f"no pretty form for {type(result).__name__}")


def _record(result: Any, source: str | None) -> dict[str, Any]:
    """The start every JSON record shares: ``input`` (when known), ``expression``, ``wrt``."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [var_text(v) for v in result.wrt]
    return record


@as_dict.register(Gradient)
def _(result: Gradient, source: str | None = None) -> dict:
    record = _record(result, source)
    text = _partial_text(result)
    record["gradient"] = [text(p) for p in result.partials]
    if result.cse is not None:
        record["cse"] = cse_pairs(result.cse)
    return record


def _partial_text(result: Any):
    # with --cse there may be thousands of small entries: the linear printer, always
    return linear_text if getattr(result, "cse", None) else expr_text


def cse_pairs(definitions) -> list[list[str]]:
    """``[[name, expression], ...]``: the JSON form of shared subexpressions."""
    return [[name.name, linear_text(form)] for name, form in definitions]


def cse_lines(definitions) -> list[str]:
    """``t0 = ...`` lines, in order: each uses only names defined above it."""
    return [f"{name} = {text}" for name, text in cse_pairs(definitions)]


@as_text.register(Gradient)
def _(result: Gradient) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = _partial_text(result)
    lines += [f"df/d{var_text(v)} = {text(p)}" for v, p in zip(result.wrt, result.partials)]
    return lines


@as_latex.register(Gradient)
def _(result: Gradient) -> list[str]:
    lines = [f"f = {expr_latex(result.expression)}"]
    lines += [f"{expr_latex(name)} = {expr_latex(form)}" for name, form in result.cse or ()]
    for v, p in zip(result.wrt, result.partials):
        lines.append(rf"\frac{{\partial f}}{{\partial {expr_latex(v)}}} = {expr_latex(p)}")
    grad = r" \\ ".join(expr_latex(p) for p in result.partials)
    lines.append(rf"\nabla f = \begin{{pmatrix}} {grad} \end{{pmatrix}}")
    return lines


@as_pretty.register(Gradient)
def _(result: Gradient, width: int = 80) -> list[tuple[str, str]]:
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    for v, p in zip(result.wrt, result.partials):
        blocks.append(("partial", labelled(f"∂f/∂{expr_pretty(v)}", p, width)))
    if len(result.partials) > 1:
        names = ", ".join(expr_pretty(v) for v in result.wrt)
        vector = sp.Matrix(list(result.partials))
        blocks.append(("result", labelled(f"∇f({names})", vector, width)))
    if result.cse:
        blocks.append(("note", where_block(result.cse, width)))
    return blocks


# ---------------------------------------------------------------- Hessian, Jacobian, diff

_SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _runs(wrt: tuple) -> list[tuple[sp.Symbol, int]]:
    """(x, x, y) -> [(x, 2), (y, 1)]: the denominator of d3f/dx2dy."""
    runs: list[tuple[sp.Symbol, int]] = []
    for v in wrt:
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1] + 1)
        else:
            runs.append((v, 1))
    return runs


def partial_text(wrt: tuple, f: str = "f") -> str:
    """ASCII name of a partial: ``df/dw``, ``d2f/dw^2``, ``d2f/dwdb``."""
    n = len(wrt)
    top = f"d{n}{f}" if n > 1 else f"d{f}"
    bottom = "".join(f"d{var_text(v)}" + (f"^{k}" if k > 1 else "") for v, k in _runs(wrt))
    return f"{top}/{bottom}"


def partial_pretty(wrt: tuple, f: str = "f") -> str:
    """Unicode name of a partial: ``∂f/∂w``, ``∂²f/∂w²``, ``∂²f/∂w∂b``."""
    n = len(wrt)
    top = f"∂{str(n).translate(_SUPERSCRIPT_DIGITS)}{f}" if n > 1 else f"∂{f}"
    bottom = "".join(
        f"∂{expr_pretty(v)}" + (str(k).translate(_SUPERSCRIPT_DIGITS) if k > 1 else "")
        for v, k in _runs(wrt)
    )
    return f"{top}/{bottom}"


def partial_latex(wrt: tuple, f: str = "f") -> str:
    r"""LaTeX of a partial: ``\frac{\partial^{2} f}{\partial w \partial b}``."""
    n = len(wrt)
    top = rf"\partial^{{{n}}} {f}" if n > 1 else rf"\partial {f}"
    bottom = " ".join(
        rf"\partial {expr_latex(v)}" + (f"^{{{k}}}" if k > 1 else "") for v, k in _runs(wrt)
    )
    return rf"\frac{{{top}}}{{{bottom}}}"


def _upper(result: Hessian):
    """The distinct entries of a symmetric matrix: (i, j, entry) for j >= i."""
    n = len(result.wrt)
    return [(i, j, result.matrix[i][j]) for i in range(n) for j in range(i, n)]


def _matrix(rows) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([list(row) for row in rows])


def _matrix_block(label: str, matrix: sp.ImmutableMatrix, width: int) -> tuple[str, str]:
    """The matrix in 2-D, or a note when it is too wide (its entries are printed above)."""
    form = _pretty_printer(width)._print(matrix)
    if len(label) + 3 + form.width() > width:
        return ("note", f"{label}: too wide for {width} columns; its entries are above")
    return ("result", labelled(label, matrix, width))


def _softmax_outputs(result: Jacobian) -> tuple[tuple, dict]:
    """For the Jacobian of softmax(...): its inputs and {output k: s_k}; else ((), {})."""
    inputs = softmax_inputs(result.expression) if is_vector(result.expression) else None
    if inputs is None:
        return (), {}
    # the ML literature's form: d s_i/d x_j = s_i*(δ_ij - s_j), s_k the softmax outputs
    return inputs, {SoftmaxOutput(k, *inputs): symbol(f"s_{k}") for k in range(len(inputs))}


@as_dict.register(Hessian)
def _(result: Hessian, source: str | None = None) -> dict:
    record = _record(result, source)
    record["hessian"] = [[expr_text(e) for e in row] for row in result.matrix]
    return record


@as_text.register(Hessian)
def _(result: Hessian) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    for i, j, e in _upper(result):
        lines.append(f"{partial_text((result.wrt[i], result.wrt[j]))} = {expr_text(e)}")
    return lines


@as_latex.register(Hessian)
def _(result: Hessian) -> list[str]:
    lines = [f"f = {expr_latex(result.expression)}"]
    for i, j, e in _upper(result):
        lines.append(f"{partial_latex((result.wrt[i], result.wrt[j]))} = {expr_latex(e)}")
    lines.append(rf"\nabla^{{2}} f = {expr_latex(_matrix(result.matrix))}")
    return lines


@as_pretty.register(Hessian)
def _(result: Hessian, width: int = 80) -> list[tuple[str, str]]:
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    for i, j, e in _upper(result):
        label = partial_pretty((result.wrt[i], result.wrt[j]))
        blocks.append(("partial", labelled(label, e, width)))
    if len(result.wrt) > 1:
        names = ", ".join(expr_pretty(v) for v in result.wrt)
        blocks.append(_matrix_block(f"∇²f({names})", _matrix(result.matrix), width))
    return blocks


def _output_name(result: Jacobian, i: int) -> str:
    return f"f{i}" if len(result.outputs) > 1 else "f"


@as_dict.register(Jacobian)
def _(result: Jacobian, source: str | None = None) -> dict:
    record = _record(result, source)
    record["jacobian"] = [[expr_text(e) for e in row] for row in result.matrix]
    return record


@as_text.register(Jacobian)
def _(result: Jacobian) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    for i, row in enumerate(result.matrix):
        for v, e in zip(result.wrt, row):
            lines.append(f"{partial_text((v,), _output_name(result, i))} = {expr_text(e)}")
    return lines


@as_latex.register(Jacobian)
def _(result: Jacobian) -> list[str]:
    lines = [f"f = {expr_latex(result.expression)}"]
    matrix = _matrix(result.matrix)
    inputs, outputs = _softmax_outputs(result)
    if outputs:
        # as a paper writes it: s = softmax(a, b), entries in s_0, s_1
        lines[0] = f"s = {expr_latex(result.expression)}"
        matrix = matrix.xreplace(outputs)
    for i in range(matrix.rows):
        name = ("s" if outputs else "f") + (f"_{{{i}}}" if matrix.rows > 1 else "")
        for v, e in zip(result.wrt, matrix.row(i)):
            lines.append(f"{partial_latex((v,), name)} = {expr_latex(e)}")
    lines.append(f"J_{{{'s' if outputs else 'f'}}} = {expr_latex(matrix)}")
    return lines


@as_pretty.register(Jacobian)
def _(result: Jacobian, width: int = 80) -> list[tuple[str, str]]:
    blocks = [("header", labelled("parsed as  f", result.expression, width))]
    matrix = _matrix(result.matrix)
    inputs, outputs = _softmax_outputs(result)
    if outputs:
        matrix = matrix.xreplace(outputs)
        args = ", ".join(expr_text(x) for x in inputs)
        blocks.append(("note", f"where sₖ = softmax({args})[k], output k of f"))
    for i in range(matrix.rows):
        name = _output_name(result, i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
        for v, e in zip(result.wrt, matrix.row(i)):
            blocks.append(("partial", labelled(partial_pretty((v,), name), e, width)))
    names = ", ".join(expr_pretty(v) for v in result.wrt)
    blocks.append(_matrix_block(f"J({names})", matrix, width))
    return blocks


@as_dict.register(Derivative)
def _(result: Derivative, source: str | None = None) -> dict:
    record = _record(result, source)
    record["order"] = result.order
    record["derivative"] = expr_text(result.derivative)
    return record


@as_text.register(Derivative)
def _(result: Derivative) -> list[str]:
    return [
        f"f = {expr_text(result.expression)}",
        f"{partial_text(result.wrt)} = {expr_text(result.derivative)}",
    ]


@as_latex.register(Derivative)
def _(result: Derivative) -> list[str]:
    return [
        f"f = {expr_latex(result.expression)}",
        f"{partial_latex(result.wrt)} = {expr_latex(result.derivative)}",
    ]


@as_pretty.register(Derivative)
def _(result: Derivative, width: int = 80) -> list[tuple[str, str]]:
    return [
        ("header", labelled("parsed as  f", result.expression, width)),
        ("result", labelled(partial_pretty(result.wrt), result.derivative, width)),
    ]


# ---------------------------------------------------------------- numbers and verdicts


@as_dict.register(GradientAt)
def _(result: GradientAt, source: str | None = None) -> dict:
    record = as_dict(result.gradient, source)
    record["at"] = dict(result.at)
    record["value"] = result.value
    record["gradient_value"] = list(result.gradient_value)
    record["notes"] = list(result.notes)
    return record


@as_text.register(GradientAt)
def _(result: GradientAt) -> list[str]:
    lines = as_text(result.gradient)
    lines.append(f"at {point_text(result.at)}:")
    lines.append(f"  f = {fmt_number(result.value)}")
    for v, value in zip(result.gradient.wrt, result.gradient_value):
        lines.append(f"  df/d{var_text(v)} = {fmt_number(value)}")
    lines += [f"note: {note}" for note in result.notes]
    return lines


@as_latex.register(GradientAt)
def _(result: GradientAt) -> list[str]:
    lines = as_latex(result.gradient)
    at = ", ".join(f"{expr_latex(symbol(k))} = {fmt_number(v)}" for k, v in result.at.items())
    values = r" \\ ".join(fmt_number(v) for v in result.gradient_value)
    lines.append(
        rf"f = {fmt_number(result.value)}, \quad \nabla f = \begin{{pmatrix}} {values} "
        rf"\end{{pmatrix}} \quad \text{{at }} {at}"
    )
    return lines


@as_pretty.register(GradientAt)
def _(result: GradientAt, width: int = 80) -> list[tuple[str, str]]:
    blocks = as_pretty(result.gradient, width)
    lines = [f"at {point_text(result.at)}:", f"  f = {fmt_number(result.value)}"]
    for v, value in zip(result.gradient.wrt, result.gradient_value):
        lines.append(f"  ∂f/∂{expr_pretty(v)} = {fmt_number(value)}")
    blocks.append(("result", "\n".join(lines)))
    blocks += [("note", note) for note in result.notes]
    return blocks


def _claim_dict(claim: ClaimVerdict) -> dict:
    return {
        "wrt": var_text(claim.variable),
        "claim": expr_text(claim.claim),
        "derivative": expr_text(claim.derivative),
        "status": claim.status,
        "method": claim.method,
        "points": claim.points,
        "counterexample": claim.counterexample,
        "claimed_value": claim.claimed_value,
        "true_value": claim.true_value,
        "difference": claim.difference,
        "finite_difference": claim.finite_difference,
        "hint": claim.hint,
    }


@as_dict.register(CheckResult)
def _(result: CheckResult, source: str | None = None) -> dict:
    record = as_dict(result.gradient, source)
    record["ok"] = result.ok
    record["status"] = result.status
    record["gradient_status"] = result.gradient_status
    record["points"] = result.points
    record["rtol"] = result.rtol
    record["atol"] = result.atol
    record["max_abs_error"] = result.max_abs_error
    record["max_rel_error"] = result.max_rel_error
    record["worst_point"] = result.worst_point
    record["at"] = result.at
    record["claims"] = [_claim_dict(c) for c in result.claims]
    record["notes"] = list(result.notes)
    return record


def _claim_lines(claim: ClaimVerdict) -> list[str]:
    """A claim's verdict in words: the first line says it, the next ones show why."""
    head = f"claim df/d{var_text(claim.variable)} = {expr_text(claim.claim)}"
    if claim.status == "pass":
        how = (
            "it simplifies to the derivative"
            if claim.method == "symbolic"
            else f"equal to the derivative at {claim.points:,} points"
        )
        return [f"{head}: right ({how})"]
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


def _check_summary(result: CheckResult) -> str:
    where = f"at {point_text(result.at)}" if result.at else f"at {result.points:,} points"
    if result.max_abs_error is None:
        return f"gradient vs central differences: {result.gradient_status}"
    return (
        f"gradient vs central differences {where}: {result.gradient_status}; largest error "
        f"{result.max_abs_error:.3g} absolute, {result.max_rel_error:.3g} relative "
        f"(rtol {result.rtol:g}, atol {result.atol:g})"
        + ("" if result.at else f", worst at {point_text(result.worst_point)}")
    )


@as_text.register(CheckResult)
def _(result: CheckResult) -> list[str]:
    lines = as_text(result.gradient)
    lines.append(f"check: {result.status}")
    for claim in result.claims:
        lines += _claim_lines(claim)
    lines.append(_check_summary(result))
    lines += [f"note: {note}" for note in result.notes]
    return lines


@as_latex.register(CheckResult)
def _(result: CheckResult) -> list[str]:
    lines = as_latex(result.gradient)
    for claim in result.claims:
        relation = "=" if claim.status == "pass" else r"\neq" if claim.status == "mismatch" else "?"
        lines.append(
            rf"\frac{{\partial f}}{{\partial {expr_latex(claim.variable)}}} {relation} "
            rf"{expr_latex(claim.claim)}"
        )
    return lines


@as_pretty.register(CheckResult)
def _(result: CheckResult, width: int = 80) -> list[tuple[str, str]]:
    blocks = as_pretty(result.gradient, width)
    verdict = {"pass": "✓ pass", "mismatch": "✗ mismatch", "unverifiable": "? unverifiable"}
    blocks.append(("result", f"check: {verdict[result.status]}"))
    for claim in result.claims:
        blocks.append(("result", "\n".join(_claim_lines(claim))))
    blocks.append(("partial", _check_summary(result)))
    blocks += [("note", note) for note in result.notes]
    return blocks


def where_block(definitions, width: int = 80) -> str:
    """``where t0 = ...`` and one aligned line per further definition."""
    lines = cse_lines(definitions)
    return "\n".join(("where " if k == 0 else "      ") + line for k, line in enumerate(lines))


def _register_code() -> None:
    # symgrad.codegen is imported only by the codegen command; register when it loads
    from symgrad.codegen import Code

    @as_dict.register(Code)
    def _(result: Code, source: str | None = None) -> dict:
        record = _record(result, source)
        record["target"] = result.target
        record["code"] = result.source
        return record

    @as_text.register(Code)
    def _(result: Code) -> list[str]:
        return result.source.rstrip("\n").split("\n")

    @as_pretty.register(Code)
    def _(result: Code, width: int = 80) -> list[tuple[str, str]]:
        return [("partial", result.source.rstrip("\n"))]

    @as_latex.register(Code)
    def _(result: Code) -> list[str]:
        from symgrad.errors import InputError

        raise InputError("codegen writes Python: use --format text or json")


def render(result: Any, fmt: str, source: str | None = None, width: int = 80) -> Any:
    """Dispatch on format: a dict for json, lines for text and latex, blocks for pretty."""
    if type(result).__name__ == "Code" and type(result).__module__ == "symgrad.codegen":
        _register_code()
    if fmt == "json":
        return as_dict(result, source)
    if fmt == "text":
        return as_text(result)
    if fmt == "latex":
        return as_latex(result)
    if fmt == "pretty":
        return as_pretty(result, width)
    raise ValueError(f"unknown format {fmt!r}")


# ---------------------------------------------------------------- errors


def error_line(error: SymgradError, source: str | None = None) -> str:
    """One line for stderr: ``symgrad: parse error at column 3: unexpected ';'``."""
    where = f" at column {error.column}" if error.column else ""
    return f"symgrad: {error.kind} error{where}: {one_line(error.message)}"


def one_line(text: str) -> str:
    """``text`` with control characters escaped, so that a message is one line whatever the
    input it quotes (a newline, an ANSI escape)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def error_caret(error: SymgradError) -> str | None:
    """The input with a caret under the column (for a terminal); None when it does not fit."""
    src = error.source
    if not src or not error.column or "\n" in src or len(src) > 200:
        return None
    return f"  {src}\n  {' ' * (error.column - 1)}^"


def error_dict(error: SymgradError, source: str | None = None) -> dict:
    """The JSON record of a failed input."""
    return {
        "input": source,
        "error": {"kind": error.kind, "message": error.message, "column": error.column},
    }
