"""Every result symgrad computes: small frozen dataclasses, nouns to the library's verbs.

The printers (symgrad.printing) turn each into text, JSON, LaTeX or a terminal picture; a
result carries an ``exit_code`` where it has a verdict of its own (a check, a value that is not
defined).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import sympy as sp

PASS, MISMATCH, UNVERIFIABLE = "pass", "mismatch", "unverifiable"
EXIT_CODES = {PASS: 0, MISMATCH: 1, UNVERIFIABLE: 4}


@dataclass(frozen=True)
class Gradient:
    """The gradient of ``expression``: ``partials[i]`` is d expression / d ``wrt[i]``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    partials: tuple[sp.Expr, ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions ``(name, definition)``, in order, that ``partials`` may use;
    None unless asked for (``cse=True``)."""

    def __getitem__(self, name: str) -> sp.Expr:
        """The partial derivative for the variable called ``name``."""
        for var, partial in zip(self.wrt, self.partials):
            if var.name == name:
                return partial
        raise KeyError(name)


@dataclass(frozen=True)
class Hessian:
    """Second partials of ``expression``: ``matrix[i][j]`` is d2 f / d wrt[i] d wrt[j]."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions that the entries may use (``cse=True``), as for a Gradient."""


@dataclass(frozen=True)
class Jacobian:
    """First partials of a vector: ``matrix[i][j]`` is d outputs[i] / d wrt[j]."""

    expression: sp.Expr  # an ImmutableMatrix column, or a scalar (a Jacobian of one row)
    wrt: tuple[sp.Symbol, ...]
    matrix: tuple[tuple[sp.Expr, ...], ...]
    cse: Optional[tuple[tuple[sp.Symbol, sp.Expr], ...]] = None
    """Shared subexpressions that the entries may use (``cse=True``), as for a Gradient."""

    @property
    def outputs(self) -> tuple[sp.Expr, ...]:
        e = self.expression
        return tuple(e) if isinstance(e, sp.MatrixBase) else (e,)


@dataclass(frozen=True)
class Derivative:
    """One higher or mixed partial: ``expression`` differentiated by each of ``wrt`` in turn."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]  # with repeats: (x, x, y) is d3 f / dx2 dy
    derivative: sp.Expr

    @property
    def order(self) -> int:
        return len(self.wrt)


@dataclass(frozen=True)
class Code:
    """Python source defining ``name(*arguments) -> (value, gradient)``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    arguments: tuple[sp.Symbol, ...]
    target: str
    name: str
    source: str


@dataclass(frozen=True)
class GradientAt:
    """``gradient`` evaluated at ``at``: the value and each partial (None where undefined)."""

    gradient: Gradient
    at: dict[str, float]
    value: float | None
    gradient_value: tuple[float | None, ...]
    notes: tuple[str, ...]
    exit_code: int = 0


@dataclass(frozen=True)
class ClaimVerdict:
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


@dataclass(frozen=True)
class CheckResult:
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


@dataclass(frozen=True)
class ValuesAt:
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

    ``method`` says how a pass was decided (``symbolic``: the same expression once both are
    in canonical form; ``numeric``: equal at every point tried). A mismatch carries the
    point (``counterexample``), the ``entry`` (row, column) that differs most, both values
    there, their difference, the finite difference there and, where cheap, a ``hint``
    (a sign error, a constant factor, a transpose).
    """

    variable: str
    claim: Shaped
    derivative: Shaped
    status: str
    method: Optional[str] = None
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
