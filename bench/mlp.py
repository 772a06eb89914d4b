"""The squared-error loss of a tiny tanh network, as symgrad text.

    python bench/mlp.py 32 > loss.txt           # the loss
    python bench/mlp.py 32 --params             # its parameters, comma-separated

n inputs, n hidden tanh units, one linear output, n samples with fixed data (seeded), so
n^2 + 2n parameters: weights ``w_j_i``, biases ``b_j`` and output weights ``v_j``::

    L = sum_s (y_s - sum_j v_j*tanh(b_j + sum_i x_si*w_j_i))^2
"""

from __future__ import annotations

import argparse
import random


def params(n: int) -> list[str]:
    """The parameter names in natural order: w_1_1 ... w_n_n, b_1 ... b_n, v_1 ... v_n."""
    weights = [f"w_{j}_{i}" for j in range(1, n + 1) for i in range(1, n + 1)]
    return weights + [f"b_{j}" for j in range(1, n + 1)] + [f"v_{j}" for j in range(1, n + 1)]


def data(n: int, seed: int = 0) -> list[tuple[list[float], float]]:
    """The n samples ``(x, y)`` of the loss: x has n inputs, y is the target."""
    rng = random.Random(seed)
    samples = []
    for _ in range(n):
        x = [round(rng.uniform(-1, 1), 4) for _ in range(n)]
        y = round(rng.uniform(-1, 1), 4)
        samples.append((x, y))
    return samples


def loss(n: int, seed: int = 0) -> str:
    """The loss text for width ``n`` (about n^3 * 14 characters; 460 kB at n = 32)."""
    samples = []
    for x, y in data(n, seed):
        units = []
        for j in range(1, n + 1):
            z = "".join(
                f" {'-' if xi < 0 else '+'} {abs(xi)}*w_{j}_{i}" for i, xi in enumerate(x, 1)
            )
            units.append(f"v_{j}*tanh(b_{j}{z})")
        samples.append(f"({y} - ({' + '.join(units)}))^2")
    return " + ".join(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--params", action="store_true", help="print the parameter names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(",".join(params(args.n)) if args.params else loss(args.n, args.seed))


if __name__ == "__main__":
    main()
