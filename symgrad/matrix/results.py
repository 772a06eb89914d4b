"""Results of matrix calculus: small frozen dataclasses a printer shows without computing.

Every result carries ``shapes`` (each variable's shape) so that a printer can show them
(``shapes`` in JSON, each partial's shape). A shape is ``(rows, cols)``: a vector of ``n`` is
``("n", 1)``, a scalar ``(1, 1)``; ``symgrad.matrix.shapes.shape_json`` writes it as
``["n"]`` / ``[]``. Numbers in a variable's shape are nested lists (a vector is a flat list,
a scalar a float), ``None`` where a value is not finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from symgrad.matrix.expr import Node
from symgrad.matrix.shapes import Shape
from symgrad.verdicts import EXIT_CODES, PASS, UNVERIFIABLE

Nested = Any  # a float, a list of floats or a list of lists of floats (None where undefined)


@dataclass(frozen=True)
class MatrixGradient:
    """The gradient of the scalar ``expression``: ``partials[i]`` is dL/d ``wrt[i]``, in
    the shape of that variable (``partial_shapes[i]``), in matrix notation."""

    expression: Node
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    partials: tuple[Node, ...]
    cse: Optional[tuple[tuple[str, Node], ...]] = None
    """Shared subexpressions ``(name, definition)`` in order, that ``partials`` may use;
    None unless asked for (``cse=True``)."""
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Node:
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

    expression: Node
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    blocks: tuple[Node, ...]
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
class MatrixClaimVerdict:
    """Whether ``claim`` is dL/d ``variable`` (``derivative``), entry by entry.

    ``method`` says how a pass was decided (``symbolic``: the same expression once both are
    in canonical form; ``numeric``: equal at every point tried). A mismatch carries the
    point (``counterexample``), the ``entry`` (row, column) that differs most, both values
    there, their difference, the finite difference there and, where cheap, a ``hint``
    (a sign error, a constant factor, a transpose).
    """

    variable: str
    claim: Node
    derivative: Node
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

    expression: Node
    shapes: Mapping[str, Shape]
    wrt: tuple[str, ...]
    arguments: tuple[str, ...]
    target: str
    name: str
    source: str
