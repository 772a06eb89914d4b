"""descend: the notes' escape-minima case, Rosenbrock for every optimizer within its default
budget, the three verdicts, and JSON records that match their schema."""

from __future__ import annotations

import json
import math
from importlib.resources import files

import pytest

from symgrad.errors import InputError, VariableError
from symgrad.numeric.descend import DEFAULTS, OPTIMIZERS, descend
from symgrad.printing import render

QUARTIC = "x^4 - 3*x^2 + x"
ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"


def test_plain_descent_stops_in_the_local_minimum_and_momentum_escapes_it():
    # the notes' "Escape Minima": momentum carries the point over the hump
    plain = descend(QUARTIC, "x=2", lr=0.01)
    assert plain.verdict == "converged" and plain.optimizer == "sgd"
    assert math.isclose(plain.point["x"], 1.1309, abs_tol=1e-3)
    heavy = descend(QUARTIC, "x=2", lr=0.01, momentum=0.9)
    assert heavy.verdict == "converged" and heavy.optimizer == "momentum"
    assert math.isclose(heavy.point["x"], -1.3008, abs_tol=1e-3)
    assert heavy.final.value < plain.final.value  # the global minimum is lower


def exact_minimum_of_quartic() -> float:
    # 4x^3 - 6x + 1 = 0: Newton's method from -1.3, independent of symgrad
    x = -1.3
    for _ in range(50):
        x -= (4 * x**3 - 6 * x + 1) / (12 * x**2 - 6)
    return x


def test_the_minimum_reached_is_the_root_of_the_derivative():
    heavy = descend(QUARTIC, "x=2", lr=0.01, momentum=0.9, tol=1e-10)
    assert math.isclose(heavy.point["x"], exact_minimum_of_quartic(), abs_tol=1e-9)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_reaches_rosenbrocks_minimum_within_its_default_budget(optimizer):
    result = descend(ROSENBROCK, "x=-1.5,y=2", optimizer=optimizer)
    assert result.verdict == "converged", result.final
    assert result.final.step <= DEFAULTS[optimizer].steps
    assert math.isclose(result.point["x"], 1, abs_tol=1e-4)
    assert math.isclose(result.point["y"], 1, abs_tol=1e-4)
    assert result.exit_code == 0


def test_the_path_follows_the_update_rule_of_each_optimizer():
    # f = x^2/2: grad = x, so each update is plain arithmetic
    sgd = descend("x^2/2", "x=1", lr=0.1, steps=2)
    assert [s.point[0] for s in sgd.path] == pytest.approx([1, 0.9, 0.81])
    heavy = descend("x^2/2", "x=1", lr=0.1, momentum=0.5, steps=2)
    # v1 = -0.1; x1 = 0.9; v2 = 0.5*-0.1 - 0.1*0.9 = -0.14; x2 = 0.76
    assert [s.point[0] for s in heavy.path] == pytest.approx([1, 0.9, 0.76])
    nesterov = descend("x^2/2", "x=1", lr=0.1, optimizer="nesterov", momentum=0.5, steps=2)
    # v1 = -0.1*1; x1 = 0.9; v2 = 0.5*-0.1 - 0.1*(0.9 + 0.5*-0.1) = -0.135; x2 = 0.765
    assert [s.point[0] for s in nesterov.path] == pytest.approx([1, 0.9, 0.765])
    adam = descend("x^2/2", "x=1", lr=0.1, optimizer="adam", steps=1)
    # the first Adam step moves by lr whatever the gradient's size (m/sqrt(s) = sign)
    assert adam.path[1].point[0] == pytest.approx(0.9, abs=1e-7)


def test_gradients_on_the_path_are_the_symbolic_ones():
    result = descend(ROSENBROCK, "x=-1.5,y=2", lr=0.001, steps=3)
    for s in result.path:
        x, y = s.point
        want = (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x))
        assert s.gradient == pytest.approx(want, rel=1e-12)
        assert s.value == pytest.approx((1 - x) ** 2 + 100 * (y - x * x) ** 2, rel=1e-12)


@pytest.mark.parametrize(
    "text, start, options, verdict",
    [
        ("x^2", "x=1", {"lr": 1.5}, "diverged"),  # overshoots further every step
        ("-x^2", "x=1", {"lr": 0.1}, "diverged"),  # no minimum: runs away
        ("exp(-x)", "x=0", {"lr": 0.1, "steps": 50}, "step limit"),
        ("log(x)", "x=1", {"lr": 2.0}, "left domain"),  # steps to x < 0, where f is undefined
        ("x*log(x)", "x=2", {"lr": 5.0, "optimizer": "momentum"}, "left domain"),
        ("(x - 3)^2", "x=0", {"lr": 0.1}, "converged"),
    ],
)
def test_verdicts(text, start, options, verdict):
    result = descend(text, start, **options)
    assert result.verdict == verdict
    assert result.exit_code == (0 if verdict == "converged" else 1)
    if verdict != "converged":
        assert result.notes


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lr": -1}, "--lr"),
        ({"lr": 0}, "--lr"),
        ({"tol": 0}, "--tol"),
        ({"steps": -1}, "--steps"),
        ({"momentum": 1.0}, "--momentum"),
        ({"optimizer": "rmsprop"}, "sgd, momentum, nesterov, adam"),
        ({"optimizer": "adam", "momentum": 0.9}, "--momentum applies"),
    ],
)
def test_bad_options_are_input_errors(options, message):
    with pytest.raises(InputError, match=message):
        descend("x^2", "x=1", **options)


def test_every_variable_needs_a_start():
    with pytest.raises(VariableError, match="no value for y"):
        descend("x^2 + y^2", "x=1")


def schema():
    return json.loads(files("symgrad").joinpath("schema.json").read_text())


def test_json_records_match_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    every = jsonschema.Draft202012Validator(schema())
    step = jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/descent_step"})
    last = jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/descent"})
    for text, start, options in [
        (QUARTIC, "x=2", {"lr": 0.01, "momentum": 0.9}),
        (ROSENBROCK, "x=-1.5,y=2", {"optimizer": "adam", "steps": 30}),
        ("x^2", "x=1", {"lr": 1.5}),  # diverged: huge numbers, still finite JSON
    ]:
        records = render(descend(text, start, **options), "json", source=text)
        lines = [json.dumps(r, allow_nan=False) for r in records]  # finite numbers only
        parsed = [json.loads(line) for line in lines]
        for r in parsed[:-1]:
            step.validate(r)
            every.validate(r)
        last.validate(parsed[-1])
        assert len(parsed) - 1 == parsed[-1]["steps"] + 1  # every state, from step 0


def test_text_shows_every_kth_row_and_the_verdict():
    result = descend(QUARTIC, "x=2", lr=0.01, momentum=0.9)
    lines = render(result, "text")
    assert lines[-1].startswith("converged after 283 steps: x=-1.30")
    assert 15 <= len(lines) <= 30
    assert all("\x1b" not in line for line in lines)
