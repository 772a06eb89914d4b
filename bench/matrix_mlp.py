"""The two-layer network's gradient in matrix form: its cost does not grow with the width.

    python bench/matrix_mlp.py [--sizes 3,32] [--runs 5] [--scalar]

The batched network of bench/mlp.py (n samples, n inputs, n tanh units, one output) is

    norm2(y - tanh(X*W' + ones(n)*b')*v)^2     with X=n,n; W=n,n; b=n; v=n; y=n

For each width n (the sizes written as numbers, as a user with concrete data would), this
times, in this process: parse + gradient by W, b, v in matrix form (symbolic), then the
gradient's value at bench/mlp.py's data through the generated numpy code (best of --runs,
the sizes interleaved so that a busy machine slows them alike). It prints the
ratio of each time at the largest n to the smallest (goal: <= 1, within noise: the
symbolic work does not depend on n, and the numbers are three small matrix products).

``--scalar`` also times the expanded scalar loss (bench/mlp.py's text, n^2 + 2n scalar
partials, symgrad's reverse mode) at the largest n, for reference (1.3-1.8 s at n = 32 on
the issue's machine), and checks that both give the same numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mlp  # noqa: E402

from symgrad import evaluate_matrix_gradient, matrix_gradient  # noqa: E402

NETWORK = "norm2(y - tanh(X*W' + ones({n})*b')*v)^2"
SHAPES = "X={n},{n}; W={n},{n}; b={n}; v={n}; y={n}"


def point(n: int, seed: int = 1) -> dict:
    """bench/mlp.py's data and random parameters, as the nested lists of --at."""
    samples = mlp.data(n)
    rng = np.random.default_rng(seed)
    return {
        "X": [x for x, _ in samples],
        "y": [t for _, t in samples],
        "W": rng.normal(size=(n, n)).tolist(),
        "b": rng.normal(size=n).tolist(),
        "v": rng.normal(size=n).tolist(),
    }


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def matrix_times(sizes: list[int], runs: int) -> dict[int, tuple[float, float, object]]:
    """Best of ``runs`` for each size, the sizes interleaved so that a busy machine slows
    them alike."""
    best: dict[int, list] = {n: [float("inf"), float("inf"), None] for n in sizes}
    for _ in range(runs):
        for n in sizes:
            expr, shapes = NETWORK.format(n=n), SHAPES.format(n=n)
            symbolic, grad = timed(matrix_gradient, expr, shapes, "W,b,v")
            numeric, values = timed(evaluate_matrix_gradient, grad, point(n))
            row = best[n]
            row[0], row[1], row[2] = min(row[0], symbolic), min(row[1], numeric), values
    return {n: tuple(row) for n, row in best.items()}


def scalar_values(n: int):
    """The expanded scalar loss: parse and n^2 + 2n partials in reverse mode (timed, as
    ``symgrad grad --file loss.txt --cse`` does), then their values through symgrad's
    generated code (not timed)."""
    from symgrad import parse
    from symgrad.derive.partial import gradient
    from symgrad.limits import Limits
    from symgrad.numeric.code import codegen

    at = point(n)
    W, b, v = np.array(at["W"]), np.array(at["b"]), np.array(at["v"])
    start = time.perf_counter()
    loss = parse(mlp.loss(n), Limits(max_chars=10**8))
    gradient(loss, mlp.params(n), cse=True)
    symbolic = time.perf_counter() - start
    values = {f"w_{j}_{i}": W[j - 1, i - 1] for j in range(1, n + 1) for i in range(1, n + 1)}
    values |= {f"b_{j}": b[j - 1] for j in range(1, n + 1)}
    values |= {f"v_{j}": v[j - 1] for j in range(1, n + 1)}
    code = codegen(loss, mlp.params(n), target="python")
    namespace: dict = {}
    exec(code.source, namespace)  # symgrad's generated code for the bench's own loss
    _, partials = namespace["f"](**{a.name: values[a.name] for a in code.arguments})
    return symbolic, dict(zip(mlp.params(n), partials))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,32")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scalar", action="store_true", help="also time the expanded loss")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    matrix_gradient(NETWORK.format(n=2), SHAPES.format(n=2))  # warm caches and imports
    rows = matrix_times(sizes, args.runs)
    print(f"{'n':>4} {'parameters':>10} {'symbolic s':>11} {'numeric s':>10}")
    for n in sizes:
        symbolic, numeric, _ = rows[n]
        print(f"{n:>4} {n * n + 2 * n:>10} {symbolic:>11.4f} {numeric:>10.4f}")
    small, large = min(sizes), max(sizes)
    ratio = rows[large][0] / rows[small][0]
    print(f"symbolic time, n={large} / n={small}: {ratio:.2f}  (goal <= 1, within noise)")
    ratio = rows[large][1] / rows[small][1]
    print(f"numeric time, n={large} / n={small}: {ratio:.2f}  (compiling the code dominates)")
    grad = matrix_gradient(NETWORK.format(n=large), SHAPES.format(n=large), "W,b,v")
    print("d/dW =", grad["W"])

    if args.scalar:
        symbolic, scalar = scalar_values(large)
        print(f"expanded scalar loss, n={large}: {symbolic:.2f} s for {len(scalar)} partials")
        print(f"matrix form / expanded: {rows[large][0] / symbolic:.4f}")
        dW, db, dv = (np.array(g) for g in rows[large][2].gradient_value)
        expanded = np.array([[scalar[f"w_{j}_{i}"] for i in range(1, large + 1)]
                             for j in range(1, large + 1)])  # fmt: skip
        diff = max(
            np.max(np.abs(dW - expanded)),
            np.max(np.abs(db - [scalar[f"b_{j}"] for j in range(1, large + 1)])),
            np.max(np.abs(dv - [scalar[f"v_{j}"] for j in range(1, large + 1)])),
        )
        print(f"largest difference between the two gradients: {diff:.2e}")


if __name__ == "__main__":
    main()
