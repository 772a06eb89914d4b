"""Reverse mode and --cse: the same partials as per-variable diff, shared subexpressions named
once, names that never collide with the user's variables, and large inputs in linear time."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from symgrad import gradient, parse
from symgrad.cli.app import app
from symgrad.derive.partial import use_reverse_mode, variables
from symgrad.derive.reverse import count_ops, expand_names, name_prefix, reverse_gradient, share
from symgrad.errors import SymgradError
from symgrad.functions import symbol
from symgrad.notation import expr_text, linear_text
from tests.reference import close, numeric
from tests.test_differentiate import VARS, _expressions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import mlp  # noqa: E402

EXPRESSIONS = [
    "y*log(w*x + b)",
    "(y - (x*w + b))^2",
    "sigmoid(w*x + b)*tanh(w) + relu(x)^3 + softplus(b*w)",
    "x^y + atan2(x, x*y)",
    "sin(x)*sin(x)^2/exp(x)",
    "sqrt(x^2 + y^2) + 1/(x*y)",
    "abs(x - 3)*max(x, y) + min(x*y, 2)",
    "exp(-(x - y)^2/2)/sqrt(2*pi)",
    "log(x, 2) + cbrt(y) + 3^x",
    "asin(x/4) + acosh(y + 2) + atanh(x/5) + sec(y)",
    "silu(x*y) + erf(x) + sign(y)*y",
    "x*y*w*b + x*y*w + x*y",
    "(x + y)^(x - y)",
]


def points(expr: sp.Expr, rng, count: int = 3) -> list[dict]:
    return [{v: rng.uniform(0.3, 1.2) for v in variables(expr)} for _ in range(count)]


def value(expr: sp.Expr, point: dict) -> float:
    return float(sp.N(expr.subs(point), 30))


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_reverse_mode_agrees_with_per_variable_diff(text, rng):
    expr = parse(text)
    wrt = variables(expr)
    sweep = reverse_gradient(expr, wrt)
    expanded = sweep.expanded()
    for point in points(expr, rng):
        for var, partial in zip(wrt, expanded):
            want = value(sp.diff(expr, var), point)
            assert math.isclose(value(partial, point), want, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize(
    "text, wrt, definitions, partials",
    [
        ("y*log(w*x + b)", "w,b", ["t0 = b + w*x", "t1 = y/t0"], ["t1*x", "t1"]),
        (
            "tanh(w*x + b)^2",
            "w,b",
            ["t0 = b + w*x", "t1 = tanh(t0)", "t2 = 2*t1*(1 - t1**2)"],
            ["t2*x", "t2"],
        ),
        ("sigmoid(w)", "w", ["t0 = sigmoid(w)"], ["t0*(1 - t0)"]),
        ("w*x + b", "w,b", [], ["x", "1"]),
        ("w", "w", [], ["1"]),
        ("x^2*y", "x,y", ["t0 = x**2"], ["2*y*x", "t0"]),
    ],
)
def test_small_sweeps_read_like_backprop_by_hand(text, wrt, definitions, partials):
    sweep = reverse_gradient(parse(text), [symbol(v) for v in wrt.split(",")])
    assert [f"{n} = {linear_text(d)}" for n, d in sweep.definitions] == definitions
    assert [linear_text(g) for g in sweep.gradient] == partials


@pytest.mark.parametrize(
    "variables_, prefix",
    [
        (["x", "y"], "t"),
        (["t0", "x"], "u"),
        (["t", "tx", "t1a", "u0"], "t"),
        (["t3", "u0", "s12", "r1", "q7"], "tt"),
    ],
)
def test_names_never_collide_with_variables(variables_, prefix):
    assert name_prefix([symbol(v) for v in variables_]) == prefix


def test_cse_names_avoid_a_variable_called_t0():
    g = gradient("sin(t0*x)^2", cse=True)
    names = [name.name for name, _ in g.cse]
    assert names and all(n.startswith("u") for n in names)
    assert symbol("t0") in g.wrt


def test_share_names_what_is_used_twice():
    defs, reduced = share([parse("sin(x*y) + x*y"), parse("cos(x*y)")])
    assert [(n.name, linear_text(d)) for n, d in defs] == [("t0", "x*y")]
    assert expand_names(defs, reduced) == (parse("sin(x*y) + x*y"), parse("cos(x*y)"))


@pytest.mark.parametrize(
    "nodes_text, wrt, expected",
    [
        ("x*y", "x,y", False),
        (mlp.loss(8), ",".join(mlp.params(8)), True),
        (mlp.loss(8), "v_1,b_1", False),
    ],
)
def test_reverse_mode_is_chosen_for_big_expressions_with_many_variables(nodes_text, wrt, expected):
    expr = parse(nodes_text)
    chosen = tuple(symbol(n) for n in wrt.split(","))
    assert use_reverse_mode(expr, chosen) is expected


def test_mlp_gradient_matches_diff_and_stays_small(rng):
    n = 3
    loss = parse(mlp.loss(n))
    params = [symbol(p) for p in mlp.params(n)]
    sweep = reverse_gradient(loss, params)
    point = {v: rng.uniform(-1, 1) for v in params}
    values: dict = dict(point)
    for name, form in sweep.definitions:
        values[name] = float(form.xreplace(values))
    for var, partial in zip(params, sweep.gradient):
        want = float(sp.diff(loss, var).xreplace(point))
        assert math.isclose(float(partial.xreplace(values)), want, rel_tol=1e-9, abs_tol=1e-12)
    shared = count_ops([sweep.value, *(d for _, d in sweep.definitions), *sweep.gradient])
    assert shared <= 3 * count_ops([loss])


def test_automatic_reverse_mode_gives_full_partials(rng, monkeypatch):
    monkeypatch.setattr("symgrad.derive.partial.REVERSE_MIN_WORK", 0)
    loss = parse(mlp.loss(3))
    params = mlp.params(3)
    g = gradient(loss, ",".join(params))
    assert g.cse is None
    point = {symbol(p): rng.uniform(-1, 1) for p in params}
    for name in ("w_2_3", "b_3", "v_1"):
        want = float(sp.diff(loss, symbol(name)).xreplace(point))
        assert math.isclose(float(g[name].xreplace(point)), want, rel_tol=1e-9)


# ---------------------------------------------------------------- large inputs


def test_large_input_parses_and_prints_back_to_the_same_expression():
    text = mlp.loss(12)  # 34 kB: built as written
    assert len(text) > 20_000
    expr = parse(text, max_chars=10**6)
    printed = expr_text(expr)
    assert parse(printed, max_chars=10**6) == expr


def test_large_input_collects_like_terms():
    assert parse("+".join(["x"] * 20_000)) == 20_000 * symbol("x")
    assert parse(" + ".join(["2*w", "-w"] * 5_000)) == 5_000 * symbol("w")


@pytest.mark.parametrize(
    "text",
    [
        "2*x - y/(1 + x)^2 + sigmoid(-x)",
        "(x^y)^z + x^y^z + (-2)^x + 0.5^x + (1/2)^x",
        "-3/4*x + x/(2*y) - (x + 1)^2 + x*y^-2",
        "abs(x)*max(x, y) + 1.5e-7*x + e^x*pi - 1",
        "sqrt(x + 1)/sqrt(y) + x^(2/3) + atan2(x, y)",
    ],
)
def test_linear_text_reparses_to_the_same_expression(text):
    expr = parse(text)
    assert parse(linear_text(expr)) == expr


# ---------------------------------------------------------------- command line

runner = CliRunner()


def test_cli_cse_json_lists_definitions_the_gradient_refers_to():
    result = runner.invoke(app, ["grad", "tanh(w*x + b)^2", "-w", "w,b", "--cse", "-f", "json"])
    assert result.exit_code == 0 and result.stderr == ""
    record = json.loads(result.stdout)
    assert record["cse"] == [["t0", "b + w*x"], ["t1", "tanh(t0)"], ["t2", "2*t1*(1 - t1**2)"]]
    assert record["gradient"] == ["t2*x", "t2"]
    for _, definition in record["cse"]:
        parse(definition)


def test_cli_cse_json_always_has_the_list():
    result = runner.invoke(app, ["grad", "x^2 + y", "--cse", "-f", "json"])
    record = json.loads(result.stdout)
    assert record["cse"] == [] and record["gradient"] == ["2*x", "1"]
    plain = json.loads(runner.invoke(app, ["grad", "x^2 + y", "-f", "json"]).stdout)
    assert "cse" not in plain


def test_cli_cse_text_prints_definitions_first_and_pretty_says_where():
    result = runner.invoke(app, ["grad", "y*log(w*x+b)", "-w", "w,b", "--cse"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "f = y*log(b + w*x)",
        "t0 = b + w*x",
        "t1 = y/t0",
        "df/dw = t1*x",
        "df/db = t1",
    ]
    pretty = runner.invoke(app, ["grad", "y*log(w*x+b)", "-w", "w,b", "--cse", "-f", "pretty"])
    pretty = pretty.stdout
    # the shared names are written as the entries that use them: t₀, in 2-D
    lines = [line.rstrip() for line in pretty.splitlines()]
    assert "∂f/∂b = t₁" in lines and lines[-6:-1] == [
        "where", "  t₀ = b + w⋅x", "       y", "  t₁ = ──", "       t₀",
    ]  # fmt: skip


# ---------------------------------------------------------------- property: random expressions


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_expressions(),
    values=st.lists(
        st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3)), min_size=3, max_size=3
    ),
)
def test_reverse_mode_and_linear_text_on_random_expressions(text, values):
    try:
        expr = parse(text)
    except SymgradError:
        assume(False)
    assume(expr.free_symbols)
    point = {symbol(n): sp.Float(v) for n, v in zip(VARS, values)}
    # every definition and entry prints to text that parses back to the same expression
    wrt = variables(expr)
    sweep = reverse_gradient(expr, wrt)
    for e in (expr, *(d for _, d in sweep.definitions), *sweep.gradient):
        again = parse(linear_text(e))
        if again != e and sp.expand(again - e) != 0:
            # a computed Float (1/1.5) prints as the nearest double: equal to 1e-15
            assert e.has(sp.Float), (linear_text(e), e)
            probe = {s: sp.Float(0.7) for s in e.free_symbols}
            assert close(float(again.xreplace(probe)), float(e.xreplace(probe)), 1e-12, 1e-12)
    for var, partial in zip(wrt, sweep.expanded()):
        try:
            want = numeric(sp.diff(expr, var), point)
            got = numeric(partial, point)
        except (AssertionError, TypeError, ZeroDivisionError):
            assume(False)
        assume(math.isfinite(want) and abs(want) < 1e6)
        assert close(got, want, rtol=1e-9, atol=1e-9), (text, var, got, want)
