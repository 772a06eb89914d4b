"""Results to text, JSON-ready dicts, LaTeX and rich renderables. Nothing here computes.

Each result type registers one function per format with ``functools.singledispatch``; the CLI
calls ``render(result, fmt)`` and prints what comes back.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache, singledispatch
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symgrad.differentiate import Gradient
from symgrad.errors import SymgradError

FORMATS = ("auto", "pretty", "text", "json", "latex")


# ---------------------------------------------------------------- expressions


def _late(factor: sp.Expr) -> bool:
    """Sums (and their powers) go last in a product: x*sigmoid(x)*(1 - sigmoid(x))."""
    return factor.is_Add or (factor.is_Pow and factor.base.is_Add and factor.exp.is_positive)


def _person_order(expr: sp.Expr) -> list[sp.Expr]:
    coeff, rest = expr.as_coeff_Mul()
    factors = list(rest.as_ordered_factors()) if rest.is_Mul else [rest]
    ordered = [f for f in factors if not _late(f)] + [f for f in factors if _late(f)]
    return ordered if coeff is sp.S.One else [coeff, *ordered]


class _PersonOrder:
    """Mixin for sympy printers: sums in sympy's order, products in ``_person_order``."""

    @contextmanager
    def _order(self, order):
        saved = self._settings["order"]
        self._settings["order"] = order
        try:
            yield
        finally:
            self._settings["order"] = saved

    def _print_Add(self, expr, order=None):
        with self._order(None):
            return super()._print_Add(expr)

    def _print_Mul(self, expr):
        with self._order("none"):  # print the factors in the order given here
            return super()._print_Mul(sp.Mul._from_args(_person_order(expr)))


class TextPrinter(_PersonOrder, StrPrinter):
    """sympy's str() in symgrad's vocabulary: abs(x), shortest floats, sums last in products.

    Every string it prints parses back with ``symgrad.parser`` to the same expression.
    """

    def _print_Float(self, expr):
        if expr._prec <= 53:
            text = repr(float(expr))
            return text if "inf" not in text and "nan" not in text else super()._print_Float(expr)
        return super()._print_Float(expr)

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"


class SymgradLatexPrinter(_PersonOrder, LatexPrinter):
    """LaTeX with the same factor order as the text output."""


_TEXT = TextPrinter()


def expr_text(expr: sp.Expr) -> str:
    """ASCII text that re-parses to ``expr``: ``x*y/(b + w*x)``."""
    if _larger_than(expr, LINEAR_TEXT_MIN_NODES):
        return linear_text(expr)
    return _TEXT.doprint(expr)


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
        pass

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


@as_dict.register
def _(result: Gradient, source: str | None = None) -> dict:
    record: dict[str, Any] = {}
    if source is not None:
        record["input"] = source
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [var_text(v) for v in result.wrt]
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


@as_text.register
def _(result: Gradient) -> list[str]:
    lines = [f"f = {expr_text(result.expression)}"]
    lines += cse_lines(result.cse or ())
    text = _partial_text(result)
    lines += [f"df/d{var_text(v)} = {text(p)}" for v, p in zip(result.wrt, result.partials)]
    return lines


@as_latex.register
def _(result: Gradient) -> list[str]:
    lines = [f"f = {expr_latex(result.expression)}"]
    lines += [f"{expr_latex(name)} = {expr_latex(form)}" for name, form in result.cse or ()]
    for v, p in zip(result.wrt, result.partials):
        lines.append(rf"\frac{{\partial f}}{{\partial {expr_latex(v)}}} = {expr_latex(p)}")
    grad = r" \\ ".join(expr_latex(p) for p in result.partials)
    lines.append(rf"\nabla f = \begin{{pmatrix}} {grad} \end{{pmatrix}}")
    return lines


@as_pretty.register
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


def where_block(definitions, width: int = 80) -> str:
    """``where t0 = ...`` and one aligned line per further definition."""
    lines = cse_lines(definitions)
    return "\n".join(("where " if k == 0 else "      ") + line for k, line in enumerate(lines))


def _register_code() -> None:
    # symgrad.codegen is imported only by the codegen command; register when it loads
    from symgrad.codegen import Code

    @as_dict.register(Code)
    def _(result: Code, source: str | None = None) -> dict:
        record: dict[str, Any] = {}
        if source is not None:
            record["input"] = source
        record["expression"] = expr_text(result.expression)
        record["wrt"] = [var_text(v) for v in result.wrt]
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
    return f"symgrad: {error.kind} error{where}: {error.message}"


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
