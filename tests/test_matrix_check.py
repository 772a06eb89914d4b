"""Checks of matrix gradients: verdicts, claims and their hints, points from JSON files,
domains, kinks and options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symgrad import check_matrix_gradient, evaluate_matrix_gradient, matrix_gradient
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.numeric.matrix_check import default_dims

LSQ = ("norm2(X*w - y)^2", "X=m,n; w=n; y=m")


def test_a_correct_gradient_passes_entry_by_entry():
    r = check_matrix_gradient(*LSQ, dims="m=5,n=3")
    assert r.status == "pass" and r.ok and r.exit_code == 0
    assert r.gradient_status == "pass"
    assert r.dims == {"m": 5, "n": 3}
    assert r.points == 10
    assert r.entries == 10 * (15 + 3 + 5)  # every entry of X, w and y at every point
    assert r.max_abs_error < 1e-6
    assert set(r.worst_point) == {"X", "w", "y"}
    assert np.array(r.worst_point["X"]).shape == (5, 3)


def test_default_sizes_are_small_and_distinct():
    assert default_dims([("m", "n"), ("n", 1)], {}) == {"m": 3, "n": 4}
    assert default_dims([("m", "n"), ("k", 1)], {"m": 3}) == {"m": 3, "n": 4, "k": 2}
    r = check_matrix_gradient("sum(x)", "x=n", dims="n=2,q=3", points=1)
    assert r.dims == {"n": 2} and r.notes == ("--dims q: not a size of any variable here",)


@pytest.mark.parametrize(
    "expr, shapes, wrt, claim, status, method, hint",
    [
        (*LSQ, "w", "2*X'*(X*w - y)", "pass", "symbolic", None),
        (*LSQ, "w", "2*X'*X*w - 2*X'*y", "pass", "symbolic", None),
        (*LSQ, "w", "2*((w'*X' - y')*X)'", "pass", "symbolic", None),
        (*LSQ, "w", "2*X'*(X*w - y) + 0*sum(exp(w))*w", "pass", "symbolic", None),
        ("sum(exp(x))", "x=n", "x", "exp(x) .* exp(x) ./ exp(x)", "pass", "symbolic", None),
        ("sum(sin(x).^2)", "x=n", "x", "sin(2*x)", "pass", "numeric", None),
        (*LSQ, "w", "-2*X'*(X*w - y)", "mismatch", None, "off by a factor of -1 (a sign error)"),
        (*LSQ, "w", "X'*(X*w - y)", "mismatch", None, "off by a factor of 0.5"),
        (*LSQ, "X", "2*(X*w - y)*w'", "pass", "symbolic", None),
        ("x'*A*x", "A=n,n; x=n", "x", "2*A*x", "mismatch", None, None),
        ("x'*A*x", "A=n,n; x=n", "x", "(A' + A)*x", "pass", "symbolic", None),
        ("tr(A*X*B)", "A=n,n; X=n,n; B=n,n", "X", "B*A", "mismatch", None,
         "the claim is the transpose of the derivative: try A'*B'"),
        ("log(det(X))", "X=n,n", "X", "inv(X)", "mismatch", None,
         "the claim is the transpose of the derivative: try inv(X)'"),
        ("sum(x + b)", "x=3,4; b=3,4", "b", "ones(3,4)", "pass", "symbolic", None),
        ("sum(x + b)", "x=3,4; b=3,4", "b", "1", "pass", "symbolic", None),
        ("sum(exp(x))", "x=n", "x", "exp(x) + 1", "mismatch", None,
         "off by a constant in every entry: the derivative is the claim - 1"),
    ],
)  # fmt: skip
def test_claims(expr, shapes, wrt, claim, status, method, hint):
    r = check_matrix_gradient(expr, shapes, wrt, claims=[claim])
    (verdict,) = r.claims
    assert verdict.status == status and r.status == status
    assert verdict.proof == method
    assert verdict.hint == hint
    assert r.gradient_status == "pass"  # only the claim can be wrong
    if status == "mismatch":
        assert r.exit_code == 1
        row, col = verdict.entry
        assert verdict.difference == pytest.approx(verdict.claimed_value - verdict.true_value)
        # the finite difference is an independent witness for the true value
        assert verdict.finite_difference == pytest.approx(verdict.true_value, rel=1e-4, abs=1e-6)
        # and the true value is the gradient's entry at the counterexample
        at = evaluate_matrix_gradient(r.gradient, verdict.counterexample)
        full = np.array(at.gradient_value[0], dtype=float)
        full = full.reshape(full.shape[0], -1) if full.ndim == 2 else full.reshape(-1, 1)
        assert full[row, col] == pytest.approx(verdict.true_value)


@pytest.mark.parametrize(
    "claims, error, message",
    [
        (["2*X*(X*w - y)"], InputError, "in --claim '2*X*(X*w - y)': matrix product X*(X*w - y)"),
        (["2*X'*(X*w - z)"], VariableError, "uses z, which is not in"),
        (["2*X'*(X*w - y))"], ParseError, "in --claim"),
        (["a", "b"], InputError, "got 2 claims for 1 variable"),
    ],
)
def test_bad_claims(claims, error, message):
    with pytest.raises(error) as info:
        check_matrix_gradient(*LSQ, "w", claims=claims)
    assert message in info.value.message


def test_a_transposed_claim_of_the_wrong_shape_says_so():
    with pytest.raises(InputError) as info:
        check_matrix_gradient(*LSQ, "X", claims=["2*w*(X*w - y)'"])
    assert info.value.message.endswith("the claim is transposed: try 2*(X*w - y)*w'")


def test_at_a_point_from_a_json_file(tmp_path):
    point = {"X": [[1, 2], [3, 4], [5, 6]], "w": [1, -1], "y": [0, 1, 0]}
    path = tmp_path / "point.json"
    path.write_text(json.dumps(point))
    r = check_matrix_gradient(*LSQ, at=f"@{path}")
    assert r.status == "pass" and r.points == 1 and r.dims == {"m": 3, "n": 2}
    assert r.at == {k: np.array(v, dtype=float).tolist() for k, v in point.items()}
    g = evaluate_matrix_gradient(matrix_gradient(*LSQ), f"@{path}")
    X, w, y = (np.array(point[k], dtype=float) for k in "Xwy")
    assert g.value == pytest.approx(float(np.sum((X @ w - y) ** 2)))
    np.testing.assert_allclose(g.gradient_value[1], 2 * X.T @ (X @ w - y))
    np.testing.assert_allclose(g.gradient_value[0], 2 * np.outer(X @ w - y, w))


@pytest.mark.parametrize(
    "at, error, message",
    [
        ({"X": [[1, 2]], "w": [1, 2, 3], "y": [1]}, InputError, "the size n is 2 by X but 3 by w"),
        ({"X": [[1, 2]], "w": [1, 2]}, VariableError, "no value for y"),
        ({"X": [[1, 2]], "w": [1, 2], "y": [1], "q": 1}, VariableError, "'q' in --at"),
        ({"X": [1, 2], "w": [1, 2], "y": [1]}, InputError, "give its value as a list of rows"),
        ({"X": [[1, 2], [3]], "w": [1, 2], "y": [1, 2]}, InputError, "rectangular"),
        ({"X": "a", "w": [1, 2], "y": [1]}, InputError, "must be a number"),
        ('{"X": [[1, 2]], ', InputError, "the point is not JSON"),
        ("@/nonexistent/point.json", InputError, "cannot read the point file"),
        ("[1, 2]", InputError, "a point is a JSON object"),
    ],
)
def test_bad_points(at, error, message):
    with pytest.raises(error) as info:
        check_matrix_gradient(*LSQ, at=at if isinstance(at, str) else json.dumps(at))
    assert message in info.value.message


@pytest.mark.parametrize(
    "expr, shapes, at, note",
    [
        ("log(det(X))", "X=n,n", {"X": [[-1, 0], [0, 1]]}, "f is not a finite real number here"),
        ("sum(inv(X))", "X=n,n", {"X": [[1, 1], [1, 1]]}, "X is singular or nearly so here"),
        ("sum(log(x))", "x=n", {"x": [-1, 1]}, "f is not a finite real number here"),
    ],
)
def test_outside_the_domain_is_unverifiable(expr, shapes, at, note):
    r = check_matrix_gradient(expr, shapes, at=at)
    assert r.status == "unverifiable" and r.exit_code == 4
    assert note in r.notes


def test_random_points_find_the_domain():
    # log of every entry, log det: positive entries and positive definite matrices are drawn
    r = check_matrix_gradient("sum(log(x)) + log(det(S))", "x=n; S=n,n", dims="n=4", points=5)
    assert r.status == "pass" and r.points == 5


def test_no_point_in_the_domain():
    r = check_matrix_gradient("log(det(X'*X))", "X=m,n", dims="m=2,n=3", points=2)
    assert r.status == "unverifiable"
    assert "X'*X is singular or nearly so here" in r.notes[0]


def test_kinks_are_not_compared_across():
    r = check_matrix_gradient("sum(relu(X))", "X=n,n", at={"X": [[0, 1], [-1, 0]]})
    assert r.status == "pass" and r.entries == 2
    assert "2 entries were not compared" in r.notes[0]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"points": 0}, "--points must be between 1"),
        ({"rtol": -1}, "--rtol must be a finite number >= 0"),
        ({"atol": float("nan")}, "--atol must be a finite number >= 0"),
        ({"dims": "m=100000,n=1000"}, "entries at these sizes"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(InputError) as info:
        check_matrix_gradient(*LSQ, **options)
    assert message in info.value.message


def test_a_wrong_rule_would_be_caught(monkeypatch):
    # the checker is not a rubber stamp: break tanh's derivative and it reports a mismatch
    from symgrad.derive import matrix_rules as rules

    broken = dict(rules.RULES)
    good = broken["fn"]
    broken["fn"] = rules.Rule(good.numpy, lambda n, g: [rules.E.mul(2, p) for p in good.vjp(n, g)])
    monkeypatch.setattr(rules, "RULES", broken)
    monkeypatch.setattr("symgrad.derive.matrix.RULES", broken)
    r = check_matrix_gradient("sum(tanh(W*x))", "W=m,n; x=n", "W", points=2)
    assert r.status == "mismatch" and r.gradient_status == "mismatch"
    assert "this is a bug in symgrad" in r.notes[0]


def test_a_variable_not_in_the_expression():
    g = matrix_gradient(*LSQ, "w,z")
    assert str(g["z"]) == "0"
    assert g.notes == ("z does not appear in the expression (its variables are X, w, y)",)
    with pytest.raises(VariableError, match="named twice"):
        matrix_gradient(*LSQ, "w,w")
    with pytest.raises(InputError, match="a gradient needs a scalar"):
        matrix_gradient("X*w", "X=m,n; w=n")
