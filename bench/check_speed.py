"""`symgrad check` against a plain sympy-lambdify checker, on the same points, in one run.

    python bench/check_speed.py [--points 100000] [--runs 5]

The plain checker is what one writes by hand: `lambdify` f and each partial separately (no
shared subexpressions), evaluate at the points, central differences along each variable.
symgrad's check does more (domain sampling, kink detection, retries) and should still cost
no more than the plain one: one generated function for f and every partial with shared
subexpressions, then f alone at x +- h: 2*len(wrt) + 2 vectorised evaluations.
Prints medians and the ratio symgrad / plain (goal: <= 1.0 on the larger expressions).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import sympy as sp

from symgrad import gradient
from symgrad.derive.partial import variables
from symgrad.numeric.check import check_gradient
from symgrad.numeric.compile import _compile

CASES = {
    "seed loss": "(y - (x*w + b))^2",
    "log loss": "y*log(w*x + b)",
    "neuron": "(sigmoid(w1*x1 + w2*x2 + w3*x3 + b) - y)^2",
    "softmax xent": ("-log(exp(u1*x + v1)/(exp(u1*x + v1) + exp(u2*x + v2) + exp(u3*x + v3)))"),
    "2-layer net": (
        "(tanh(a1*tanh(w11*x1 + w12*x2 + c1) + a2*tanh(w21*x1 + w22*x2 + c2) + d) - y)^2"
    ),
}


def plain_check(text: str, n: int, seed: int) -> float:
    """A hand-written checker: returns the largest relative error (so nothing is skipped)."""
    grad = gradient(text)
    symbols = list(variables(grad.expression))
    # sigmoid as a person writes it for numpy: sympy's lambdify knows no sigmoid
    f = sp.lambdify(symbols, grad.expression.rewrite(sp.exp), "numpy")
    partials = [sp.lambdify(symbols, p.rewrite(sp.exp), "numpy") for p in grad.partials]
    rng = np.random.default_rng(seed)
    points = rng.uniform(-3, 3, size=(len(symbols), n))
    worst = 0.0
    with np.errstate(all="ignore"):
        for var, partial in zip(grad.wrt, partials):
            j = symbols.index(var)
            h = 6e-6 * np.maximum(1.0, np.abs(points[j]))
            up, down = points.copy(), points.copy()
            up[j] += h
            down[j] -= h
            fd = (f(*up) - f(*down)) / (up[j] - down[j])
            exact = partial(*points) * np.ones(n)
            ok = np.isfinite(fd) & np.isfinite(exact)
            rel = np.abs(fd - exact)[ok] / np.maximum(np.abs(exact[ok]), 1e-5)
            worst = max(worst, float(rel.max(initial=0.0)))
    return worst


def symgrad_check(text: str, n: int, seed: int) -> float:
    _compile.cache_clear()  # pay for code generation, as the plain checker does
    result = check_gradient(text, points=n, seed=seed)
    assert result.status == "pass", (text, result)
    return result.max_rel_error


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.points:,} points, median of {args.runs} runs")
    print(f"{'case':<14} {'plain s':>8} {'symgrad s':>10} {'ratio':>6}")
    for name, text in CASES.items():
        plain, ours = [], []
        for run in range(args.runs):  # alternate, so that machine load hits both alike
            plain.append(timed(plain_check, text, args.points, run))
            ours.append(timed(symgrad_check, text, args.points, run))
        p, o = statistics.median(plain), statistics.median(ours)
        print(f"{name:<14} {p:8.3f} {o:10.3f} {o / p:6.2f}")


if __name__ == "__main__":
    main()
