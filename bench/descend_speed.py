"""`symgrad descend` against a hand-written numpy descent loop, on the same problems.

    python bench/descend_speed.py [--runs 3]

The hand-written loop is what one writes for a known function: the gradient typed in as
Python arithmetic on floats, the same update rules. symgrad derives the gradient, compiles it
with f into one generated numpy function and records every state of the path; it pays numpy's
per-call cost on scalars. Prints steps per second of both and the ratio symgrad / hand-written
time per step (a few times slower is the price of generality; the derivation and compilation
are counted in symgrad's time).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from symgrad.numeric.descend import descend


def rosenbrock(p):
    x, y = p
    r = y - x * x
    return (1 - x) ** 2 + 100 * r**2, (-2 * (1 - x) - 400 * x * r, 200 * r)


def quartic(p):
    (x,) = p
    return x**4 - 3 * x**2 + x, (4 * x**3 - 6 * x + 1,)


CASES = [
    ("rosenbrock, momentum", "(1-x)^2 + 100*(y-x^2)^2", "x=-1.5,y=2", rosenbrock, [-1.5, 2.0],
     {"optimizer": "momentum", "lr": 0.001, "momentum": 0.9}),
    ("rosenbrock, sgd", "(1-x)^2 + 100*(y-x^2)^2", "x=-1.5,y=2", rosenbrock, [-1.5, 2.0],
     {"optimizer": "sgd", "lr": 0.001}),
    ("escape minima", "x^4 - 3*x^2 + x", "x=2", quartic, [2.0],
     {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9}),
]  # fmt: skip


def by_hand(fn, start, optimizer, lr, momentum=0.0, tol=1e-6, steps=100_000) -> int:
    theta, velocity = list(start), [0.0] * len(start)
    for k in range(steps + 1):
        _, g = fn(theta)
        if math.sqrt(sum(v * v for v in g)) < tol:
            return k
        if optimizer == "sgd":
            theta = [t - lr * gi for t, gi in zip(theta, g)]
        else:
            velocity = [momentum * v - lr * gi for v, gi in zip(velocity, g)]
            theta = [t + v for t, v in zip(theta, velocity)]
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'case':24} {'steps':>7} {'symgrad steps/s':>16} {'by hand steps/s':>16} {'ratio':>6}")
    for name, text, start, fn, point, options in CASES:
        ours, theirs = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            result = descend(text, start, **options)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            k = by_hand(fn, point, **options)
            theirs.append(time.perf_counter() - t)
        steps = result.final.step
        assert k == steps, (name, k, steps)  # the same path, step for step
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:24} {steps:>7} {steps / a:>16,.0f} {steps / b:>16,.0f} {a / b:>6.1f}")


if __name__ == "__main__":
    main()
