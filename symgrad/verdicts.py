"""The results of numeric work: a gradient at a point, a check's verdict on a gradient or a claim.

They live apart from numeric.py and check.py (which import numpy) so that render.py can
register their renderers without importing numpy: ``symgrad grad`` in a pipe must not load it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from symgrad.differentiate import Gradient

PASS, MISMATCH, UNVERIFIABLE = "pass", "mismatch", "unverifiable"
EXIT_CODES = {PASS: 0, MISMATCH: 1, UNVERIFIABLE: 4}


def point_text(point: Mapping) -> str:
    """``w=1, x=2.5``: a point as a person reads it."""
    return ", ".join(f"{getattr(k, 'name', k)}={fmt_number(v)}" for k, v in point.items())


def fmt_number(value: float | None) -> str:
    """Shortest text of a float (``2.0`` is ``2``); None is ``undefined``."""
    if value is None:
        return "undefined"
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"


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
