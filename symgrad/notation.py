"""How expressions are written: plain text that re-parses, linear-time text for big ones (and
for generated code), LaTeX, numbers and points.

Library messages and every printer use these, so an expression reads the same everywhere.
Function names come from the function table (``symgrad.functions``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from symgrad.functions import GREEK, SoftmaxOutput, _VectorOutput, entry_of, written

# ---------------------------------------------------------------- expressions


def _late(factor: sp.Expr) -> bool:
    """Sums (and their powers) go last in a product: x*sigmoid(x)*(1 - sigmoid(x))."""
    return bool(factor.is_Add or (factor.is_Pow and factor.base.is_Add and factor.exp.is_positive))


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


class PersonOrder:
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


class TextPrinter(PersonOrder, StrPrinter):
    """sympy's str() in symgrad's vocabulary: abs(x), shortest floats, sums last in products.

    Every string it prints parses back with ``symgrad.parse`` to the same expression.
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

    def _print(self, expr, **kwargs):
        entry = entry_of(expr) if isinstance(expr, sp.Basic) else None
        if entry is None:
            return super()._print(expr, **kwargs)
        return function_text(entry, expr, [self._print(a) for a in expr.args])

    def _print_Pow(self, expr, rational=False):
        # 1/(abs(x) + 1)**2 as a person writes it, not sympy's (abs(x) + 1)**(-2)
        exp = expr.exp
        if exp.is_Rational and exp.is_negative and exp != -1 and exp != -sp.S.Half:
            return f"1/{self._print(sp.Pow(expr.base, -exp, evaluate=False))}"
        return super()._print_Pow(expr, rational=rational)

    def _print_ImmutableDenseMatrix(self, expr):
        # a vector prints as typed: softmax(a, b, c) or [f1, f2]
        call = vector_call(expr)
        if call is not None:
            name, inputs = call
            return f"{name}({', '.join(self._print(x) for x in inputs)})"
        if expr.cols == 1:
            return "[" + ", ".join(self._print(e) for e in expr) + "]"
        rows = [self._print(expr.row(i).T) for i in range(expr.rows)]
        return "[" + ", ".join(rows) + "]"


def vector_call(matrix) -> tuple[str, tuple] | None:
    """``(name, inputs)`` when ``matrix`` is exactly a vector function such as
    ``softmax(x0, ..., xn)`` or ``log_softmax(...)``, every output in order; else None."""
    entries = list(matrix)
    if matrix.cols != 1 or not entries or not isinstance(entries[0], _VectorOutput):
        return None
    kind, inputs = type(entries[0]), entries[0].inputs
    for k, e in enumerate(entries):
        if type(e) is not kind or e.index != k or e.inputs != inputs:
            return None
    return (kind.name, inputs) if len(entries) == len(inputs) else None


def softmax_inputs(matrix) -> tuple | None:
    """The inputs when ``matrix`` is exactly the vector softmax(x0, ..., xn), else None."""
    call = vector_call(matrix)
    return call[1] if call is not None and call[0] == SoftmaxOutput.name else None


class SymgradLatexPrinter(PersonOrder, LatexPrinter):
    """LaTeX with the same factor order as the text output, fit to paste into a paper.

    A name of several letters is one variable, so it prints as one word, ``\\mathit{wx}``
    (a bare ``wx`` would read as w times x); matrices and vectors are ``pmatrix``.
    """

    def _print_Symbol(self, expr, style="plain"):
        return latex_name(expr.name)

    def _print(self, expr, **kwargs):
        entry = entry_of(expr) if isinstance(expr, sp.Basic) else None
        if entry is None or not (entry.latex_out or entry.latex_text):
            return super()._print(expr, **kwargs)
        args = [self._print(a) for a in expr.args]
        if entry.latex_text is not None:
            text = entry.latex_text(expr, args)
            exp = kwargs.get("exp")
            return rf"\left({text}\right)^{{{exp}}}" if exp is not None else text
        args = [args[k] for k in written(expr)[1]]
        power = f"^{{{kwargs['exp']}}}" if kwargs.get("exp") is not None else ""
        return rf"{entry.latex_out}{power}\left({', '.join(args)}\right)"

    def _print_ImmutableDenseMatrix(self, expr):
        call = vector_call(expr)
        if call is not None:
            name, inputs = call
            args = ", ".join(self._print(x) for x in inputs)
            name = name.replace("_", "\\_")
            return rf"\operatorname{{{name}}}\left({args}\right)"
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


def function_text(entry, node: sp.Expr, args: list[str]) -> str:
    """A function call in plain syntax, from its table entry and its printed arguments."""
    if entry.text is not None:
        return entry.text(node, args)
    name, places = written(node)
    return f"{name}({', '.join(args[k] for k in places)})"


_TEXT = TextPrinter()


def expr_text(expr: sp.Expr) -> str:
    """ASCII text that re-parses to ``expr``: ``x*y/(b + w*x)``."""
    if larger_than(expr, LINEAR_TEXT_MIN_NODES):
        return linear_text(expr)
    return _TEXT.doprint(expr)


_GREEK_NAMES = frozenset(GREEK.values())


# Above this many nodes, text is printed in one linear pass, terms in stored order: sympy's
# printer sorts every sum and negates terms to print their signs, about 0.5 ms per node.
LINEAR_TEXT_MIN_NODES = 300


def larger_than(expr: sp.Expr, limit: int) -> bool:
    stack = [expr]
    count = 0
    while stack:
        count += 1
        if count > limit:
            return True
        stack.extend(stack.pop().args)
    return False


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
        args = [_linear(a, memo)[0] for a in expr.args]
        entry = entry_of(expr)
        renamed = memo.get(_NAMES, {}).get(type(expr).__name__)
        if renamed is not None or entry is None:
            name = renamed or type(expr).__name__
            if isinstance(expr, sp.Heaviside) and expr.args[1:] == (sp.S.Half,):
                args = args[:1]  # 1/2 at 0 is the default of the generated Heaviside too
            result = (f"{name}({', '.join(args)})", _ATOM)
        else:
            result = (function_text(entry, expr, args), _ATOM)
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


def var_text(var: sp.Symbol) -> str:
    return var.name


# ---------------------------------------------------------------- names of partials


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


def partial_latex(wrt: Sequence[sp.Symbol], f: str = "f") -> str:
    r"""LaTeX of a partial: ``\frac{\partial^{2} f}{\partial w \partial b}``."""
    n = len(wrt)
    top = rf"\partial^{{{n}}} {f}" if n > 1 else rf"\partial {f}"
    bottom = " ".join(
        rf"\partial {expr_latex(v)}" + (f"^{{{k}}}" if k > 1 else "") for v, k in runs(wrt)
    )
    return rf"\frac{{{top}}}{{{bottom}}}"


def point_text(point: Mapping) -> str:
    """``w=1, x=2.5``: a point as a person reads it."""
    return ", ".join(f"{getattr(k, 'name', k)}={fmt_number(v)}" for k, v in point.items())


def counted(n: int, noun: str) -> str:
    """``1 claim``, ``2 claims``.

    >>> counted(1, "claim"), counted(2, "variable")
    ('1 claim', '2 variables')
    """
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def fmt_number(value: float | None) -> str:
    """Shortest text of a float (``2.0`` is ``2``); None is ``undefined``."""
    if value is None:
        return "undefined"
    value = float(value)
    if not math.isfinite(value):
        return "undefined" if math.isnan(value) else "-inf" if value < 0 else "inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"
