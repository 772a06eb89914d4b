"""Verdicts: the symbolic gradient against central finite differences, and claimed derivatives
against the symbolic ones.

A check evaluates f and every partial in one generated numpy function (shared
subexpressions), then f at ``x +- h`` along each variable: ``2*len(wrt) + 2`` vectorised
evaluations for any number of points (a few more for the rare points that need a retry).
Points come from the user (``at``) or are drawn at random inside the expression's domain:
where f and its partials are real and finite and no kink lies within a finite-difference
step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import sympy as sp

from symgrad.derive.partial import ExprLike, WrtLike, as_expr, gradient, variables
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.notation import expr_text
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.domain import (
    domain_conditions,
    domain_notes,
    kink_report,
    kinks,
    violated,
)
from symgrad.numeric.hints import equivalent, hint
from symgrad.numeric.points import point_values
from symgrad.results import (
    MISMATCH,
    PASS,
    UNVERIFIABLE,
    CheckResult,
    ClaimVerdict,
    Gradient,
)

DEFAULT_RTOL = 1e-3  # those of torch.autograd.gradcheck
DEFAULT_ATOL = 1e-5
DEFAULT_POINTS = 100
MAX_POINTS = 1_000_000
STEP = 6e-6  # h = STEP * max(1, |x|): balances truncation O(h^2) against rounding O(eps/h)
# a claim is compared with the symbolic derivative, not with finite differences: both are
# exact formulas, so the tolerance is only for rounding
CLAIM_RTOL = 1e-7
CLAIM_ATOL = 1e-9
NICE_VALUES = (1.0, 2.0, -1.0, 0.5, 3.0, -2.0, 1.5, -0.5)
_EPS = np.finfo(float).eps


# ---------------------------------------------------------------- the library


def check_gradient(
    expr: ExprLike,
    wrt: WrtLike = None,
    *,
    at: Mapping[str, float] | str | None = None,
    points: int = DEFAULT_POINTS,
    seed: int = 0,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> CheckResult:
    """The symbolic gradient of ``expr`` against central finite differences.

    At the point ``at``, or at ``points`` random points inside the domain (drawn with
    ``seed``). ``status`` is pass, mismatch or unverifiable (a kink, outside the domain).

    >>> check_gradient("y*log(w*x+b)", "w,b", at="w=1,x=2,y=3,b=0.5").status
    'pass'
    """
    return check_claim(expr, (), wrt, at=at, points=points, seed=seed, rtol=rtol, atol=atol)


def check_claim(
    expr: ExprLike,
    claims: Sequence[ExprLike],
    wrt: WrtLike = None,
    *,
    at: Mapping[str, float] | str | None = None,
    points: int = DEFAULT_POINTS,
    seed: int = 0,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> CheckResult:
    """Whether each of ``claims`` (one per variable of ``wrt``, in order) is the partial derivative.

    A claim passes when it simplifies to the derivative or equals it at every point tried;
    otherwise the verdict carries a counterexample and, where cheap, what differs.

    >>> r = check_claim("(y - (x*w + b))^2", ["2*(y - x*w - b)*x"], "w")
    >>> r.status, r.claims[0].hint
    ('mismatch', 'off by a factor of -1 (a sign error)')
    """
    _check_options(points, rtol, atol)
    grad = gradient(as_expr(expr), wrt)
    claimed = _claims(grad, claims)
    # a --wrt variable that does not appear is a variable too: f is constant along it
    symbols = tuple(dict.fromkeys([*variables(grad.expression), *grad.wrt]))
    checker = _Checker(grad, claimed, symbols, rtol, atol)
    if at is not None:
        # f does not depend on a --wrt variable that does not appear: any value will do
        values = {**dict.fromkeys(grad.wrt, 0.0), **point_values(grad.expression, at, grad.wrt)}
        return checker.at_point(values)
    return checker.at_random(points, seed)


def _check_options(points: int, rtol: float, atol: float) -> None:
    if not 1 <= points <= MAX_POINTS:
        raise InputError(f"--points must be between 1 and {MAX_POINTS:,}, not {points}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"--{name} must be a finite number >= 0, not {value}")


def _claims(grad: Gradient, claims: Sequence[ExprLike]) -> tuple[sp.Expr, ...]:
    claimed = []
    for claim in claims:
        try:
            claimed.append(as_expr(claim))
        except ParseError as err:
            raise ParseError(
                f"in --claim {str(claim)!r}: {err.message}", column=err.column, source=err.source
            ) from None
    if claimed and len(claimed) != len(grad.wrt):
        names = ", ".join(v.name for v in grad.wrt)
        raise InputError(
            f"got {len(claimed)} --claim for {len(grad.wrt)} variables ({names}): give one "
            "claim per --wrt variable, in the same order"
        )
    have = set(grad.expression.free_symbols) | set(grad.wrt)
    for claim in claimed:
        extra = sorted(s.name for s in claim.free_symbols - have)
        if extra:
            listed = ", ".join(sorted(s.name for s in have))
            raise VariableError(
                f"the claim {expr_text(claim)} uses {', '.join(extra)}, which is not in "
                f"{expr_text(grad.expression)}; its variables are {listed}"
            )
    return tuple(claimed)


# ---------------------------------------------------------------- the work


@dataclass
class _Evaluation:
    """f, its partials and the claims at points (columns), and which points are usable."""

    points: np.ndarray  # (len(symbols), n)
    value: np.ndarray  # (n,)
    partials: np.ndarray  # (len(wrt), n)
    claims: np.ndarray  # (len(claims), n)
    fd: np.ndarray  # (len(wrt), n) central differences
    rounding: np.ndarray | None  # (len(wrt), n) how far rounding in f can move them
    ok: np.ndarray  # (n,) bool: f, partials finite; no kink within a step

    def take(self, which) -> _Evaluation:
        """The points selected by ``which`` (a mask or a slice)."""
        return _Evaluation(
            *(None if (a := getattr(self, f.name)) is None else a[..., which] for f in fields(self))
        )

    @staticmethod
    def join(parts: Sequence[_Evaluation]) -> _Evaluation:
        if len(parts) == 1:
            return parts[0]

        def joined(name):
            arrays = [getattr(p, name) for p in parts]
            return None if arrays[0] is None else np.concatenate(arrays, axis=-1)

        return _Evaluation(*(joined(f.name) for f in fields(_Evaluation)))


class _Checker:
    """One expression's gradient and claims, compiled once, checked at many points."""

    def __init__(self, grad, claims, symbols, rtol, atol):
        self.grad = grad
        self.claims = claims
        self.symbols = list(symbols)
        self.rtol = rtol
        self.atol = atol
        self.columns = [self.symbols.index(v) for v in grad.wrt]
        self.kinks = kinks(grad.expression, grad.partials)
        self.main = compile_exprs([grad.expression, *grad.partials, *claims], self.symbols)
        self.f = compile_exprs([grad.expression, *(k.subject for k in self.kinks)], self.symbols)

    # ------------------------------------------------------------ evaluation

    def evaluate(
        self, points: np.ndarray, step: float = STEP, *, rounding: bool = True, drop: bool = False
    ) -> _Evaluation:
        """f, partials and claims at ``points``, then central differences along each variable.

        With ``drop``, points where f or a partial is not finite are dropped before the
        finite differences are taken (and the result keeps only usable points); without it,
        the result is aligned with ``points``. ``rounding`` adds the rounding bound of each
        difference (only needed where a first comparison fails).
        """
        m = len(self.grad.wrt)
        out = self.main(*points)
        value, partials, claims = out[0], out[1 : m + 1], out[m + 1 :]
        ok = np.isfinite(value) & np.all(np.isfinite(partials), axis=0)
        signs = None
        if self.kinks:
            signs = np.sign(self.f(*points)[1:])
            ok &= np.all(signs != 0, axis=0)
        if drop and not ok.all():
            points, value, partials, claims = (
                a[..., ok] for a in (points, value, partials, claims)
            )
            signs = None if signs is None else signs[:, ok]
            ok = ok[ok]
        fd = np.empty_like(partials)
        bound = np.empty_like(partials) if rounding else None
        for i, col in enumerate(self.columns):
            fd[i], stencil_ok, b = self._central(points, col, step, value, signs, rounding)
            ok &= stencil_ok
            if rounding:
                bound[i] = b
        ev = _Evaluation(points, value, partials, claims, fd, bound, ok)
        return ev.take(ok) if drop and not ok.all() else ev

    def _central(self, points, col, step, value, signs, rounding):
        """Central difference along one variable, where the stencil stays on one branch, and
        (if asked) how far rounding in f can move it."""
        x = points[col]
        h = step * np.maximum(1.0, np.abs(x))
        up, down = list(points), list(points)  # rows are views: only one column moves
        up[col] = x + h
        down[col] = x - h
        # divide by the step actually taken: x + h rounds, and (x + h) - (x - h) is what the
        # difference spans (the same idea as making h exactly representable)
        width = up[col] - down[col]
        f_up, f_down = self.f(*up), self.f(*down)
        ok = np.isfinite(f_up[0]) & np.isfinite(f_down[0])
        if signs is not None:
            # a kink between x - h and x + h: the difference quotient means nothing there
            ok &= np.all(np.sign(f_up[1:]) == signs, axis=0)
            ok &= np.all(np.sign(f_down[1:]) == signs, axis=0)
        bound = None
        with np.errstate(all="ignore"):
            fd = (f_up[0] - f_down[0]) / width
            if rounding:
                # rounding in f, magnified by 1/h: no step size can beat it
                bound = 64 * _EPS * (np.abs(f_up[0]) + np.abs(f_down[0]) + np.abs(value)) / width
        return fd, ok, bound

    def compare(self, ev: _Evaluation) -> tuple[np.ndarray, np.ndarray]:
        """Absolute error of the partials against finite differences (the best of a few
        steps where the first disagrees) and the tolerance at each point."""
        err = np.abs(ev.fd - ev.partials)
        tol = self.atol + self.rtol * np.abs(ev.partials)
        if ev.rounding is not None:
            tol += np.nan_to_num(ev.rounding)
        bad = np.any(err > tol, axis=0) & ev.ok
        if np.any(bad):
            sub = ev.points[:, bad]
            if ev.rounding is None:
                tol[:, bad] += np.nan_to_num(self.evaluate(sub).rounding)
            # near a pole truncation dominates, near cancellation rounding does: retry the
            # disagreeing points with smaller and larger steps, each with Richardson's
            # extrapolation (4 D(h/2) - D(h)) / 3, and keep the best agreement
            for factor in (1 / 8, 8.0, 1 / 64, 64.0, 1 / 512, 1 / 4096, 1 / 32768):
                if np.all(err[:, bad] <= tol[:, bad]):
                    break
                wide = self.evaluate(sub, STEP * factor, rounding=False)
                half = self.evaluate(sub, STEP * factor / 2, rounding=False)
                ok = wide.ok & half.ok
                richardson = (4 * half.fd - wide.fd) / 3
                for fd in (half.fd, richardson):
                    retry = np.where(ok, np.abs(fd - wide.partials), np.inf)
                    err[:, bad] = np.minimum(err[:, bad], retry)
        return err, tol

    # ------------------------------------------------------------ one point

    def at_point(self, values: Mapping[sp.Symbol, float]) -> CheckResult:
        point = np.array([[values[s]] for s in self.symbols], dtype=float).reshape(
            len(self.symbols), 1
        )
        at = {s.name: float(values[s]) for s in self.symbols}
        ev = self.evaluate(point)
        notes = list(domain_notes(self.grad))
        kink_notes, _ = kink_report(self.grad, values)
        if kink_notes or not ev.ok[0]:
            reasons = kink_notes or self._why_not(point[:, 0], ev)
            claims = tuple(self._claim_unverifiable(i) for i in range(len(self.claims)))
            return self._result(UNVERIFIABLE, 0, at=at, claims=claims, notes=reasons + notes)
        err, tol = self.compare(ev)
        claims = tuple(self._decide(i, ev, np.array([True])) for i in range(len(self.claims)))
        return self._finish(ev, err, tol, claims, notes, at=at)

    def _why_not(self, point: np.ndarray, ev: _Evaluation) -> list[str]:
        conds = domain_conditions(self.grad.expression)
        reasons = violated(conds, self.symbols, point)
        if not reasons:
            conds = domain_conditions(self.grad.expression, *self.grad.partials)
            reasons = violated(conds, self.symbols, point)
        if reasons:
            return reasons
        if not (np.isfinite(ev.value[0]) and np.all(np.isfinite(ev.partials[:, 0]))):
            return ["f or a partial is not a finite real number here"]
        near = ", ".join(f"{expr_text(k.subject)} = 0" for k in self.kinks)
        if near:
            return [
                f"a kink ({near}) lies within one finite-difference step of this point; "
                "the difference quotient would straddle it"
            ]
        return ["f is not finite within one finite-difference step of this point"]

    # ------------------------------------------------------------ random points

    def at_random(self, n: int, seed: int) -> CheckResult:
        rng = np.random.default_rng(seed)
        k = len(self.symbols)
        notes = list(domain_notes(self.grad))
        kept: list[_Evaluation] = []
        found = tried = 0
        rate = 1.0
        # a wide box first, then a narrow one (asin), then wider ones (sqrt(x - 20));
        # each batch is sized by the share of points the last one found inside the domain
        for scale in (3.0, 1.0, 30.0, 300.0):
            size = min(int((n - found) / max(rate, 0.05) * 1.2) + 16, 20 * n + 16)
            batch = rng.uniform(-scale, scale, size=(k, size))
            if tried == 0:  # a counterexample at w=1, x=2 reads better than at w=0.8123...
                nice = min(n, 16)
                batch[:, :nice] = rng.choice(NICE_VALUES, size=(k, nice))
            tried += size
            ev = self.evaluate(batch, rounding=False, drop=True)
            kept.append(ev)
            rate = max(ev.points.shape[1] / size, 1e-3)
            found += ev.points.shape[1]
            if found >= n:
                break
        if found == 0:
            notes.insert(
                0,
                f"found no point where f and its gradient are real and finite (tried {tried:,} "
                "points with values up to 300); check at a point with --at",
            )
            claims = tuple(self._claim_unverifiable(i) for i in range(len(self.claims)))
            return self._result(UNVERIFIABLE, 0, claims=claims, notes=notes)
        ev = _Evaluation.join(kept).take(slice(0, n))
        if found < n:
            notes.insert(0, f"only {found:,} of {tried:,} random points were inside the domain")
        err, tol = self.compare(ev)
        claims = tuple(self._decide(i, ev, ev.ok) for i in range(len(self.claims)))
        return self._finish(ev, err, tol, claims, notes)

    # ------------------------------------------------------------ verdicts

    def _finish(self, ev, err, tol, claims, notes, at=None) -> CheckResult:
        usable = ev.ok
        err = err[:, usable]
        tol = tol[:, usable]
        partials = ev.partials[:, usable]
        ratio = err / tol
        worst = int(np.unravel_index(np.argmax(ratio), ratio.shape)[1])
        rel = err / np.maximum(np.abs(partials), self.atol if self.atol > 0 else 1e-300)
        status = gradient_status = MISMATCH if np.any(err > tol) else PASS
        statuses = {c.status for c in claims}
        if MISMATCH in statuses:
            status = MISMATCH
        elif UNVERIFIABLE in statuses and status == PASS:
            status = UNVERIFIABLE
        if status == MISMATCH and MISMATCH not in statuses:
            notes = [
                "the symbolic gradient disagrees with finite differences: this is a bug in "
                "symgrad, please report it with the input",
                *notes,
            ]
        points = ev.points[:, usable]
        return self._result(
            status,
            int(usable.sum()),
            gradient_status=gradient_status,
            max_abs_error=float(np.max(err)),
            max_rel_error=float(np.max(rel)),
            worst_point={s.name: float(points[j, worst]) for j, s in enumerate(self.symbols)},
            at=at,
            claims=claims,
            notes=notes,
        )

    def _result(self, status, points, **fields) -> CheckResult:
        notes = tuple(dict.fromkeys(fields.pop("notes", ())))
        return CheckResult(
            gradient=self.grad,
            status=status,
            points=points,
            rtol=self.rtol,
            atol=self.atol,
            notes=notes,
            **fields,
        )

    def _claim_unverifiable(self, i: int) -> ClaimVerdict:
        return ClaimVerdict(self.grad.wrt[i], self.claims[i], self.grad.partials[i], UNVERIFIABLE)

    def _decide(self, i: int, ev: _Evaluation, usable: np.ndarray) -> ClaimVerdict:
        """Claim i against the symbolic partial at the usable points."""
        var, claim, true = self.grad.wrt[i], self.claims[i], self.grad.partials[i]
        c, t = ev.claims[i], ev.partials[i]
        base = usable & np.isfinite(t)
        if not np.any(base):
            return ClaimVerdict(var, claim, true, UNVERIFIABLE)
        both = base & np.isfinite(c)
        with np.errstate(invalid="ignore"):
            wrong = both & (
                np.abs(c - t) > CLAIM_ATOL + CLAIM_RTOL * np.maximum(np.abs(c), np.abs(t))
            )
        if not np.any(both):
            wrong = base  # the claim is nowhere a real number where the derivative is
        if not np.any(wrong):
            method = "symbolic" if equivalent(claim, true) else "numeric"
            return ClaimVerdict(var, claim, true, PASS, method=method, points=int(both.sum()))
        j = int(np.argmax(wrong))  # the first: nice points come first
        claimed_value = _finite(c[j])
        true_value = float(t[j])
        return ClaimVerdict(
            var,
            claim,
            true,
            MISMATCH,
            points=int(base.sum()),
            counterexample={s.name: float(ev.points[k, j]) for k, s in enumerate(self.symbols)},
            claimed_value=claimed_value,
            true_value=true_value,
            difference=None if claimed_value is None else claimed_value - true_value,
            finite_difference=_finite(ev.fd[i, j]) if ev.ok[j] else None,
            hint=hint(claim, true, c[both], t[both]),
        )


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
