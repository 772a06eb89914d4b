"""Matrix gradients against The Matrix Cookbook and against ML losses written in plain numpy.

Each row is an expression, its shapes, a plain numpy implementation of the same function
written here (not symgrad's code), and where the Cookbook (Petersen & Pedersen, 2012) gives
one, the closed-form gradient in numpy and the matrix formula symgrad should print. At random
matrices, symgrad's gradient must agree with central differences of the numpy function (an
independent reference), with the closed form, and its value with the numpy value.
"""

from __future__ import annotations

import numpy as np
import pytest

from symgrad import evaluate_matrix_gradient, matrix_gradient, parse_matrix
from symgrad.parsing.matrix_shapes import parse_shapes

SIZES = {"m": 4, "n": 3, "k": 5, "p": 2, "h": 3, "d": 2}

inv, det, tr = np.linalg.inv, np.linalg.det, np.trace


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# id, expression, shapes, wrt, numpy loss f(**arrays), {var: printed gradient},
# {var: closed-form gradient(**arrays)}, kinds of random values (default normal)
CASES = [
    # ------------------------------------------------ The Matrix Cookbook, section 2.4 and 2.5
    (
        "cookbook-69 a'Xb",
        "a'*X*b",
        "a=m; X=m,n; b=n",
        "X",
        lambda a, X, b: a @ X @ b,
        {"X": "a*b'"},
        {"X": lambda a, X, b: np.outer(a, b)},
        {},
    ),
    (
        "cookbook-70 a'X'b",
        "a'*X'*b",
        "a=n; X=m,n; b=m",
        "X",
        lambda a, X, b: a @ X.T @ b,
        {"X": "b*a'"},
        {"X": lambda a, X, b: np.outer(b, a)},
        {},
    ),
    (
        "cookbook-71 a'Xa",
        "a'*X*a",
        "a=n; X=n,n",
        "X",
        lambda a, X: a @ X @ a,
        {"X": "a*a'"},
        {"X": lambda a, X: np.outer(a, a)},
        {},
    ),
    (
        "cookbook-77 b'X'Xc",
        "b'*X'*X*c",
        "b=n; X=m,n; c=n",
        "X",
        lambda b, X, c: b @ X.T @ X @ c,
        {"X": "X*(c*b' + b*c')"},
        {"X": lambda b, X, c: X @ (np.outer(b, c) + np.outer(c, b))},
        {},
    ),
    (
        "cookbook-79 (Xb + c)'D(Xb + c)",
        "(X*b + c)'*D*(X*b + c)",
        "X=m,n; b=n; c=m; D=m,m",
        "X",
        lambda X, b, c, D: (X @ b + c) @ D @ (X @ b + c),
        {"X": "(D + D')*(X*b + c)*b'"},
        {"X": lambda X, b, c, D: np.outer((D + D.T) @ (X @ b + c), b)},
        {},
    ),
    (
        "cookbook-81 x'Bx",
        "x'*B*x",
        "x=n; B=n,n",
        "x",
        lambda x, B: x @ B @ x,
        {"x": "(B + B')*x"},
        {"x": lambda x, B: (B + B.T) @ x},
        {},
    ),
    (
        "cookbook-84 b'X'DXc",
        "b'*X'*D*X*c",
        "b=n; X=m,n; D=m,m; c=n",
        "X",
        lambda b, X, D, c: b @ X.T @ D @ X @ c,
        {"X": "D*X*c*b' + D'*X*b*c'"},
        {"X": lambda b, X, D, c: D.T @ X @ np.outer(b, c) + D @ X @ np.outer(c, b)},
        {},
    ),
    (
        "cookbook-49 det(X)",
        "det(X)",
        "X=n,n",
        "X",
        lambda X: det(X),
        {"X": "det(X)*inv(X)'"},
        {"X": lambda X: det(X) * inv(X).T},
        {},
    ),
    (
        "cookbook-57 log det(X)",
        "log(det(X))",
        "X=n,n",
        "X",
        lambda X: np.log(det(X)),
        {"X": "inv(X)'"},
        {"X": lambda X: inv(X).T},
        {"X": "spd"},
    ),
    (
        "cookbook-51 log det(X'X)",
        "log(det(X'*X))",
        "X=m,n",
        "X",
        lambda X: np.log(det(X.T @ X)),
        {"X": "2*X*inv(X'*X)"},
        {"X": lambda X: 2 * X @ inv(X.T @ X)},
        {},
    ),
    (
        "cookbook-61 a'inv(X)b",
        "a'*inv(X)*b",
        "a=n; X=n,n; b=n",
        "X",
        lambda a, X, b: a @ inv(X) @ b,
        {"X": "-inv(X)'*a*b'*inv(X)'"},
        {"X": lambda a, X, b: -inv(X).T @ np.outer(a, b) @ inv(X).T},
        {"X": "spd"},
    ),
    (
        "cookbook-100 tr(X)",
        "tr(X)",
        "X=n,n",
        "X",
        lambda X: tr(X),
        {"X": "eye(n)"},
        {"X": lambda X: np.eye(len(X))},
        {},
    ),
    (
        "cookbook-101 tr(XA)",
        "tr(X*A)",
        "X=m,n; A=n,m",
        "X",
        lambda X, A: tr(X @ A),
        {"X": "A'"},
        {"X": lambda X, A: A.T},
        {},
    ),
    (
        "cookbook-102 tr(AXB)",
        "tr(A*X*B)",
        "A=k,m; X=m,n; B=n,k",
        "X",
        lambda A, X, B: tr(A @ X @ B),
        {"X": "A'*B'"},
        {"X": lambda A, X, B: A.T @ B.T},
        {},
    ),
    (
        "cookbook-103 tr(AX'B)",
        "tr(A*X'*B)",
        "A=k,n; X=m,n; B=m,k",
        "X",
        lambda A, X, B: tr(A @ X.T @ B),
        {"X": "B*A"},
        {"X": lambda A, X, B: B @ A},
        {},
    ),
    (
        "cookbook-108 tr(X'X)",
        "tr(X'*X)",
        "X=m,n",
        "X",
        lambda X: tr(X.T @ X),
        {"X": "2*X"},
        {"X": lambda X: 2 * X},
        {},
    ),
    (
        "cookbook-111 tr(X'BX)",
        "tr(X'*B*X)",
        "X=m,n; B=m,m",
        "X",
        lambda X, B: tr(X.T @ B @ X),
        {"X": "(B + B')*X"},
        {"X": lambda X, B: B @ X + B.T @ X},
        {},
    ),
    (
        "cookbook-113 tr(AXBX)",
        "tr(A*X*B*X)",
        "A=n,n; X=n,n; B=n,n",
        "X",
        lambda A, X, B: tr(A @ X @ B @ X),
        {},
        {"X": lambda A, X, B: A.T @ X.T @ B.T + B.T @ X.T @ A.T},
        {},
    ),
    (
        "cookbook-121 tr(X^k)",
        "tr(X^3)",
        "X=n,n",
        "X",
        lambda X: tr(X @ X @ X),
        {"X": "3*X'^2"},
        {"X": lambda X: 3 * (X @ X).T},
        {},
    ),
    (
        "cookbook-124 tr(A inv(X) B)",
        "tr(A*inv(X)*B)",
        "A=n,n; X=n,n; B=n,n",
        "X",
        lambda A, X, B: tr(A @ inv(X) @ B),
        {},
        {"X": lambda A, X, B: -(inv(X) @ B @ A @ inv(X)).T},
        {"X": "spd"},
    ),
    (
        "cookbook-129 ||X||_F^2",
        "norm2(X)^2",
        "X=m,n",
        "X",
        lambda X: np.sum(X * X),
        {"X": "2*X"},
        {"X": lambda X: 2 * X},
        {},
    ),
    (
        "cookbook-131 ||x - a||_2",
        "norm2(x - a)",
        "x=n; a=n",
        "x",
        lambda x, a: np.linalg.norm(x - a),
        {"x": "(x - a)/norm2(x - a)"},
        {"x": lambda x, a: (x - a) / np.linalg.norm(x - a)},
        {},
    ),
    (
        "quadratic form of an inverse (Gaussian)",
        "(x - mu)'*inv(S)*(x - mu)",
        "x=n; mu=n; S=n,n",
        "x,mu,S",
        lambda x, mu, S: (x - mu) @ inv(S) @ (x - mu),
        {
            "x": "(inv(S) + inv(S)')*(x - mu)",
            "S": "-inv(S)'*(x - mu)*(x - mu)'*inv(S)'",
        },
        {"S": lambda x, mu, S: -inv(S).T @ np.outer(x - mu, x - mu) @ inv(S).T},
        {"S": "spd"},
    ),
    (
        "Gaussian negative log-likelihood",
        "log(det(S)) + (x - mu)'*inv(S)*(x - mu)",
        "x=n; mu=n; S=n,n",
        "mu,S",
        lambda x, mu, S: np.log(det(S)) + (x - mu) @ inv(S) @ (x - mu),
        {},
        {},
        {"S": "spd"},
    ),
    (
        "matrix power",
        "sum(X^2)",
        "X=n,n",
        "X",
        lambda X: np.sum(X @ X),
        {},
        {},
        {},
    ),
    (
        "inverse of a sum",
        "sum(inv(X + eye(n)))",
        "X=n,n",
        "X",
        lambda X: np.sum(inv(X + np.eye(len(X)))),
        {},
        {},
        {"X": "spd"},
    ),
    (
        "diagonal",
        "x'*diag(v)*x + sum(diag(A))",
        "x=n; v=n; A=n,n",
        "x,v,A",
        lambda x, v, A: x @ np.diag(v) @ x + np.trace(A),
        {"A": "eye(n)"},
        {},
        {},
    ),
    # ------------------------------------------------ ML losses
    (
        "least squares",
        "norm2(X*w - y)^2",
        "X=m,n; w=n; y=m",
        "w",
        lambda X, w, y: np.sum((X @ w - y) ** 2),
        {"w": "2*X'*(X*w - y)"},
        {"w": lambda X, w, y: 2 * X.T @ (X @ w - y)},
        {},
    ),
    (
        "least squares, all variables",
        "norm2(X*w - y)^2",
        "X=m,n; w=n; y=m",
        None,
        lambda X, w, y: np.sum((X @ w - y) ** 2),
        {"X": "2*(X*w - y)*w'", "y": "-2*(X*w - y)"},
        {"X": lambda X, w, y: 2 * np.outer(X @ w - y, w)},
        {},
    ),
    (
        "ridge",
        "norm2(X*w - y)^2 + lambda*norm2(w)^2",
        "X=m,n; w=n; y=m",
        "w,lambda",
        lambda X, w, y, lam: np.sum((X @ w - y) ** 2) + lam * np.sum(w * w),
        {"w": "2*X'*(X*w - y) + 2*lambda*w", "lambda": "norm2(w)^2"},
        {"w": lambda X, w, y, lam: 2 * X.T @ (X @ w - y) + 2 * lam * w},
        {},
    ),
    (
        "mean squared error",
        "sum((X*w + b - y).^2)/4",
        "X=m,n; w=n; y=m",
        "w,b",
        lambda X, w, b, y: np.mean((X @ w + b - y) ** 2),
        {"w": "X'*(X*w + b - y)/2", "b": "sum(X*w + b - y)/2"},
        {},
        {},
    ),
    (
        "logistic regression, cross-entropy",
        "-sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))",
        "X=m,n; w=n; y=m",
        "w",
        lambda X, w, y: -np.sum(y * np.log(sigmoid(X @ w)) + (1 - y) * np.log(1 - sigmoid(X @ w))),
        {"w": "X'*(sigmoid(X*w) - y)"},
        {"w": lambda X, w, y: X.T @ (sigmoid(X @ w) - y)},
        {"y": "unit"},
    ),
    (
        "logistic regression, labels +-1",
        "sum(softplus(-y .* (X*w))) + lambda*norm2(w)^2/2",
        "X=m,n; w=n; y=m",
        "w",
        lambda X, w, y, lam: np.sum(np.log1p(np.exp(-y * (X @ w)))) + lam * w @ w / 2,
        {"w": "lambda*w - X'*(y .* sigmoid(-y .* (X*w)))"},
        {"w": lambda X, w, y, lam: -X.T @ (y * sigmoid(-y * (X @ w))) + lam * w},
        {},
    ),
    (
        "softmax cross-entropy",
        "-y'*log(softmax(W*x + b))",
        "W=k,n; x=n; b=k; y=k",
        "W,b",
        lambda W, x, b, y: -y @ np.log(softmax(W @ x + b)),
        {"W": "(sum(y)*softmax(W*x + b) - y)*x'", "b": "sum(y)*softmax(W*x + b) - y"},
        {"b": lambda W, x, b, y: y.sum() * softmax(W @ x + b) - y},
        {"y": "unit"},
    ),
    (
        "logsumexp",
        "logsumexp(W*x)",
        "W=k,n; x=n",
        "x",
        lambda W, x: np.log(np.sum(np.exp(W @ x))),
        {"x": "W'*softmax(W*x)"},
        {"x": lambda W, x: W.T @ softmax(W @ x)},
        {},
    ),
    (
        "two-layer tanh network",
        "sum((y - V*tanh(W*x + b)).^2)",
        "y=p; V=p,h; W=h,n; x=n; b=h",
        "W,b,V",
        lambda y, V, W, x, b: np.sum((y - V @ np.tanh(W @ x + b)) ** 2),
        {
            "b": "-2*(1 - tanh(W*x + b).^2) .* (V'*(y - V*tanh(W*x + b)))",
            "W": "-2*((1 - tanh(W*x + b).^2) .* (V'*(y - V*tanh(W*x + b))))*x'",
            "V": "-2*(y - V*tanh(W*x + b))*tanh(W*x + b)'",
        },
        {
            "b": lambda y, V, W, x, b: (
                -2 * (1 - np.tanh(W @ x + b) ** 2) * (V.T @ (y - V @ np.tanh(W @ x + b)))
            )
        },
        {},
    ),
    (
        "two-layer tanh network, norm2",
        "norm2(y - V*tanh(W*x + b))^2",
        "y=p; V=p,h; W=h,n; x=n; b=h",
        "W,b,V",
        lambda y, V, W, x, b: np.sum((y - V @ np.tanh(W @ x + b)) ** 2),
        {"b": "-2*(1 - tanh(W*x + b).^2) .* (V'*(y - V*tanh(W*x + b)))"},
        {},
        {},
    ),
    (
        "batched two-layer network",
        "norm2(y - tanh(X*W' + ones(m)*b')*v)^2",
        "y=m; X=m,d; W=h,d; b=h; v=h",
        "W,b,v",
        lambda y, X, W, b, v: np.sum((y - np.tanh(X @ W.T + b) @ v) ** 2),
        {},
        {},
        {},
    ),
    (
        "relu layer with L1",
        "sum(relu(W*x + b)) + sum(abs(W))",
        "W=h,n; x=n; b=h",
        "W,b",
        lambda W, x, b: np.sum(np.maximum(W @ x + b, 0)) + np.sum(np.abs(W)),
        {"b": "Heaviside(W*x + b)", "W": "Heaviside(W*x + b)*x' + sign(W)"},
        {},
        {},
    ),
    (
        "sigmoid layer, elementwise product",
        "sum(sigmoid(W*x) .* (W*x))",
        "W=h,n; x=n",
        "x",
        lambda W, x: np.sum(sigmoid(W @ x) * (W @ x)),
        {},
        {},
        {},
    ),
    (
        "a scalar broadcast and elementwise division",
        "sum((X + s) ./ (1 + exp(X)))",
        "X=m,n",
        "X,s",
        lambda X, s: np.sum((X + s) / (1 + np.exp(X))),
        {},
        {},
        {},
    ),
    (
        "the notes' tensors: sum(x + b)",
        "sum(x + b)",
        "x=3,4; b=3,4",
        "b",
        lambda x, b: np.sum(x + b),
        {"b": "ones(3,4)"},
        {"b": lambda x, b: np.ones((3, 4))},
        {},
    ),
    (
        "entries and one-hot",
        "x[0]*A[1, 2] + softmax(x)[1]",
        "x=n; A=n,n",
        "x,A",
        lambda x, A: x[0] * A[1, 2] + softmax(x)[1],
        {"A": "x[0]*onehot(1, n)*onehot(2, n)'"},
        {},
        {},
    ),
]


def _draw(rng, name, shape, kind):
    if kind == "spd":
        b = rng.standard_normal(shape)
        return b @ b.T / shape[0] + np.eye(shape[0])
    if kind == "unit":
        return rng.uniform(0.05, 0.95, size=shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    return rng.standard_normal(shape)


def _arrays(shapes, kinds, rng):
    out = {}
    for name, (rows, cols) in shapes.items():
        rows, cols = SIZES.get(rows, rows), SIZES.get(cols, cols)
        if (rows, cols) == (1, 1):
            out[name] = np.array(rng.uniform(0.5, 1.5))
        else:
            shape = (rows,) if cols == 1 else (rows, cols)
            out[name] = _draw(rng, name, shape, kinds.get(name, "normal"))
    return out


def _numpy_args(fn, arrays):
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    return [arrays["lambda" if n == "lam" else n] for n in names]


def _central(fn, arrays, name, h=1e-6):
    """Central differences of the test's own numpy function, entry by entry."""
    x = arrays[name]
    grad = np.zeros_like(x, dtype=float)
    for index in np.ndindex(*x.shape) if x.ndim else [()]:
        up = {k: np.array(v, dtype=float) for k, v in arrays.items()}
        down = {k: np.array(v, dtype=float) for k, v in arrays.items()}
        step = h * max(1.0, abs(float(x[index])))
        up[name][index] += step
        down[name][index] -= step
        f_up = fn(*_numpy_args(fn, up))
        f_down = fn(*_numpy_args(fn, down))
        grad[index] = (f_up - f_down) / (2 * step)
    return grad


@pytest.mark.parametrize(
    "expr, shapes, wrt, loss, printed, closed, kinds",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_gradient_agrees_with_numpy_and_the_cookbook(
    expr, shapes, wrt, loss, printed, closed, kinds
):
    grad = matrix_gradient(expr, shapes, wrt)
    for var, text in printed.items():
        assert str(grad[var]) == text
    all_shapes = parse_shapes(shapes)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        scalars = {n for n in grad.shapes if n not in all_shapes}
        arrays = _arrays({**all_shapes, **{s: (1, 1) for s in scalars}}, kinds, rng)
        at = {n: np.asarray(a).tolist() for n, a in arrays.items()}
        result = evaluate_matrix_gradient(grad, at)
        assert result.value == pytest.approx(float(loss(*_numpy_args(loss, arrays))), rel=1e-9)
        for var, value in zip(grad.wrt, result.gradient_value):
            mine = np.asarray(value, dtype=float)
            reference = _central(loss, arrays, var)
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6, err_msg=var)
            if var in closed:
                cookbook = closed[var](*_numpy_args(closed[var], arrays))
                np.testing.assert_allclose(mine, cookbook, rtol=1e-9, atol=1e-12, err_msg=var)


@pytest.mark.parametrize("expr, shapes, wrt", [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_every_gradient_reparses_to_itself(expr, shapes, wrt):
    grad = matrix_gradient(expr, shapes, wrt)
    table = dict(grad.shapes)
    assert parse_matrix(str(grad.expression), table) == grad.expression
    for var, partial in zip(grad.wrt, grad.partials):
        assert partial.shape == grad.shapes[var]
        assert parse_matrix(str(partial), table) == partial, str(partial)


@pytest.mark.parametrize("expr, shapes, wrt", [c[1:4] for c in CASES], ids=[c[0] for c in CASES])
def test_every_identity_passes_the_finite_difference_check(expr, shapes, wrt):
    from symgrad import check_matrix_gradient

    names = {d for shape in parse_shapes(shapes).values() for d in shape if isinstance(d, str)}
    dims = {d: SIZES[d] for d in names}
    result = check_matrix_gradient(expr, shapes, wrt, points=3, dims=dims)
    assert result.status == "pass", result.notes
    assert result.points == 3 and result.entries > 0
