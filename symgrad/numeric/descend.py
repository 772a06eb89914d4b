"""Gradient descent on the symbolic gradient: θ ← θ − α∇f(θ), and the optimizers built on it.

The gradient is derived once, compiled with f into one generated numpy function
(``symgrad.numeric.compile_exprs``) and called at each step: no finite differences. The path
(every state, from the start) and a verdict come back: converged when |∇f| < tol, diverged
when a value overflows or the point runs away, left domain when a step lands where f or its
gradient is undefined (``log(x)`` at x < 0), or step limit.

Optimizers (``mu`` is the momentum, ``v`` the velocity, ``g`` the gradient at θ):

- ``sgd``: θ ← θ − α g
- ``momentum`` (classical heavy ball): v ← μ v − α g; θ ← θ + v. PyTorch's SGD with momentum
  is the same up to the scaling of v (it keeps v/α).
- ``nesterov``: v ← μ v − α ∇f(θ + μ v); θ ← θ + v (the gradient one step ahead).
- ``adam``: m ← β1 m + (1 − β1) g; s ← β2 s + (1 − β2) g²; θ ← θ − α m̂ / (√ŝ + ε), with
  m̂, ŝ corrected for their start at 0 (β1 = 0.9, β2 = 0.999, ε = 1e-8, as in PyTorch).

Each optimizer has a default learning rate and step budget (``DEFAULTS``) within which it
reaches the minimum (1, 1) of Rosenbrock's ``(1-x)^2 + 100*(y-x^2)^2`` from (-1.5, 2).

>>> r = descend("x^4 - 3*x^2 + x", "x=2", lr=0.01)
>>> r.verdict, round(r.point["x"], 2)
('converged', 1.13)
>>> r = descend("x^4 - 3*x^2 + x", "x=2", lr=0.01, optimizer="momentum", momentum=0.9)
>>> r.verdict, round(r.point["x"], 2)
('converged', -1.3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from symgrad.derive.partial import ExprLike, as_expr, gradient, require_scalar
from symgrad.errors import InputError
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.points import point_values
from symgrad.results import CONVERGED, DIVERGED, LEFT_DOMAIN, STEP_LIMIT, Descent, DescentStep


@dataclass(frozen=True)
class OptimizerDefaults:
    """What an optimizer uses when not told otherwise."""

    lr: float
    steps: int
    momentum: float | None = None


DEFAULTS: dict[str, OptimizerDefaults] = {
    "sgd": OptimizerDefaults(lr=0.001, steps=50_000),
    "momentum": OptimizerDefaults(lr=0.001, steps=10_000, momentum=0.9),
    "nesterov": OptimizerDefaults(lr=0.001, steps=10_000, momentum=0.9),
    "adam": OptimizerDefaults(lr=0.001, steps=20_000),
}
"""Per optimizer: the default learning rate, step budget and momentum."""

OPTIMIZERS = tuple(DEFAULTS)
DEFAULT_TOL = 1e-6
MAX_STEPS = 10_000_000
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

RUNAWAY = 1e10
"""A point this many times farther from the origin than the start (at least 1) has diverged."""


def descend(
    expr: ExprLike,
    start: Mapping[str, float] | str,
    *,
    lr: float | None = None,
    optimizer: str | None = None,
    momentum: float | None = None,
    steps: int | None = None,
    tol: float = DEFAULT_TOL,
) -> Descent:
    """Minimize ``expr`` by gradient descent from ``start`` (every variable gets a value).

    ``optimizer`` defaults to ``momentum`` when a ``momentum`` is given, else ``sgd``; ``lr``
    and ``steps`` default per optimizer (``DEFAULTS``).

    >>> r = descend("(x - 3)^2", {"x": 0}, lr=0.1)
    >>> r.verdict, round(r.point["x"], 6), r.final.step
    ('converged', 3.0, 70)
    """
    expr = as_expr(expr)
    require_scalar(expr, "descend")
    if optimizer is None:
        optimizer = "momentum" if momentum else "sgd"
    if optimizer not in DEFAULTS:
        raise InputError(f"unknown optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
    defaults = DEFAULTS[optimizer]
    lr = defaults.lr if lr is None else float(lr)
    steps = defaults.steps if steps is None else int(steps)
    if optimizer in ("momentum", "nesterov"):
        momentum = defaults.momentum if momentum is None else float(momentum)
    elif momentum:
        raise InputError(
            f"--momentum applies to the momentum and nesterov optimizers, not {optimizer}"
        )
    else:
        momentum = None
    _check_options(lr, steps, tol, momentum)
    values = point_values(expr, start, option="--from")
    wrt = tuple(values)
    grad = gradient(expr, wrt)
    fn = compile_exprs([expr, *grad.partials], list(wrt))
    theta = np.array([values[v] for v in wrt], dtype=float)
    path, verdict = _run(fn, theta, optimizer, lr, momentum, steps, tol)
    notes = []
    if verdict == STEP_LIMIT:
        notes.append(
            f"|grad f| is still {path[-1].gradient_norm:.3g} after {steps:,} steps: raise "
            "--steps, or try another --lr or --optimizer"
        )
    elif verdict == DIVERGED:
        notes.append(
            f"diverged at step {path[-1].step}: lower --lr (it is {lr:g}), or f has no "
            "minimum in that direction"
        )
    elif verdict == LEFT_DOMAIN:
        notes.append(
            f"step {path[-1].step} went where f or its gradient is undefined: f may have no "
            f"minimum inside its domain in that direction, or --lr (it is {lr:g}) is too large"
        )
    return Descent(
        expression=expr,
        wrt=wrt,
        partials=grad.partials,
        optimizer=optimizer,
        lr=lr,
        momentum=momentum,
        steps=steps,
        tol=tol,
        start={v.name: values[v] for v in wrt},
        path=tuple(path),
        verdict=verdict,
        notes=tuple(notes),
    )


def _check_options(lr: float, steps: int, tol: float, momentum: float | None) -> None:
    if not (math.isfinite(lr) and lr > 0):
        raise InputError(f"--lr must be a positive number, got {lr:g}")
    if not 0 <= steps <= MAX_STEPS:
        raise InputError(f"--steps must be between 0 and {MAX_STEPS:,}, got {steps:,}")
    if not (math.isfinite(tol) and tol > 0):
        raise InputError(f"--tol must be a positive number, got {tol:g}")
    if momentum is not None and not (0 <= momentum < 1):
        raise InputError(f"--momentum must be in [0, 1), got {momentum:g}")


class _Evaluator:
    """f and the gradient at one point through the generated function, called on numpy
    scalars (a float that overflows becomes inf, as in arrays); the array wrapper of
    compile_exprs costs five times the generated code on one point, so it is the fallback."""

    def __init__(self, fn):
        self.fn = fn
        self.raw = getattr(fn, "generated", None)

    def __call__(self, theta: list) -> tuple[float, list[float]]:
        if self.raw is not None:
            try:
                out = self.raw(*theta)
                values = [complex(v) for v in out]
                if all(v.imag == 0 for v in values):
                    return values[0].real, [v.real for v in values[1:]]
            except (ArithmeticError, TypeError, ValueError):
                pass  # the wrapper knows what each of these means
        out = self.fn(*theta)
        return float(out[0]), [float(v) for v in out[1:]]


def _run(fn, theta, optimizer, lr, mu, steps, tol) -> tuple[list[DescentStep], str]:
    evaluate = _Evaluator(fn)
    fn(*theta)  # the wrapper's first call sets up the generated code's globals
    theta = [np.float64(t) for t in theta]
    n = len(theta)
    velocity, m, s = [0.0] * n, [0.0] * n, [0.0] * n
    beta1, beta2 = ADAM_BETAS
    runaway = RUNAWAY * max([1.0, *(abs(float(t)) for t in theta)])
    path: list[DescentStep] = []

    def record(k: int, point: list, value: float, g: list[float]) -> float:
        norm = math.sqrt(sum(x * x for x in g)) if all(map(math.isfinite, g)) else math.nan
        path.append(DescentStep(k, tuple(float(t) for t in point), value, tuple(g), norm))
        return norm

    with np.errstate(all="ignore"):
        for k in range(steps + 1):
            value, g = evaluate(theta)
            norm = record(k, theta, value, g)
            if not (math.isfinite(value) and math.isfinite(norm)):
                return path, _undefined_or_overflow(value, g)
            if norm < tol:
                return path, CONVERGED
            if k == steps:
                break
            if optimizer == "sgd":
                theta = [t - lr * gi for t, gi in zip(theta, g)]
            elif optimizer == "momentum":
                velocity = [mu * v - lr * gi for v, gi in zip(velocity, g)]
                theta = [t + v for t, v in zip(theta, velocity)]
            elif optimizer == "nesterov":
                look = [t + mu * v for t, v in zip(theta, velocity)]
                at_look, ahead = evaluate(look)
                if any(math.isnan(x) for x in ahead):  # the look-ahead left the domain
                    record(k + 1, look, at_look, ahead)
                    return path, LEFT_DOMAIN
                velocity = [mu * v - lr * gi for v, gi in zip(velocity, ahead)]
                theta = [t + v for t, v in zip(theta, velocity)]
            else:  # adam
                m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
                s = [beta2 * si + (1 - beta2) * gi * gi for si, gi in zip(s, g)]
                c1, c2 = 1 - beta1 ** (k + 1), 1 - beta2 ** (k + 1)
                theta = [
                    t - lr * (mi / c1) / (math.sqrt(si / c2) + ADAM_EPS)
                    for t, mi, si in zip(theta, m, s)
                ]
            if not all(math.isfinite(t) and abs(t) <= runaway for t in theta):
                value, g = evaluate(theta)
                record(k + 1, theta, value, g)
                finite = all(math.isfinite(t) for t in theta)
                return path, _undefined_or_overflow(value, g) if finite else DIVERGED
    return path, STEP_LIMIT


def _undefined_or_overflow(value: float, g: list[float]) -> str:
    """Why f or its gradient is not a finite number at a finite point: NaN is a point
    outside the domain, an infinity an overflow (or a pole)."""
    return LEFT_DOMAIN if any(math.isnan(x) for x in (value, *g)) else DIVERGED
