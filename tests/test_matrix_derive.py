"""Jacobians of vector-valued expressions, shared subexpressions (--cse), generated numpy code
and the issue's headline results, each against plain numpy written here."""

from __future__ import annotations

import numpy as np
import pytest

from symgrad import (
    matrix_codegen,
    matrix_gradient,
    matrix_jacobian,
    parse_matrix,
)
from symgrad.derive.matrix import expand_refs, name_shared
from symgrad.errors import InputError
from symgrad.numeric.matrix import Compiled
from symgrad.parsing.matrix_shapes import parse_shapes

# ---------------------------------------------------------------- the issue's examples


@pytest.mark.parametrize(
    "expr, shapes, wrt, expected",
    [
        ("norm2(X*w - y)^2", "X=m,n; w=n; y=m", "w", "2*X'*(X*w - y)"),
        ("x'*A*x", "x=n; A=n,n", "x", "(A + A')*x"),
        ("log(det(X))", "X=n,n", "X", "inv(X)'"),
        ("tr(A*X*B)", "A=k,m; X=m,n; B=n,k", "X", "A'*B'"),
        (
            "sum((y - V*tanh(W*x + b)).^2)",
            "y=p; V=p,h; W=h,n; x=n; b=h",
            "b",
            "-2*(1 - tanh(W*x + b).^2) .* (V'*(y - V*tanh(W*x + b)))",
        ),
        ("sum(x + b)", "x=3,4; b=3,4", "b", "ones(3,4)"),
    ],
)
def test_the_issue_examples_read_as_a_person_writes_them(expr, shapes, wrt, expected):
    (partial,) = matrix_gradient(expr, shapes, wrt).partials
    assert str(partial) == expected


def test_sympy_matrix_expressions_get_these_wrong_and_symgrad_does_not():
    # sympy gives 0 for d log det Y / dY; symgrad gives inv(Y)' (checked numerically elsewhere)
    assert str(matrix_gradient("log(det(Y))", "Y=n,n").partials[0]) == "inv(Y)'"
    # and an elementwise tanh inside a product is fine
    g = matrix_gradient("sum(V*tanh(W*x))", "V=p,h; W=h,n; x=n", "W")
    assert str(g.partials[0]) == "((1 - tanh(W*x).^2) .* (V'*ones(p)))*x'"


# ---------------------------------------------------------------- Jacobians


def _numeric_jacobian(fn, arrays, name, h=1e-6):
    x = arrays[name]
    cols = []
    for i in range(x.size):
        up = {k: np.array(v, dtype=float) for k, v in arrays.items()}
        down = {k: np.array(v, dtype=float) for k, v in arrays.items()}
        up[name].reshape(-1)[i] += h
        down[name].reshape(-1)[i] -= h
        cols.append((fn(**up) - fn(**down)) / (2 * h))
    return np.stack(cols, axis=-1)


JACOBIANS = [
    ("tanh(W*x + b)", "W=m,n; x=n; b=m", "x", "diag(1 - tanh(W*x + b).^2)*W",
     lambda W, x, b: np.tanh(W @ x + b)),
    ("tanh(W*x + b)", "W=m,n; x=n; b=m", "b", "diag(1 - tanh(W*x + b).^2)",
     lambda W, x, b: np.tanh(W @ x + b)),
    ("softmax(z)", "z=n", "z", "diag(softmax(z)) - softmax(z)*softmax(z)'",
     lambda z: np.exp(z) / np.exp(z).sum()),
    ("A*x", "A=m,n; x=n", "x", "A", lambda A, x: A @ x),
    ("x .* x", "x=n", "x", "2*diag(x)", lambda x: x * x),
    ("(x'*x)*x", "x=n", "x", "2*x*x' + x'*x*eye(n)", lambda x: (x @ x) * x),
    ("s*sigmoid(x) + x'*x", "x=n", "s", None, lambda x, s: s / (1 + np.exp(-x)) + x @ x),
    ("A*x - y", "A=m,n; x=n; y=m", "y", "-eye(m)", lambda A, x, y: A @ x - y),
    ("u'*x", "u=n; x=n", "x", "u'", lambda u, x: np.array([u @ x])),
]  # fmt: skip


@pytest.mark.parametrize("expr, shapes, wrt, expected, fn", JACOBIANS)
def test_jacobians_against_numpy(expr, shapes, wrt, expected, fn):
    jac = matrix_jacobian(expr, shapes, wrt)
    (block,) = jac.blocks
    if expected is not None:
        assert str(block) == expected
    table = parse_shapes(shapes)
    sizes = {"m": 4, "n": 3}
    rng = np.random.default_rng(1)
    arrays = {}
    variables = sorted({v for v in jac.shapes})
    for name in variables:
        rows, cols = (sizes.get(d, d) for d in jac.shapes[name])
        arrays[name] = rng.normal(size=(rows, cols))
    compiled = Compiled([block], [parse_matrix(n, table) for n in variables], sizes)
    mine = compiled(*(arrays[n] for n in variables))[0]
    plain = {
        n: (a.reshape(-1) if a.shape[1] == 1 and a.shape != (1, 1) else a)
        for n, a in arrays.items()
    }
    plain = {n: (a.reshape(()) if np.shape(a) == (1, 1) else a) for n, a in plain.items()}
    reference = _numeric_jacobian(fn, plain, wrt)
    np.testing.assert_allclose(mine.reshape(reference.shape), reference, rtol=1e-6, atol=1e-8)


def test_jacobian_errors():
    with pytest.raises(InputError, match="with respect to the matrix W"):
        matrix_jacobian("W*x", "W=m,n; x=n", "W")
    with pytest.raises(InputError, match="needs a scalar or a vector-valued expression"):
        matrix_jacobian("W*X", "W=m,n; X=n,k", "W")
    with pytest.raises(InputError, match="has no Jacobian in matrix form here"):
        matrix_jacobian("inv(diag(x))*x", "x=n", "x")


# ---------------------------------------------------------------- shared subexpressions


def test_cse_names_shared_subexpressions_and_expands_back():
    g = matrix_gradient("norm2(y - V*tanh(W*x + b))^2", "y=p; V=p,h; W=h,n; x=n; b=h", cse=True)
    plain = matrix_gradient("norm2(y - V*tanh(W*x + b))^2", "y=p; V=p,h; W=h,n; x=n; b=h")
    names = [name for name, _ in g.cse]
    assert names == [f"t{i}" for i in range(len(names))]
    assert ("t0", "tanh(W*x + b)") == (g.cse[0][0], str(g.cse[0][1]))
    for short, full in zip(g.partials, plain.partials):
        assert expand_refs(short, g.cse) == full
    assert str(g["b"]) == "-2*t2"
    assert str(g.cse[2][1]) == "(1 - t0.^2) .* (V'*t1)"


def test_cse_names_avoid_the_variables():
    defs, _ = name_shared(
        [parse_matrix("tanh(t0*x) .* exp(tanh(t0*x))", "x=n")] * 2, taken=["t0", "x"]
    )
    assert defs and not defs[0][0].startswith("t")


# ---------------------------------------------------------------- generated code


def test_codegen_numpy_returns_value_and_gradients_in_the_variables_shapes():
    code = matrix_codegen(
        "norm2(y - V*tanh(W*x + b))^2 + lambda*norm2(W)^2", "y=p; V=p,h; W=h,n; x=n; b=h"
    )
    assert code.arguments == ("V", "W", "b", "lambda_", "x", "y")
    namespace: dict = {}
    exec(code.source, namespace)  # generated from the tree, not from user text
    rng = np.random.default_rng(0)
    V, W, b, x, y = (rng.normal(size=s) for s in [(2, 3), (3, 4), 3, 4, 2])
    lam = 0.3
    value, grads = namespace["f"](V, W, b, lam, x, y)
    h = np.tanh(W @ x + b)
    r = y - V @ h
    assert value == pytest.approx(r @ r + lam * np.sum(W * W))
    dV, dW, db, dlam, dx, dy = grads
    np.testing.assert_allclose(dV, -2 * np.outer(r, h))
    np.testing.assert_allclose(db, -2 * (1 - h**2) * (V.T @ r))
    np.testing.assert_allclose(dW, np.outer(-2 * (1 - h**2) * (V.T @ r), x) + 2 * lam * W)
    assert isinstance(dlam, float) and dlam == pytest.approx(np.sum(W * W))
    assert dx.shape == (4,) and dy.shape == (2,)


def test_codegen_refuses_other_targets():
    with pytest.raises(InputError, match="has no matrix code"):
        matrix_codegen("sum(x)", "x=n", target="python")
    with pytest.raises(InputError, match="not a Python function name"):
        matrix_codegen("sum(x)", "x=n", name="def")
