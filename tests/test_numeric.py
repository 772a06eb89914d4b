"""Numbers at a point: `--at` values against mpmath at 30 digits, domains, kinks, bad points."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from symgrad import gradient, parse
from symgrad.errors import InputError, VariableError
from symgrad.functions import symbol
from symgrad.numeric.domain import domain_conditions, domain_notes, kinks
from symgrad.numeric.evaluate import evaluate_gradient
from symgrad.numeric.points import parse_point
from tests.reference import numeric

# (expression, point): every value and partial must agree with mpmath to 1e-9 relative
AT = [
    ("y*log(w*x + b)", "w=1,x=2,y=3,b=0.5"),
    ("(y - (x*w + b))^2", "w=0.3,x=-1.7,y=2.2,b=0.1"),
    ("sigmoid(w*x + b)", "w=2,x=3,b=-1"),
    ("sigmoid(x)", "x=-40"),
    ("softplus(x)*tanh(y)", "x=3.5,y=-0.25"),
    ("relu(x)*y + abs(y)", "x=1.5,y=-2"),
    ("sqrt(x^2 + y^2)", "x=3,y=4"),
    ("atan2(y, x)", "x=-1,y=0.5"),
    ("erf(x)*exp(-x^2)", "x=0.7"),
    ("max(x, y) - min(x, y)", "x=2,y=-1"),
    ("log(x, 2) + log10(x) + cbrt(x)", "x=8"),
    ("asin(x)*acos(x)*atanh(x)", "x=0.3"),
    ("acosh(x) + asinh(x)", "x=2.5"),
    ("tan(x)*sec(x) + cot(x)*csc(x)", "x=0.4"),
    ("x^y", "x=1.5,y=2.5"),
    ("θ^2*e^θ + pi*θ", "θ=0.5"),
    ("silu(x)", "x=-1.3"),
]


@pytest.mark.parametrize("text, at", AT)
def test_values_agree_with_an_independent_reference(text, at):
    result = evaluate_gradient(text, at)
    point = {symbol(k): sp.Float(v, 30) for k, v in result.at.items()}
    assert result.exit_code == 0, result.notes
    expected = [numeric(result.gradient.expression, point)]
    expected += [numeric(p, point) for p in result.gradient.partials]
    got = [result.value, *result.gradient_value]
    for g, e in zip(got, expected):
        assert math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-12), (text, got, expected)


@pytest.mark.parametrize(
    "text, at, words",
    [
        ("y*log(w*x + b)", "w=1,x=-2,y=3,b=0.5", "log(b + w*x) needs b + w*x > 0"),
        ("sqrt(x)", "x=-1", "sqrt(x) needs x >= 0, but x = -1 here"),
        ("1/(x - 1)", "x=1", "needs x - 1 != 0"),
        ("asin(x)", "x=2", "needs -1 <= x <= 1"),
        ("10^300*10^300*x", "x=2", "a number of 601 digits is beyond the range of a double"),
    ],
)
def test_outside_the_domain_is_null_with_a_note_and_exit_4(text, at, words):
    result = evaluate_gradient(text, at)
    assert result.exit_code == 4
    assert None in (result.value, *result.gradient_value)
    assert any(words in note for note in result.notes), result.notes


@pytest.mark.parametrize(
    "text, at, var, left, right, convention",
    [
        ("relu(x)", "x=0", "x", "0", "1", "sympy gives 0.5 (Heaviside(0) = 1/2), PyTorch 0"),
        ("abs(x)", "x=0", "x", "-1", "1", "sympy and PyTorch give 0 (sign(0) = 0)"),
        ("relu(w*x + b)", "w=1,x=2,b=-2", "w", "0", "2", "sympy gives 1 (Heaviside(0)"),
        ("-relu(x)*3", "x=0", "x", "0", "-3", "sympy gives -1.5 (Heaviside(0) = 1/2), PyTorch 0"),
        ("max(x, y)", "x=1,y=1", "x", "0", "1", "sympy gives 0.5 (Heaviside(0) = 1/2)"),
    ],
)
def test_at_a_kink_the_partial_is_null_with_both_one_sided_derivatives(
    text, at, var, left, right, convention
):
    result = evaluate_gradient(text, at)
    assert result.exit_code == 4
    index = [v.name for v in result.gradient.wrt].index(var)
    assert result.gradient_value[index] is None
    note = next(n for n in result.notes if n.startswith(f"df/d{var} "))
    assert f"left derivative {left}, right derivative {right}" in note
    assert convention in note


def test_a_kink_that_cancels_is_differentiable():
    # x*abs(x) has derivative 2*abs(x): 0 from both sides
    result = evaluate_gradient("x*abs(x)", "x=0")
    assert result.exit_code == 0 and result.gradient_value == (0.0,)


def test_a_step_has_no_derivative_at_its_jump():
    result = evaluate_gradient("Heaviside(x) + y", "x=0,y=1")
    assert result.exit_code == 4 and result.gradient_value == (None, 1.0)
    assert any("f jumps where x = 0" in n for n in result.notes)


def test_parse_point_accepts_constants_and_greek():
    assert parse_point("w=1, x=-0.5, θ=pi/2, y=atan2(1, 1)") == {
        "w": 1.0,
        "x": -0.5,
        "theta": math.pi / 2,
        "y": math.pi / 4,
    }


@pytest.mark.parametrize(
    "at, error, words",
    [
        ("w=1", VariableError, "no value for b, x, y in --at"),
        ("w=1,x=2,y=3,b=0,v=1", VariableError, "'v' is not in"),
        ("w", InputError, "expected name=value"),
        ("w=1,w=2", InputError, "twice"),
        ("w=z", InputError, "is not a number"),
        ("w=1+", InputError, "not a number"),
        ("w=sqrt(-1)", InputError, "not real"),
        ("", InputError, "needs values"),
    ],
)
def test_bad_points_name_the_problem(at, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(")):
        evaluate_gradient("y*log(w*x + b)", at)


def test_domain_conditions_are_cheap_and_drop_what_always_holds():
    conds = domain_conditions(parse("log(x^2 + 1) + sqrt(y) + 1/(y)"))
    assert [c.text() for c in conds] == ["y >= 0", "y != 0"] or [c.text() for c in conds] == [
        "y != 0",
        "y >= 0",
    ]
    assert domain_notes(gradient("y*log(w*x + b)", "w")) == ("df/dw defined where b + w*x > 0",)


def test_kinks_find_abs_relu_max_and_steps_once():
    found = kinks(parse("abs(x) + relu(x) + max(x, y) + min(y, x) + Heaviside(z)"))
    subjects = {sp.srepr(k.subject) for k in found}
    assert len(subjects) == 3
    assert [k.step for k in found if k.subject == symbol("z")] == [True]
