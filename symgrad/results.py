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
SYMBOLIC, NUMERIC = "symbolic", "numeric"
"""How a pass was reached: proved equal, or equal at every point tried."""

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

    ``status`` is pass, mismatch or unverifiable; ``proof`` how a pass was reached
    (``symbolic``: the difference is proved 0; ``numeric``: equal at every point tried, not
    proved). A mismatch carries a ``counterexample`` point, both values there (the claim None
    where it is not a real number), their difference, the central finite difference there
    (an independent witness) and, where cheap, a ``hint``.
    """

    variable: sp.Symbol
    claim: sp.Expr
    derivative: sp.Expr
    status: str
    proof: str | None = None
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
    included; ``gradient_status`` that of the finite differences alone; ``proof`` how a pass
    was reached (``symbolic`` when every claim was proved, else ``numeric``; None unless the
    status is pass). The errors are the largest over the ``points`` checked, ``worst_point``
    where the error was largest relative to the tolerance.
    """

    gradient: Gradient
    status: str
    points: int
    rtol: float
    atol: float
    gradient_status: str = UNVERIFIABLE
    proof: str | None = None
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


# ---------------------------------------------------------------- vectors and matrices
#
# Results of matrix calculus (symgrad.derive.matrix, symgrad.numeric.matrix*). Every one
# carries ``shapes`` (each variable's shape) so that a printer can show them. A shape is
# ``(rows, cols)``: a vector of ``n`` is ``("n", 1)``, a scalar ``(1, 1)``. A ``Shaped`` is a
# node of symgrad.parsing.matrix_tree (typed loosely here: results sit below parsing). Numbers
# in a variable's shape are ``Nested``: a float, a list (a vector) or a list of rows (a matrix),
# None where a value is not finite.

Shaped = Any  # symgrad.parsing.matrix_tree.Node
Shape = tuple  # (rows, cols), each a name or a number
Nested = Any


@dataclass(frozen=True)
class MatrixGradient:
    """The gradient of the scalar ``expression``: ``partials[i]`` is dL/d ``wrt[i]``, in
    the shape of that variable (``partial_shapes[i]``), in matrix notation."""

    expression: Shaped
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    partials: tuple[Shaped, ...]
    cse: Optional[tuple[tuple[str, Shaped], ...]] = None
    """Shared subexpressions ``(name, definition)`` in order, that ``partials`` may use;
    None unless asked for (``cse=True``)."""
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Shaped:
        """The partial derivative for the variable called ``name``."""
        for var, partial in zip(self.wrt, self.partials):
            if var == name:
                return partial
        raise KeyError(name)

    @property
    def partial_shapes(self) -> tuple[Shape, ...]:
        return tuple(self.shapes[v] for v in self.wrt)


@dataclass(frozen=True)
class MatrixJacobian:
    """The Jacobian of a vector-valued ``expression``: ``blocks[i]`` is d expression /
    d ``wrt[i]``, a matrix with one row per entry of the expression and one column per
    entry of the variable."""

    expression: Shaped
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    blocks: tuple[Shaped, ...]
    cse: Optional[tuple[tuple[str, Shaped], ...]] = None
    """Shared subexpressions ``(name, definition)`` that ``blocks`` may use (``cse=True``)."""
    notes: tuple[str, ...] = ()

    @property
    def block_shapes(self) -> tuple[Shape, ...]:
        return tuple(b.shape for b in self.blocks)


@dataclass(frozen=True)
class MatrixGradientAt:
    """``gradient`` evaluated at ``at``: the value and each partial as nested lists in the
    variable's shape; ``dims`` the sizes the arrays gave to the named dimensions."""

    gradient: MatrixGradient
    at: Mapping[str, Nested]
    dims: Mapping[str, int]
    value: Optional[float]
    gradient_value: tuple[Nested, ...]
    notes: tuple[str, ...] = ()
    exit_code: int = 0


@dataclass(frozen=True)
class MatrixJacobianAt:
    """``jacobian`` evaluated at ``at``: the expression's value (a list, the vector's entries)
    and each block as a list of rows; ``dims`` the sizes the arrays gave."""

    jacobian: MatrixJacobian
    at: Mapping[str, Nested]
    dims: Mapping[str, int]
    value: Nested
    jacobian_value: tuple[Nested, ...]
    notes: tuple[str, ...] = ()
    exit_code: int = 0


@dataclass(frozen=True)
class MatrixClaimVerdict:
    """Whether ``claim`` is dL/d ``variable`` (``derivative``), entry by entry.

    ``proof`` says how a pass was decided (``symbolic``: the same expression once both are
    in canonical form; ``numeric``: equal at every point tried). A mismatch carries the
    point (``counterexample``), the ``entry`` (row, column) that differs most, both values
    there, their difference, the finite difference there and, where cheap, a ``hint``
    (a sign error, a constant factor, a transpose).
    """

    variable: str
    claim: Shaped
    derivative: Shaped
    status: str
    proof: Optional[str] = None
    points: int = 0
    counterexample: Optional[Mapping[str, Nested]] = None
    entry: Optional[tuple[int, int]] = None
    claimed_value: Optional[float] = None
    true_value: Optional[float] = None
    difference: Optional[float] = None
    finite_difference: Optional[float] = None
    hint: Optional[str] = None


@dataclass(frozen=True)
class MatrixCheckResult:
    """The matrix gradient against central finite differences, entry by entry, at random
    matrices of ``dims`` sizes (or at the point ``at``), and the claims if any.

    ``status`` is the verdict on everything (claims included), ``gradient_status`` that of
    the finite differences alone; ``points`` how many points were checked, ``entries`` how
    many gradient entries were compared in all. ``worst`` names the variable and entry where
    the error was largest relative to the tolerance, ``worst_point`` the point.
    """

    gradient: MatrixGradient
    status: str
    points: int
    rtol: float
    atol: float
    dims: Mapping[str, int]
    gradient_status: str = UNVERIFIABLE
    entries: int = 0
    max_abs_error: Optional[float] = None
    max_rel_error: Optional[float] = None
    worst: Optional[tuple[str, tuple[int, int]]] = None
    worst_point: Optional[Mapping[str, Nested]] = None
    at: Optional[Mapping[str, Nested]] = None
    claims: tuple[MatrixClaimVerdict, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == PASS

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


@dataclass(frozen=True)
class MatrixCode:
    """Python source defining ``name(*arguments) -> (value, gradient)`` on numpy arrays."""

    expression: Shaped
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    arguments: tuple[str, ...]
    target: str
    name: str
    source: str
# ---------------------------------------------------------------- explain, plot, descend

LOCAL_RULES = ("known derivative", "power", "exponential")
"""Rules that differentiate one function by one of its inputs, the other inputs held fixed."""

RULES = (
    "constant",
    "variable",
    "sum",
    "constant factor",
    "product",
    "quotient",
    *LOCAL_RULES,
    "general power",
    "chain",
    "substitute",
    "tidy",
)
"""Every ``Step.rule``, in the order a reader meets them."""


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``d(of)/d(wrt) = derivative``, by ``rule``.

    ``of`` and ``derivative`` may use the inner names of ``Explanation.names``. When ``local``
    (one of LOCAL_RULES applied inside a chain rule) ``of`` is differentiated by ``wrt`` with
    every other input and every name held fixed; otherwise each name stands for its
    definition. ``variable`` is the
    partial derivative the step belongs to, ``uses`` the indices of the earlier steps whose
    results it combines.
    """

    rule: str
    of: sp.Expr
    wrt: sp.Symbol
    derivative: sp.Expr
    variable: sp.Symbol
    uses: tuple[int, ...] = ()
    local: bool = False


@dataclass(frozen=True)
class Edge:
    """The local derivative of a node by one of its inputs, as written and at the point."""

    input: str
    derivative: sp.Expr  # in terms of node ids
    value: float | None


@dataclass(frozen=True)
class Node:
    """One value of the computation graph, as PyTorch's autograd keeps it.

    ``expression`` is the node in terms of its inputs' ids (``t0 + b``); ``grad`` the
    accumulated d output / d node (None where ``requires_grad`` is False, as in PyTorch).
    """

    id: str
    op: str
    expression: sp.Expr
    inputs: tuple[str, ...]
    value: float | None
    grad: float | None
    leaf: bool
    requires_grad: bool
    local: tuple[Edge, ...] = ()


@dataclass(frozen=True)
class Graph:
    """Nodes in evaluation order (leaves first); ``output`` is the id of the last one."""

    nodes: tuple[Node, ...]
    output: str

    def node(self, id: str) -> Node:
        for n in self.nodes:
            if n.id == id:
                return n
        raise KeyError(id)


@dataclass(frozen=True)
class Explanation:
    """How each partial derivative of ``expression`` is obtained.

    ``steps`` are the derivations, one after another (``Step.variable`` says which partial);
    ``names`` the inner functions the steps use, ``(u, w*x + b)``, outermost first, each
    definition possibly using the names after it. ``partials`` are ``gradient``'s. With a
    point ``at``: the backward ``graph`` and the value of f and of each partial there.
    """

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    names: tuple[tuple[sp.Symbol, sp.Expr], ...]
    steps: tuple[Step, ...]
    partials: tuple[sp.Expr, ...]
    at: dict[str, float] | None = None
    graph: Graph | None = None
    value: float | None = None
    gradient_value: tuple[float | None, ...] | None = None
    notes: tuple[str, ...] = ()
    exit_code: int = 0

    def steps_for(self, variable: sp.Symbol | str) -> tuple[Step, ...]:
        """The derivation of one partial."""
        name = getattr(variable, "name", variable)
        return tuple(s for s in self.steps if s.variable.name == name)


# ---------------------------------------------------------------- plot


@dataclass(frozen=True)
class Kink:
    """A point of the plotted range where f has a kink (``jump`` False) or jumps."""

    x: float
    value: float | None
    jump: bool


@dataclass(frozen=True)
class Curve:
    """Sampled values of one function over ``PlotData.x``: ``label`` is ``f`` or ``df/dx``.

    ``values[i]`` is None where the function is not a finite real number; ``breaks`` lists
    each ``i`` where a line from sample ``i`` to ``i + 1`` would bridge a pole, a gap of the
    domain or a jump, and must not be drawn.
    """

    label: str
    expression: sp.Expr
    values: tuple[float | None, ...]
    breaks: tuple[int, ...] = ()

    def pieces(self, x: tuple[float, ...]) -> list[tuple[list[float], list[float]]]:
        """The runs of the curve that may be drawn as one line: ``[(xs, ys), ...]``."""
        runs: list[tuple[list[float], list[float]]] = []
        current: tuple[list[float], list[float]] = ([], [])
        cut = set(self.breaks)
        for i, (xi, yi) in enumerate(zip(x, self.values)):
            if yi is None:
                if current[0]:
                    runs.append(current)
                current = ([], [])
                continue
            current[0].append(xi)
            current[1].append(yi)
            if i in cut:
                runs.append(current)
                current = ([], [])
        if current[0]:
            runs.append(current)
        return runs


@dataclass(frozen=True)
class PlotData:
    """f and its partial by one variable ``wrt[0]`` sampled over ``x`` (``at`` fixes the
    other variables), the kinks in the range, and what the picture shows (``notes``)."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    at: dict[str, float]
    x: tuple[float, ...]
    curves: tuple[Curve, ...]
    kinks: tuple[Kink, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldData:
    """f and its gradient over a grid of two variables: ``f[j][i]`` is at ``(x[i], y[j])``;
    None where not a finite real number."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, sp.Symbol]
    at: dict[str, float]
    x: tuple[float, ...]
    y: tuple[float, ...]
    f: tuple[tuple[float | None, ...], ...]
    gradient: tuple[tuple[tuple[float | None, ...], ...], tuple[tuple[float | None, ...], ...]]
    partials: tuple[sp.Expr, sp.Expr]
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- descend

CONVERGED, DIVERGED, STEP_LIMIT = "converged", "diverged", "step limit"
LEFT_DOMAIN = "left domain"  # a step went where f is undefined (log(x) at x < 0)
DESCENT_EXIT_CODES = {CONVERGED: 0, DIVERGED: 1, STEP_LIMIT: 1, LEFT_DOMAIN: 1}


@dataclass(frozen=True)
class DescentStep:
    """The state before update ``step``: the point, f and the gradient there."""

    step: int
    point: tuple[float, ...]
    value: float
    gradient: tuple[float, ...]
    gradient_norm: float


@dataclass(frozen=True)
class Descent:
    """Gradient descent on ``expression`` from ``start``: every state in ``path`` and a
    ``verdict`` (converged, diverged, left domain or step limit)."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    partials: tuple[sp.Expr, ...]
    optimizer: str
    lr: float
    momentum: float | None
    steps: int
    tol: float
    start: dict[str, float]
    path: tuple[DescentStep, ...]
    verdict: str
    notes: tuple[str, ...] = ()

    @property
    def final(self) -> DescentStep:
        return self.path[-1]

    @property
    def point(self) -> dict[str, float]:
        return {v.name: x for v, x in zip(self.wrt, self.final.point)}

    @property
    def exit_code(self) -> int:
        return DESCENT_EXIT_CODES[self.verdict]


@dataclass(frozen=True)
class Picture:
    """A picture written to ``path`` (``format`` png, svg or pdf) of ``what``: plot data, a
    field, or a descent path."""

    path: str
    format: str
    what: object
