"""Every result symgrad computes: small frozen dataclasses, nouns to the library's verbs.

The printers (symgrad.printing) turn each into text, JSON, LaTeX or a terminal picture; a
result carries an ``exit_code`` where it has a verdict of its own (a check, a value that is not
defined). In IPython and Jupyter a result shows itself (``_repr_latex_``, ``_repr_pretty_``):
a notebook cell ending in ``gradient("w*x + b")`` displays the partials in LaTeX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

import sympy as sp

from symgrad.functions import normalize_name, symbol
from symgrad.notation import (
    expr_latex,
    expr_text,
    fmt_number,
    partial_latex,
    partial_text,
    point_text,
)

PASS, MISMATCH, UNVERIFIABLE = "pass", "mismatch", "unverifiable"
EXIT_CODES = {PASS: 0, MISMATCH: 1, UNVERIFIABLE: 4}

Row = tuple[str, str, Any]
"""One line of a result on display: its label as text and as LaTeX, and its value (an
expression, a number, None for undefined, or words when both labels are empty)."""
Values = Union[Mapping[Union[str, sp.Symbol], Any], None]


class Shown:
    """How a result shows itself in IPython and Jupyter: each result lists its rows."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # IPython takes the first of _repr_pretty_ and __repr__ it finds in a class's own
        # namespace, and a dataclass defines __repr__ in every result class
        cls._repr_pretty_ = Shown._repr_pretty_

    def _rows(self) -> list[Row]:
        raise NotImplementedError

    def _repr_latex_(self) -> str:
        lines = []
        for label, latex, value in self._rows():
            if not label and not latex:
                lines.append(rf"& \text{{{_escaped(value)}}}")
            else:
                lines.append(rf"{latex} &= {_latex_value(value)}")
        return r"$\displaystyle \begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}$"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        if cycle:
            printer.text(f"{type(self).__name__}(...)")
            return
        lines = []
        for label, latex, value in self._rows():
            lines.append(str(value) if not label and not latex else f"{label} = {_text(value)}")
        printer.text("\n".join(lines))


def _text(value: Any) -> str:
    if isinstance(value, sp.Basic):
        return expr_text(value)
    if value is None or isinstance(value, (int, float)):
        return fmt_number(value)
    return str(value)


def _latex_value(value: Any) -> str:
    if isinstance(value, sp.Basic):
        return expr_latex(value)
    if value is None:
        return r"\text{undefined}"
    if isinstance(value, (int, float)):
        return fmt_number(value)
    return rf"\text{{{_escaped(str(value))}}}"


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"}
_LATEX_SPECIAL.update(
    {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
)


def _escaped(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def _notes(notes) -> list[Row]:
    return [("", "", f"note: {note}") for note in notes]


def _symbols(values: Values, named: Mapping[str, Any]) -> dict[sp.Symbol, Any]:
    """A substitution with names (``"x"``) mapped to symgrad's real symbols, which sympy's own
    ``subs({"x": 2})`` would not find (it makes a symbol without assumptions)."""
    found: dict[sp.Symbol, Any] = {}
    for key, value in {**dict(values or {}), **named}.items():
        found[symbol(normalize_name(key)) if isinstance(key, str) else key] = value
    return found


def _point(values: Values, named: Mapping[str, Any]) -> Union[dict[str, float], str]:
    if isinstance(values, str) and not named:
        return values  # "w=1,x=2", as --at takes it
    if isinstance(values, str):
        raise TypeError("give the point as text or as names, not both")
    return {getattr(k, "name", k): v for k, v in {**dict(values or {}), **named}.items()}


@dataclass(frozen=True)
class Gradient(Shown):
    """The gradient of ``expression``: ``partials[i]`` is d expression / d ``wrt[i]``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    partials: tuple[sp.Expr, ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions ``(name, definition)``, in order, that ``partials`` may use;
    None unless asked for (``cse=True``)."""
    notes: tuple[str, ...] = ()
    """What a reader should know: a variable of ``wrt`` that does not appear (partial 0)."""

    def __getitem__(self, name: str) -> sp.Expr:
        """The partial derivative for the variable called ``name``."""
        for var, partial in zip(self.wrt, self.partials):
            if var.name == name:
                return partial
        raise KeyError(name)

    def at(self, values: Values = None, /, **named: float) -> GradientAt:
        """The value and every partial at a point: ``g.at(w=1, x=2)`` or ``g.at("w=1,x=2")``.

        >>> from symgrad import gradient
        >>> gradient("w*x + b", "w,b").at(w=2, x=3, b=1).gradient_value
        (3.0, 1.0)
        """
        from symgrad.numeric.evaluate import gradient_at  # the library's verb, on demand

        return gradient_at(self, _point(values, named))

    def subs(self, values: Values = None, /, **named: Any) -> Gradient:
        """The gradient with values put in, by name or symbol: ``g.subs(x=2)``.

        >>> from symgrad import gradient
        >>> gradient("w*x + b", "w").subs(x=2).partials
        (2,)
        """
        found = _symbols(values, named)
        cse = None
        if self.cse is not None:
            cse = tuple((name, form.subs(found)) for name, form in self.cse)
        partials = tuple(p.subs(found) for p in self.partials)
        return Gradient(self.expression.subs(found), self.wrt, partials, cse, self.notes)

    def diff(self, name: Union[str, sp.Symbol]) -> tuple[sp.Expr, ...]:
        """Every partial differentiated once more, by ``name``: a column of the Hessian.

        >>> from symgrad import gradient
        >>> gradient("w^2*x + b", "w,b").diff("w")
        (2*x, 0)
        """
        var = symbol(normalize_name(name)) if isinstance(name, str) else name
        return tuple(sp.diff(p, var) for p in self.partials)

    def _rows(self) -> list[Row]:
        rows: list[Row] = [("f", "f", self.expression)]
        rows += [(n.name, expr_latex(n), form) for n, form in self.cse or ()]
        rows += [
            (partial_text((v,)), partial_latex((v,)), p) for v, p in zip(self.wrt, self.partials)
        ]
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class Hessian(Shown):
    """Second partials of ``expression``: ``matrix[i][j]`` is d2 f / d wrt[i] d wrt[j]."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions that the entries may use (``cse=True``), as for a Gradient."""
    notes: tuple[str, ...] = ()

    def at(self, values: Values = None, /, **named: float) -> ValuesAt:
        """The entries at a point: ``h.at(x=1, y=2)``."""
        from symgrad.numeric.evaluate import values_at  # the library's verb, on demand

        return values_at(self, _point(values, named))

    def _entries(self) -> list[tuple[str, str, int, int]]:
        """Each distinct entry once (the upper triangle): labels and place."""
        n = len(self.wrt)
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        wrt = self.wrt
        return [
            (partial_text((wrt[i], wrt[j])), partial_latex((wrt[i], wrt[j])), i, j)
            for i, j in pairs
        ]

    def _rows(self) -> list[Row]:
        rows: list[Row] = [("f", "f", self.expression)]
        rows += [(n.name, expr_latex(n), form) for n, form in self.cse or ()]
        rows += [(text, latex, self.matrix[i][j]) for text, latex, i, j in self._entries()]
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class Jacobian(Shown):
    """First partials of a vector: ``matrix[i][j]`` is d outputs[i] / d wrt[j]."""

    expression: sp.Expr  # an ImmutableMatrix column, or a scalar (a Jacobian of one row)
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions that the entries may use (``cse=True``), as for a Gradient."""
    notes: tuple[str, ...] = ()

    @property
    def outputs(self) -> tuple[sp.Expr, ...]:
        e = self.expression
        return tuple(e) if isinstance(e, sp.MatrixBase) else (e,)

    def at(self, values: Values = None, /, **named: float) -> ValuesAt:
        """The entries at a point: ``j.at(r=2, t=0.5)``."""
        from symgrad.numeric.evaluate import values_at  # the library's verb, on demand

        return values_at(self, _point(values, named))

    def _entries(self) -> list[tuple[str, str, int, int]]:
        """Every entry, output by output (f0, f1; f when there is one): labels and place."""
        several = len(self.matrix) > 1
        found = []
        for i in range(len(self.matrix)):
            f, latex = (f"f{i}", f"f_{{{i}}}") if several else ("f", "f")
            for j, var in enumerate(self.wrt):
                found.append((partial_text((var,), f), partial_latex((var,), latex), i, j))
        return found

    def _rows(self) -> list[Row]:
        rows: list[Row] = [("f", "f", self.expression)]
        rows += [(n.name, expr_latex(n), form) for n, form in self.cse or ()]
        rows += [(text, latex, self.matrix[i][j]) for text, latex, i, j in self._entries()]
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class Derivative(Shown):
    """One higher or mixed partial: ``expression`` differentiated by each of ``wrt`` in turn."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]  # with repeats: (x, x, y) is d3 f / dx2 dy
    derivative: sp.Expr
    notes: tuple[str, ...] = ()

    @property
    def order(self) -> int:
        return len(self.wrt)

    def at(self, values: Values = None, /, **named: float) -> ValuesAt:
        """The derivative's value at a point: ``d.at(x=0.5)``."""
        from symgrad.numeric.evaluate import values_at  # the library's verb, on demand

        return values_at(self, _point(values, named))

    def _rows(self) -> list[Row]:
        rows: list[Row] = [("f", "f", self.expression)]
        rows.append((partial_text(self.wrt), partial_latex(self.wrt), self.derivative))
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class Code(Shown):
    """Python source defining ``name(*arguments) -> (value, gradient)``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    arguments: tuple[sp.Symbol, ...]
    target: str
    name: str
    source: str

    def _rows(self) -> list[Row]:
        return [("", "", self.source.rstrip("\n"))]

    def _repr_latex_(self) -> str:
        args = ", ".join(expr_latex(a) for a in self.arguments)
        name = _escaped(self.name)
        return rf"$\texttt{{{name}}}({args}) \mapsto \left(f, \nabla f\right)$"


@dataclass(frozen=True)
class GradientAt(Shown):
    """``gradient`` evaluated at ``at``: the value and each partial (None where undefined)."""

    gradient: Gradient
    at: dict[str, float]
    value: float | None
    gradient_value: tuple[float | None, ...]
    notes: tuple[str, ...]
    exit_code: int = 0

    def _rows(self) -> list[Row]:
        rows = self.gradient._rows()
        rows.append(("", "", f"at {point_text(self.at)}:"))
        rows.append(("f", "f", self.value))
        for var, value in zip(self.gradient.wrt, self.gradient_value):
            rows.append((partial_text((var,)), partial_latex((var,)), value))
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class ClaimVerdict(Shown):
    """Whether ``claim`` is the partial derivative ``derivative`` (by ``variable``).

    ``status`` is pass, mismatch or unverifiable; ``method`` how a pass was decided
    (``symbolic``: the difference simplifies to 0; ``numeric``: equal at every point tried).
    A mismatch carries a ``counterexample`` point, both values there, their difference, the
    central finite difference there (an independent witness) and, where cheap, a ``hint``.
    """

    variable: sp.Symbol
    claim: sp.Expr
    derivative: sp.Expr
    status: str
    method: str | None = None
    points: int = 0
    counterexample: dict[str, float] | None = None
    claimed_value: float | None = None
    true_value: float | None = None
    difference: float | None = None
    finite_difference: float | None = None
    hint: str | None = None

    def _rows(self) -> list[Row]:
        label = (partial_text((self.variable,)), partial_latex((self.variable,)))
        verdict = {PASS: "right", MISMATCH: "WRONG", UNVERIFIABLE: "cannot be checked here"}
        words = f"the claim is {verdict[self.status]}" + (f", {self.hint}" if self.hint else "")
        rows: list[Row] = [(f"claim {label[0]}", rf"\text{{claim }} {label[1]}", self.claim)]
        rows.append(("", "", words))
        if self.status == MISMATCH:
            rows.append((*label, self.derivative))
        return rows


@dataclass(frozen=True)
class CheckResult(Shown):
    """The symbolic gradient against central finite differences, and the claims if any.

    ``status`` (pass, mismatch or unverifiable) is the verdict on everything, claims
    included; ``gradient_status`` that of the finite differences alone. The errors are the
    largest over the ``points`` checked, ``worst_point`` where the error was largest relative
    to the tolerance.
    """

    gradient: Gradient
    status: str
    points: int
    rtol: float
    atol: float
    gradient_status: str = UNVERIFIABLE
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    worst_point: dict[str, float] | None = None
    at: dict[str, float] | None = None
    claims: tuple[ClaimVerdict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def _rows(self) -> list[Row]:
        rows = self.gradient._rows()
        rows.append(("", "", f"check: {self.status}"))
        for claim in self.claims:
            rows += claim._rows()
        return rows + _notes(self.notes)


@dataclass(frozen=True)
class ValuesAt(Shown):
    """A Hessian, a Jacobian or a higher derivative evaluated at the point ``at``.

    ``value`` is f there (a tuple for a vector f), ``values`` the entries, shaped as the
    result's (a matrix of rows, or one number for a Derivative); None where not defined, with
    a note saying why and ``exit_code`` 4.
    """

    result: Hessian | Jacobian | Derivative
    at: dict[str, float]
    value: float | tuple[float | None, ...] | None
    values: float | tuple[tuple[float | None, ...], ...] | None
    notes: tuple[str, ...] = ()
    exit_code: int = 0

    def _rows(self) -> list[Row]:
        inner = self.result
        rows = [r for r in inner._rows() if r[0] or r[1]]  # notes come last, with these
        rows.append(("", "", f"at {point_text(self.at)}:"))
        if isinstance(self.value, tuple):
            rows += [(f"f{i}", f"f_{{{i}}}", v) for i, v in enumerate(self.value)]
        else:
            rows.append(("f", "f", self.value))
        if isinstance(inner, Derivative):
            rows.append((partial_text(inner.wrt), partial_latex(inner.wrt), self.values))
        else:
            rows += [(text, latex, self.values[i][j]) for text, latex, i, j in inner._entries()]
        return rows + _notes((*inner.notes, *self.notes))
