"""The batched two-layer network in matrix form against bench/mlp.py's scalar expansion.

bench/mlp.py writes the squared-error loss of an n-input, n-unit tanh network over n samples
as one scalar expression with n^2 + 2n parameters. Written with matrices it is
``norm2(y - tanh(X*W' + ones(n)*b')*v)^2``; on the same numbers the matrix gradient (one
formula per parameter matrix) must equal the n^2 + 2n scalar partials symgrad computes from
the expanded text.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from symgrad import evaluate_matrix_gradient, matrix_gradient, parse
from symgrad.derive.partial import gradient
from symgrad.numeric.compile import compile_exprs

BATCHED = "norm2(y - tanh(X*W' + ones(n)*b')*v)^2"
SHAPES = "y=n; X=n,n; W=n,n; b=n; v=n"


def _bench_mlp():
    path = Path(__file__).resolve().parent.parent / "bench" / "mlp.py"
    spec = importlib.util.spec_from_file_location("bench_mlp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("n", [2, 3, 4])
def test_batched_network_matches_the_expanded_scalar_loss(n):
    mlp = _bench_mlp()
    rng = np.random.default_rng(n)
    W, b, v = rng.normal(size=(n, n)), rng.normal(size=n), rng.normal(size=n)
    samples = mlp.data(n)
    X = np.array([x for x, _ in samples])
    y = np.array([t for _, t in samples])

    # the scalar way: 0.5 MB of text at n = 32, n^2 + 2n partials
    scalar = parse(mlp.loss(n))
    names = mlp.params(n)
    grad = gradient(scalar, names)
    values = {f"w_{j}_{i}": W[j - 1, i - 1] for j in range(1, n + 1) for i in range(1, n + 1)}
    values |= {f"b_{j}": b[j - 1] for j in range(1, n + 1)}
    values |= {f"v_{j}": v[j - 1] for j in range(1, n + 1)}
    symbols = sorted(scalar.free_symbols, key=lambda s: s.name)
    out = compile_exprs([scalar, *grad.partials], symbols)(*(values[s.name] for s in symbols))
    scalar_value, scalar_partials = out[0], dict(zip(names, out[1:]))

    # the matrix way: one formula per parameter
    mgrad = matrix_gradient(BATCHED, SHAPES, "W,b,v")
    at = {"X": X.tolist(), "y": y.tolist(), "W": W.tolist(), "b": b.tolist(), "v": v.tolist()}
    result = evaluate_matrix_gradient(mgrad, at)
    dW, db, dv = (np.array(g) for g in result.gradient_value)

    assert result.value == pytest.approx(float(scalar_value), rel=1e-12)
    expanded_W = np.array(
        [[scalar_partials[f"w_{j}_{i}"] for i in range(1, n + 1)] for j in range(1, n + 1)]
    )
    np.testing.assert_allclose(dW, expanded_W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        db, [scalar_partials[f"b_{j}"] for j in range(1, n + 1)], rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        dv, [scalar_partials[f"v_{j}"] for j in range(1, n + 1)], rtol=1e-10, atol=1e-12
    )


def _numeric(size: int) -> tuple[str, str]:
    return BATCHED.replace("ones(n)", f"ones({size})"), SHAPES.replace("n", str(size))


def test_network_gradient_is_in_matrix_form_whatever_the_size():
    # the same three formulas for n = 3 and n = 32: nothing is expanded per entry
    small = matrix_gradient(*_numeric(3), "W,b,v")
    large = matrix_gradient(*_numeric(32), "W,b,v")
    assert [str(p).replace("32", "3") for p in large.partials] == [str(p) for p in small.partials]
    assert str(small["v"]) == "-2*tanh(X*W' + ones(3)*b')'*(y - tanh(X*W' + ones(3)*b')*v)"
    assert large.partial_shapes == ((32, 32), (32, 1), (32, 1))
