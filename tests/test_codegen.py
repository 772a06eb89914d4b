"""Generated code: import it, and compare value and gradient with central finite differences."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from symgrad import parse
from symgrad.cli.app import app
from symgrad.derive.partial import variables
from symgrad.errors import InputError
from symgrad.functions import symbol
from symgrad.numeric.code import codegen
from symgrad.numeric.compile import identifiers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import mlp  # noqa: E402

EXPRESSIONS = [
    "y*log(w*x + b)",
    "(y - (x*w + b))^2",
    "sigmoid(w*x + b) + softplus(w - x) + relu(x + 3)",
    "tanh(w*tanh(x*b))^2 + exp(-w^2/2)/sqrt(2*pi)",
    "sin(x)*cos(w) + tan(b/4) + atan2(x, w + 2) + asin(x/3)",
    "abs(x - 5)*max(w, -1) + min(b, 4) + x^3 - 1/(1 + b^2)",
    "log(x, 2) + cbrt(w + 2) + 2^x + erf(b)",
    "sinh(x/2) + cosh(w/2) + asinh(b) + acosh(x + 2) + atanh(w/3)",
    "sec(x/2) + csc(w + 1) + cot(b + 1) + x",
    "silu(x) + w*b*x + 3",
]


def load(source: str):
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # our own output, not user text
    return namespace


def central(f, args: dict, name: str, h: float = 1e-6) -> float:
    up, down = dict(args), dict(args)
    up[name] = args[name] + h
    down[name] = args[name] - h
    return (f(**up)[0] - f(**down)[0]) / (2 * h)


@pytest.mark.parametrize("target", ["python", "numpy"])
@pytest.mark.parametrize("text", EXPRESSIONS)
def test_generated_gradient_matches_finite_differences(text, target, rng):
    code = codegen(text, target=target)
    f = load(code.source)[code.name]
    names = [v.name for v in code.arguments]
    for _ in range(3):
        point = {n: rng.uniform(0.2, 0.9) for n in names}
        value, grad = f(**point)
        assert math.isclose(float(value), float(parse(text).subs(_symbols(point)).evalf()))
        for var, partial in zip(code.wrt, grad):
            want = central(f, point, var.name)
            assert math.isclose(float(partial), want, rel_tol=1e-5, abs_tol=1e-7), var


def _symbols(point: dict) -> dict:
    from symgrad.functions import symbol

    return {symbol(n): v for n, v in point.items()}


def test_numpy_target_is_vectorised_and_broadcasts_constants(rng):
    code = codegen("w*x + 3*b + sigmoid(x)", "w,b,x", target="numpy")
    f = load(code.source)["f"]
    x = np.linspace(-2, 2, 7)
    value, (dw, db, dx) = f(b=0.5, w=np.full(7, 2.0), x=x)
    assert value.shape == dw.shape == db.shape == dx.shape == (7,)
    assert np.allclose(db, 3.0) and np.allclose(dw, x)
    s = 1 / (1 + np.exp(-x))
    assert np.allclose(dx, 2.0 + s * (1 - s))


def test_mlp_loss_code_agrees_with_finite_differences(rng):
    n = 3
    code = codegen(mlp.loss(n), ",".join(mlp.params(n)), target="numpy")
    f = load(code.source)["f"]
    point = {v.name: rng.uniform(-1, 1) for v in code.arguments}
    _, grad = f(**point)
    for var, partial in zip(code.wrt, grad):
        assert math.isclose(partial, central(f, point, var.name), rel_tol=1e-5, abs_tol=1e-7)


def test_module_docstring_says_how_it_was_generated():
    code = codegen("y*log(w*x + b)", "w,b")
    tree = ast.parse(code.source)
    doc = ast.get_docstring(tree)
    assert "symgrad codegen --target numpy" in doc and "f = y*log(b + w*x)" in doc
    assert "gradient is by (w, b)" in doc
    assert [node.name for node in tree.body if isinstance(node, ast.FunctionDef)] == ["f"]


@pytest.mark.parametrize(
    "name, safe", [("x", "x"), ("lambda", "lambda_"), ("value", "value_"), ("numpy", "numpy_")]
)
def test_variable_names_become_safe_parameters(name, safe):
    assert identifiers([symbol(name)])[name] == safe


def test_variables_named_like_python_keywords_still_work():
    code = codegen("lambda*x^2 + value", target="python")
    f = load(code.source)["f"]
    value, grad = f(lambda_=2.0, value_=1.0, x=3.0)
    assert value == 19.0 and grad == (9.0, 1.0, 12.0)
    assert [v.name for v in variables(parse("lambda*x^2 + value"))] == ["lambda", "value", "x"]


@pytest.mark.parametrize("target, name", [("fortran", "f"), ("numpy", "not a name")])
def test_bad_target_or_name_is_an_input_error(target, name):
    with pytest.raises(InputError):
        codegen("x^2", target=target, name=name)


runner = CliRunner()


def test_cli_codegen_prints_importable_code():
    result = runner.invoke(app, ["codegen", "y*log(w*x+b)", "--wrt", "w,b", "-t", "python"])
    assert result.exit_code == 0 and result.stderr == ""
    f = load(result.stdout)["f"]
    value, grad = f(b=0.5, w=2.0, x=1.0, y=3.0)
    assert math.isclose(value, 3 * math.log(2.5)) and grad == pytest.approx((1.2, 1.2))


def test_cli_codegen_json_carries_the_code():
    result = runner.invoke(app, ["codegen", "x^2", "-f", "json", "--name", "square"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["target"] == "numpy" and record["wrt"] == ["x"]
    assert "def square(x):" in record["code"]


def test_cli_codegen_has_no_latex_form():
    result = runner.invoke(app, ["codegen", "x^2", "-f", "latex"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "input error" in result.stderr


@pytest.mark.parametrize("target", ["python", "numpy"])
@pytest.mark.parametrize(
    "text, wrt, absent",
    [
        ("x*y", "x,z", "z"),  # a --wrt name f does not depend on
        ("asin(-x) + asin(x) + y", None, "x"),  # a typed variable that cancels
    ],
)
def test_a_variable_f_does_not_depend_on_is_a_parameter_with_partial_zero(
    text, wrt, absent, target
):
    """As in grad: the partial by a name f does not depend on is 0, and the generated function
    takes it (its gradient is aligned with --wrt); the docstring says why it is 0."""
    args = ["codegen", text, "--target", target] + (["--wrt", wrt] if wrt else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    f = load(result.stdout)["f"]
    point = {"x": 0.25, "y": 2.0, "z": 3.0}
    code = codegen(text, wrt, target=target)
    assert absent in [a.name for a in code.arguments]
    value, grad = f(**{a.name: point[a.name] for a in code.arguments})
    for var, partial in zip(code.wrt, grad):
        here = {a.name: point[a.name] for a in code.arguments}
        assert math.isclose(float(partial), central(f, here, var.name), abs_tol=1e-6)
    assert float(grad[[v.name for v in code.wrt].index(absent)]) == 0.0
    if wrt:
        assert f"'{absent}' does not appear" in result.stdout


def test_shaped_code_takes_a_wrt_name_f_does_not_depend_on_as_a_number():
    result = runner.invoke(app, ["codegen", "sum(w)", "--shape", "w=n", "--wrt", "z,w"])
    assert result.exit_code == 0, result.output
    assert "Note: z does not appear" in result.stdout
    f = load(result.stdout)["f"]
    value, (dz, dw) = f(w=[1.0, 2.0, 3.0], z=2.0)
    assert value == 6.0 and dz == 0.0 and list(dw) == [1.0, 1.0, 1.0]
