"""Verdicts: the symbolic gradient against central finite differences, and claimed derivatives
against the symbolic ones.

A claim is first tried symbolically (is it the derivative, as written or expanded?), then
compared with the derivative at points that look where the expression lives
(``symgrad.numeric.sampling``: many scales, both signs, both sides of every kink, turn and
domain edge). Floats decide almost every point; where they cannot (a disagreement that could
be rounding, a value that overflowed or rounded to 0) the point is decided again with 50
digits (``symgrad.numeric.precise``). A claim that passes is then tried with ``simplify``: the
verdict says whether it was proved or agrees at N points.

The gradient's own check evaluates f and every partial in one generated numpy function (shared
subexpressions), then f at ``x +- h`` along each variable: ``2*len(wrt) + 2`` vectorised
evaluations for any number of points, a few more for the points that need a retry. The step
never straddles a kink or a domain edge: near one it shrinks to a quarter of the distance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import mpmath
import numpy as np
import sympy as sp

from symgrad.budget import within
from symgrad.derive.partial import ExprLike, WrtLike, as_expr, gradient, variables
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.notation import counted, expr_text
from symgrad.numeric import precise
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.domain import (
    domain_conditions,
    domain_notes,
    kink_report,
    kinks,
    violated,
)
from symgrad.numeric.hints import equivalent, hint
from symgrad.numeric.points import exact_point
from symgrad.numeric.sampling import features, near_features, spread
from symgrad.parsing import parse_input
from symgrad.results import (
    MISMATCH,
    NUMERIC,
    PASS,
    SYMBOLIC,
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
# A claim is compared with the symbolic derivative, not with finite differences: both are
# exact formulas. Floats that agree to 1e-10 relative agree; any other point is decided with
# 50 digits, where two formulas agree when their difference is rounding (it shrinks with
# more digits) or below 1e-12 relative (a decimal literal is a double: 0.3 is not 3*0.1).
CLAIM_AGREE = 1e-10
PRECISE_AGREE = 1e-12
FD_PRECISE_AGREE = 1e-8
# the float tolerances of the matrix checker (symgrad.numeric.matrix_check), which compares
# whole matrices entry by entry in floats
CLAIM_RTOL = 1e-7
CLAIM_ATOL = 1e-9
MAX_DECIDED = 24
"""Disagreeing points decided with high precision, per claim and for the gradient."""
MAX_EDGES = 64
"""Kinks and domain edges the finite-difference step keeps away from (more: points near
them are dropped instead)."""
PRECISE_STEPS = ((60, 25), (120, 50), (300, 120), (1000, 400))
"""(digits, -log10 of the step) tried in turn for a central difference floats cannot
decide, until two in a row agree."""
QUICK_PROOF = 0.25  # seconds: the claim is the derivative as written or once expanded
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
    ``seed``) plus points near its kinks, turns and edges. ``status`` is pass, mismatch or
    unverifiable (a kink, a pole, outside the domain).

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

    A claim passes when it is proved equal to the derivative (``proof`` "symbolic") or equals
    it at every point tried (``proof`` "numeric"); otherwise the verdict carries a
    counterexample and, where cheap, what differs.

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
        values, exact = exact_point(grad.expression, at, grad.wrt)
        values = {**dict.fromkeys(grad.wrt, 0.0), **values}
        exact = {**dict.fromkeys(grad.wrt, sp.S.Zero), **exact}
        return checker.at_point(values, exact)
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
        try:  # a claim pasted as LaTeX is read as LaTeX, as EXPR is
            claimed.append(parse_input(claim) if isinstance(claim, str) else as_expr(claim))
        except ParseError as err:
            raise ParseError(
                f"in --claim {str(claim)!r}: {err.message}", column=err.column, source=err.source
            ) from None
    if claimed and len(claimed) != len(grad.wrt):
        names = ", ".join(v.name for v in grad.wrt)
        raise InputError(
            f"got {counted(len(claimed), 'claim')} for {counted(len(grad.wrt), 'variable')} "
            f"({names}): give one --claim per --wrt variable, in the same order"
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
    ok: np.ndarray  # (n,) bool: f, partials finite; a stencil that stays on one branch

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
        edges = [e for c in domain_conditions(grad.expression) for e in c.edges()]
        self.edges = edges if len(edges) + len(self.kinks) <= MAX_EDGES else []
        self.main = compile_exprs([grad.expression, *grad.partials, *claims], self.symbols)
        subjects = [k.subject for k in self.kinks] + self.edges
        self.f = compile_exprs([grad.expression, *subjects], self.symbols)
        self.proved = [_quick_proof(c, t) for c, t in zip(claims, grad.partials)]

    # ------------------------------------------------------------ evaluation

    def evaluate(
        self,
        points: np.ndarray,
        scale: float = 1.0,
        *,
        rounding: bool = True,
        drop: bool = False,
    ) -> _Evaluation:
        """f, partials and claims at ``points``, then central differences along each variable
        with the step ``scale * STEP * max(1, |x|)``, shrunk where a kink or an edge is closer.

        With ``drop``, points where f or a partial is not finite are dropped before the
        finite differences are taken (and the result keeps only usable points); without it,
        the result is aligned with ``points``. ``rounding`` adds the rounding bound of each
        difference (only needed where a first comparison fails).
        """
        m = len(self.grad.wrt)
        out = self.main(*points)
        value, partials, claims = out[0], out[1 : m + 1], out[m + 1 :]
        ok = np.isfinite(value) & np.all(np.isfinite(partials), axis=0)
        center = self.f(*points)
        if self.kinks:
            ok &= np.all(center[1 : 1 + len(self.kinks)] != 0, axis=0)
        if drop and not ok.all():
            points, value, partials, claims, center = (
                a[..., ok] for a in (points, value, partials, claims, center)
            )
            ok = ok[ok]
        fd = np.empty_like(partials)
        bound = np.empty_like(partials) if rounding else None
        for i, col in enumerate(self.columns):
            fd[i], stencil_ok, b = self._difference(points, col, scale, center, rounding)
            ok &= stencil_ok
            if rounding:
                bound[i] = b
        ev = _Evaluation(points, value, partials, claims, fd, bound, ok)
        return ev.take(ok) if drop and not ok.all() else ev

    def _difference(self, points, col, scale, center, rounding):
        """The central difference along one variable; where its stencil straddles a kink or
        leaves the domain, again with a step of a quarter of the distance to it."""
        h = scale * STEP * np.maximum(1.0, np.abs(points[col]))
        fd, ok, bound, up, down = self._central(points, col, h, center, rounding)
        retry = ~ok & np.isfinite(center[0])
        if (self.kinks or self.edges) and np.any(retry):
            # distance to each kink or edge: |g| over its slope, seen from the stencil
            g, g_up, g_down = center[1:, retry], up[1:, retry], down[1:, retry]
            with np.errstate(all="ignore"):
                slope = np.fmax(np.abs(g_up - g), np.abs(g - g_down)) / h[retry]
                distance = np.nanmin(np.where(slope > 0, np.abs(g) / slope, np.inf), axis=0)
            smaller = np.where(np.isfinite(distance) & (distance > 0), distance / 4, 0.0)
            closer = np.minimum(h[retry], smaller * min(1.0, scale))
            sub = points[:, retry]
            again = self._central(sub, col, closer, center[:, retry], rounding)
            fd[retry], ok[retry] = again[0], again[1] & (closer > 0)
            if rounding:
                bound[retry] = again[2]
        return fd, ok, bound

    def _central(self, points, col, h, center, rounding):
        """Central difference along one variable with the steps ``h``, where the stencil
        stays on one branch, and (if asked) how far rounding in f can move it."""
        x = points[col]
        up, down = list(points), list(points)  # rows are views: only one column moves
        up[col] = x + h
        down[col] = x - h
        # divide by the step actually taken: x + h rounds, and (x + h) - (x - h) is what the
        # difference spans (the same idea as making h exactly representable)
        width = up[col] - down[col]
        f_up, f_down = self.f(*up), self.f(*down)
        ok = np.isfinite(f_up[0]) & np.isfinite(f_down[0]) & (width > 0)
        if len(center) > 1:
            # a kink, a pole or a domain edge between x - h and x + h: the difference
            # quotient means nothing there
            signs = np.sign(center[1:])
            ok &= np.all(np.sign(f_up[1:]) == signs, axis=0)
            ok &= np.all(np.sign(f_down[1:]) == signs, axis=0)
        bound = None
        with np.errstate(all="ignore"):
            fd = (f_up[0] - f_down[0]) / width
            if rounding:
                # rounding in f, magnified by 1/h: no step size can beat it
                bound = (
                    64 * _EPS * (np.abs(f_up[0]) + np.abs(f_down[0]) + np.abs(center[0])) / width
                )
        return fd, ok, bound, f_up, f_down

    def compare(self, ev: _Evaluation) -> tuple[np.ndarray, np.ndarray]:
        """Absolute error of the partials against finite differences (the best of a few
        steps where the first disagrees) and the tolerance at each point; a point where
        floats still disagree is decided with high precision."""
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
                wide = self.evaluate(sub, factor, rounding=False)
                half = self.evaluate(sub, factor / 2, rounding=False)
                ok = wide.ok & half.ok
                richardson = (4 * half.fd - wide.fd) / 3
                for fd in (half.fd, richardson):
                    retry = np.where(ok, np.abs(fd - wide.partials), np.inf)
                    err[:, bad] = np.minimum(err[:, bad], retry)
            self._decide_differences(ev, err, tol)
        return err, tol

    def _decide_differences(self, ev: _Evaluation, err: np.ndarray, tol: np.ndarray) -> None:
        """Points where floats still disagree with the gradient, decided with 50 digits: a
        central difference with a step of 1e-25 has no truncation or rounding error that
        matters. Agreement there means floats could not tell (a fast oscillation, a large
        cancellation); such points are dropped when there are more than can be decided."""
        bad = np.flatnonzero(np.any(err > tol, axis=0) & ev.ok)
        if not len(bad):
            return
        worst = bad[np.argsort(-np.max(err[:, bad] / tol[:, bad], axis=0), kind="stable")]
        confirmed = False
        for j in worst[:MAX_DECIDED]:
            point = self._point(ev.points[:, j])
            for i in np.flatnonzero(err[:, j] > tol[:, j]):
                found = self._precise_difference(point, int(i))
                if found is None:
                    ev.ok[j] = False  # not even 50 digits can difference here
                    break
                derivative, difference = found
                gap = abs(difference - derivative)
                if gap <= FD_PRECISE_AGREE * max(abs(derivative), abs(difference)):
                    err[i, j] = float(gap)
                else:
                    confirmed = True
        if not confirmed:
            ev.ok[worst[MAX_DECIDED:]] = False

    def _point(self, column) -> dict[sp.Symbol, float]:
        return {s: float(v) for s, v in zip(self.symbols, column)}

    def _precise_difference(self, point, i: int):
        """(partial i, its central difference) at ``point``, or None where they cannot be
        computed (undefined, on a kink or an edge, a cancellation beyond 1,000 digits).

        The step starts at 1e-25 and the digits at 60, both growing until two differences in
        a row agree: then neither truncation nor rounding matters. cosh(x)^2 - sinh(x)^2 at
        x = 100 cancels 86 digits before the first one that counts; sin(1.5^x) at x = 234
        turns 1e41 times faster than x. A kink or an edge closer than the step (relu at
        1e-300) shrinks it to a quarter of the distance.
        """
        var = self.grad.wrt[i]
        subjects = [k.subject for k in self.kinks] + self.edges
        previous = None
        for dps, tiny in PRECISE_STEPS:
            ctx = precise.context(dps)
            x = ctx.mpf(point[var])
            h = ctx.mpf(10) ** -tiny * max(1, abs(x))
            center = precise.evaluate(
                [self.grad.expression, self.grad.partials[i], *subjects], point, dps
            )
            if any(v is None for v in center):
                return None
            sides = self._sides(point, var, x, h, subjects, dps)
            if sides is None:
                return None
            signs = [ctx.sign(v) for v in center[2:]]
            if any([ctx.sign(v) for v in side[1:]] != signs for side in sides):
                # something within the step: a quarter of its distance, seen from the step
                distance = min(
                    (
                        abs(g) * 2 * h / abs(up - down)
                        for g, up, down in zip(center[2:], sides[0][1:], sides[1][1:])
                        if up != down
                    ),
                    default=ctx.zero,
                )
                h = distance / 4
                sides = self._sides(point, var, x, h, subjects, dps) if h > 0 else None
                if sides is None or any([ctx.sign(v) for v in side[1:]] != signs for side in sides):
                    return None
            found = (center[1], (sides[0][0] - sides[1][0]) / (2 * h))
            if previous is not None and all(
                abs(a - b) <= FD_PRECISE_AGREE * max(abs(a), abs(b), ctx.mpf(10) ** -dps)
                for a, b in zip(found, previous)
            ):
                return found
            previous = found
        return None

    def _sides(self, point, var, x, h, subjects, dps):
        """f and the subjects at x + h and at x - h; None where one is undefined."""
        sides = [
            precise.evaluate([self.grad.expression, *subjects], {**point, var: x + s}, dps)
            for s in (h, -h)
        ]
        return None if any(v is None for side in sides for v in side) else sides

    # ------------------------------------------------------------ one point

    def at_point(
        self, values: Mapping[sp.Symbol, float], exact: Mapping[sp.Symbol, sp.Expr]
    ) -> CheckResult:
        point = np.array([[values[s]] for s in self.symbols], dtype=float).reshape(
            len(self.symbols), 1
        )
        at = {s.name: float(values[s]) for s in self.symbols}
        notes = list(domain_notes(self.grad))
        kink_notes, _ = kink_report(self.grad, values, exact)
        reasons = kink_notes or self._outside(point[:, 0], exact)
        if reasons:
            return self._unverifiable(reasons + notes, at)
        ev = self.evaluate(point)
        if not ev.ok[0]:
            # floats cannot evaluate or difference here: 50 digits can, unless it is a
            # mathematical problem (a pole, a kink within any step)
            why = self._precise_at(ev)
            if why:
                return self._unverifiable(why + notes, at)
        err, tol = self.compare(ev)
        if not ev.ok[0]:
            return self._unverifiable(self._why_not(ev) + notes, at)
        claims = tuple(self._decide(i, ev, np.array([True])) for i in range(len(self.claims)))
        return self._finish(ev, err, tol, claims, notes, at=at)

    def _outside(self, point: np.ndarray, exact) -> list[str]:
        """Why f or a partial is undefined at the point (decided exactly), if it is."""
        conds = domain_conditions(self.grad.expression)
        reasons = violated(conds, self.symbols, point, exact)
        if not reasons:
            conds = domain_conditions(self.grad.expression, *self.grad.partials)
            reasons = violated(conds, self.symbols, point, exact)
        return reasons

    def _precise_at(self, ev: _Evaluation) -> list[str]:
        """Fill ``ev`` (one point) from 50 digits where floats could not; the reasons when
        nothing can be verified there."""
        point = self._point(ev.points[:, 0])
        found = precise.values([self.grad.expression, *self.grad.partials], point)
        if any(v is None for v in found):
            return ["f or a partial is not a finite real number here"]
        if not all(math.isfinite(v) for v in found):
            return ["f or a partial is too large for a floating-point number here"]
        ev.value[0] = found[0]
        ev.partials[:, 0] = found[1:]
        for i in range(len(self.grad.wrt)):
            got = self._precise_difference(point, i)
            if got is None:
                return self._why_not(ev)
            ev.fd[i, 0] = float(got[1])
        if ev.rounding is not None:
            ev.rounding[:, 0] = 0.0
        ev.ok[0] = True
        return []

    def _why_not(self, ev: _Evaluation) -> list[str]:
        near = ", ".join(f"{expr_text(k.subject)} = 0" for k in self.kinks)
        if near:
            return [
                f"a kink ({near}) lies within one finite-difference step of this point; "
                "the difference quotient would straddle it"
            ]
        return ["f is not finite within one finite-difference step of this point"]

    def _unverifiable(self, notes, at=None) -> CheckResult:
        claims = tuple(self._claim_unverifiable(i) for i in range(len(self.claims)))
        return self._result(UNVERIFIABLE, 0, at=at, claims=claims, notes=notes)

    # ------------------------------------------------------------ random points

    def at_random(self, n: int, seed: int) -> CheckResult:
        rng = np.random.default_rng(seed)
        k = len(self.symbols)
        notes = list(domain_notes(self.grad))
        kept: list[_Evaluation] = []
        found = tried = 0
        rate = 1.0
        # many scales first, then narrow boxes (asin), then wider ones (sqrt(x - 2000));
        # each batch is sized by the share of points the last one found inside the domain
        for scale in (None, 1.0, 30.0, 3000.0):
            size = min(int((n - found) / max(rate, 0.05) * 1.2) + 16, 20 * n + 16)
            if scale is None:
                batch = rng.uniform(-3.0, 3.0, size=(k, size))
                nice = min(n, 16)  # a counterexample at w=1, x=2 reads better than at 0.8123
                round_values = rng.choice(NICE_VALUES, size=(k, nice))
                batch = spread(rng, batch)
                batch[:, :nice] = round_values
            else:
                batch = rng.uniform(-scale, scale, size=(k, size))
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
                "points with values up to 3000); check at a point with --at",
            )
            return self._unverifiable(notes)
        ev = _Evaluation.join(kept).take(slice(0, n))
        special = self._near_features(rng)
        if special is not None:
            ev = _Evaluation.join([ev, special])
        if found < n:
            notes.insert(0, f"only {found:,} of {tried:,} random points were inside the domain")
        err, tol = self.compare(ev)
        claims = tuple(self._decide(i, ev, ev.ok) for i in range(len(self.claims)))
        return self._finish(ev, err, tol, claims, notes)

    def _near_features(self, rng) -> _Evaluation | None:
        subjects = features([self.grad.expression, *self.grad.partials, *self.claims])
        if not subjects:
            return None
        points = near_features(subjects, self.symbols, rng)
        if not points.shape[1]:
            return None
        ev = self.evaluate(points, rounding=False, drop=True)
        return ev if ev.points.shape[1] else None

    # ------------------------------------------------------------ verdicts

    def _finish(self, ev, err, tol, claims, notes, at=None) -> CheckResult:
        usable = ev.ok
        if not np.any(usable):
            return self._unverifiable(self._why_not(ev) + notes, at)
        err = err[:, usable]
        tol = tol[:, usable]
        partials = ev.partials[:, usable]
        ratio = err / tol
        worst = int(np.unravel_index(np.argmax(ratio), ratio.shape)[1])
        with np.errstate(all="ignore"):
            rel = err / np.maximum(np.abs(partials), self.atol if self.atol > 0 else 1e-300)
        status = gradient_status = MISMATCH if np.any(err > tol) else PASS
        statuses = {c.status for c in claims}
        if MISMATCH in statuses:
            status = MISMATCH
        elif UNVERIFIABLE in statuses and status == PASS:
            status = UNVERIFIABLE
        if status == MISMATCH and MISMATCH not in statuses:
            notes = [
                "the symbolic gradient disagrees with finite differences even at 60 digits: "
                "this is a bug in symgrad, please report it with the input",
                *notes,
            ]
        proof = None
        if status == PASS:
            proof = SYMBOLIC if claims and all(c.proof == SYMBOLIC for c in claims) else NUMERIC
        points = ev.points[:, usable]
        return self._result(
            status,
            int(usable.sum()),
            gradient_status=gradient_status,
            proof=proof,
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
        if self.proved[i]:
            return ClaimVerdict(var, claim, true, PASS, proof=SYMBOLIC, points=int(base.sum()))
        if not np.any(base):
            return ClaimVerdict(var, claim, true, UNVERIFIABLE)
        with np.errstate(all="ignore"):
            rel = np.abs(c - t) / np.maximum(np.abs(c), np.abs(t))
        rel = np.where(c == t, 0.0, np.where(np.isfinite(rel), rel, np.inf))
        doubtful = np.flatnonzero(base & (rel > CLAIM_AGREE))
        # the most readable first (round values, then coordinates near 1 and values that are
        # not tiny: a counterexample to show), then the largest disagreements
        order = list(
            dict.fromkeys(
                [
                    *self._readable(ev, doubtful, c, t)[:4],
                    *doubtful[np.argsort(-rel[doubtful], kind="stable")],
                ]
            )
        )
        for j in order[:MAX_DECIDED]:
            decided = self._precise_claim(i, self._point(ev.points[:, j]))
            if decided is None:
                continue
            claimed_value, true_value = decided
            return self._mismatch(i, ev, int(j), base, claimed_value, true_value)
        proof = SYMBOLIC if equivalent(claim, true) else NUMERIC
        return ClaimVerdict(var, claim, true, PASS, proof=proof, points=int(base.sum()))

    def _readable(self, ev, which, c, t) -> np.ndarray:
        """``which`` (point indices), the easiest to read as a counterexample first."""
        if not len(which):
            return which
        with np.errstate(all="ignore"):
            coords = np.abs(ev.points[:, which])
            far = np.max(np.abs(np.log10(np.where(coords > 0, coords, 1.0))), axis=0)
            size = np.fmax(np.abs(c[which]), np.abs(t[which]))
            tiny = ~(size >= 1e-6 * np.nanmax(np.where(np.isfinite(size), size, 0.0)))
        nice = np.all(np.isin(ev.points[:, which], NICE_VALUES), axis=0)
        far = np.where(nice, 0.0, far)  # round points in the order they were drawn
        return which[np.lexsort((far, tiny, ~nice))]

    def _precise_claim(self, i: int, point) -> tuple[float | None, float] | None:
        """None where claim i and the derivative agree at ``point`` (or the derivative is not
        defined there with 50 digits either); else (claim, derivative) there, the claim None
        where it is not a real number."""
        exprs = [self.claims[i], self.grad.partials[i]]
        low = precise.evaluate(exprs, point)
        if low[1] is None:
            return None
        if low[0] is None:
            return None, precise._as_float(low[1])
        high = precise.evaluate(exprs, point, 2 * precise.DPS)
        if high[0] is None or high[1] is None:
            return None
        gap_low, gap_high = low[0] - low[1], high[0] - high[1]
        if gap_high == 0 or abs(gap_high - gap_low) > abs(gap_high) * mpmath.mpf(10) ** -20:
            return None  # rounding of a difference that is exactly 0
        if abs(gap_high) <= PRECISE_AGREE * max(abs(high[0]), abs(high[1])):
            return None
        return precise._as_float(high[0]), precise._as_float(high[1])

    def _mismatch(self, i, ev, j, base, claimed_value, true_value) -> ClaimVerdict:
        var, claim, true = self.grad.wrt[i], self.claims[i], self.grad.partials[i]
        c, t = ev.claims[i], ev.partials[i]
        both = base & np.isfinite(c)
        difference = None
        if claimed_value is not None and math.isfinite(claimed_value - true_value):
            difference = claimed_value - true_value
        if claimed_value is None:
            what = "the claim is not a real number here, where the derivative is"
        else:
            what = hint(claim, true, c[both], t[both])
        return ClaimVerdict(
            var,
            claim,
            true,
            MISMATCH,
            points=int(base.sum()),
            counterexample={s.name: float(ev.points[k, j]) for k, s in enumerate(self.symbols)},
            claimed_value=claimed_value,
            true_value=true_value,
            difference=difference,
            finite_difference=_finite(ev.fd[i, j]) if ev.ok[j] else None,
            hint=what,
        )


def _quick_proof(claim: sp.Expr, true: sp.Expr) -> bool:
    """The claim is the derivative as written, or once both are expanded (a fraction of a
    second at most): proved before any number is computed."""
    if claim == true:
        return True
    proved = False
    with within(QUICK_PROOF):
        proved = sp.expand(claim - true) == 0
    return proved


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
