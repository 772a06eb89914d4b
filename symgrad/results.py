"""Every result symgrad computes: small frozen dataclasses, nouns to the library's verbs.

The printers (symgrad.printing) turn each into text, JSON, LaTeX or a terminal picture; a
result carries an ``exit_code`` where it has a verdict of its own (a check, a value that is not
defined).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy as sp

PASS, MISMATCH, UNVERIFIABLE = "pass", "mismatch", "unverifiable"
EXIT_CODES = {PASS: 0, MISMATCH: 1, UNVERIFIABLE: 4}
SYMBOLIC, NUMERIC = "symbolic", "numeric"
"""How a pass was reached: proved equal, or equal at every point tried."""


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


@dataclass(frozen=True)
class CheckResult:
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
