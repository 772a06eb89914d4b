"""explain: every step of a derivation is a true equation, the last one is grad's partial, and
the backward pass of the graph gives grad --at's values.

Each step is checked against the independent reference (30-digit central differences of
tests/reference.py), not against symgrad's own derivative."""

from __future__ import annotations

import math
import random

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings

from symgrad import evaluate_gradient, gradient, parse
from symgrad.derive.explain import MAX_STEPS, explain
from symgrad.derive.partial import variables
from symgrad.errors import LimitError, SymgradError
from symgrad.functions import symbol
from symgrad.numeric.backward import explain_at
from symgrad.results import RULES
from tests.reference import central_difference, close, numeric
from tests.test_differentiate import _expressions

NOTES = [  # the five hand-worked partials of the notes
    "w*x + b",
    "w^2*x + b^2",
    "e^w*x + e^b",
    "(y - (x*w + b))^2",
    "y*log(w*x + b)",
]
ML = [
    "sigmoid(w*x + b)",
    "-(y*log(sigmoid(w*x+b)) + (1-y)*log(1-sigmoid(w*x+b)))",
    "(y - tanh(w2*tanh(w1*x+b1)+b2))^2",
]
MORE = [
    "(w + 1)/(w*x + b)",
    "x^x + sqrt(x*y)",
    "atan2(y, x*y) + max(x, y^2)",
    "softplus(w*x)*relu(x - 0.2)",
    "abs(x - y)^3/(1 + x^2)",
    "exp(-(x - y)^2/2)/sqrt(2*pi)",
    "sin(x)*sin(x)^2/exp(x)",
    "log(x, 2) + 3^(x*y)",
    "softmax(x, y, w)[1]",
    "(x + y)^(x - y)",
    "x*y*w*b + x*y*w + x*y",
    "silu(x*y) + erf(x)",
    "sigmoid(sigmoid(x))",
]


def expanded(expr: sp.Expr, names: dict) -> sp.Expr:
    """``expr`` with every inner name replaced by its definition, all the way down."""
    for _ in range(len(names) + 1):
        if not any(n in names for n in expr.free_symbols):
            return expr
        expr = expr.xreplace(names)
    raise AssertionError("names refer to each other in a cycle")


def random_point(expr: sp.Expr, rng) -> dict:
    # (0.3, 1.2): inside the domain of every expression above, away from kinks at 0
    return {v: rng.uniform(0.3, 1.2) for v in variables(expr)}


def assert_step_holds(step, names: dict, point: dict, where: str) -> None:
    """d(of)/d(wrt) = derivative at ``point``: names held as independent inputs for a local
    rule (set to their values at the point), names expanded otherwise."""
    if step.local:
        values = dict(point)
        for name, definition in names.items():
            values[name] = numeric(expanded(definition, names), point)
        of, derivative = step.of, step.derivative
    else:
        values = point
        of, derivative = expanded(step.of, names), expanded(step.derivative, names)
    claimed = numeric(derivative, values)
    reference = central_difference(of, step.wrt, values)
    assert close(claimed, reference, rtol=1e-7, atol=1e-9), (where, step, claimed, reference)


def assert_explained(text: str, rng, points: int = 2) -> None:
    expr = parse(text)
    result = explain(expr)
    grad = gradient(expr)
    names = dict(result.names)
    assert result.wrt == grad.wrt and result.partials == grad.partials
    for step in result.steps:
        assert step.rule in RULES
        assert all(u < result.steps.index(step) for u in step.uses)
    for _ in range(points if len(grad.wrt) <= 4 else 1):  # 30-digit references are slow
        point = random_point(expr, rng)
        for k, step in enumerate(result.steps):
            assert_step_holds(step, names, point, f"{text} step {k}")
    for var, partial in zip(grad.wrt, grad.partials):
        last = result.steps_for(var)[-1]
        assert last.of == expr and last.wrt == var and last.derivative == partial
        assert not last.local


@pytest.mark.parametrize("text", NOTES + ML + MORE)
def test_every_step_is_a_true_equation_and_the_last_is_grads_partial(text, rng):
    assert_explained(text, rng)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_expressions())
def test_generated_expressions_are_explained_step_by_step(text):
    try:
        expr = parse(text)
        assume(expr.free_symbols)
        result = explain(expr)
    except SymgradError:
        assume(False)
    rng = random.Random(text)
    names = dict(result.names)
    point = random_point(expr, rng)
    for var in result.wrt:  # a typed name that cancelled ((x) + (y - x)) is a variable too
        point.setdefault(var, rng.uniform(0.3, 1.2))
    for k, step in enumerate(result.steps):
        try:
            assert_step_holds(step, names, point, f"{text} step {k}")
        except (AssertionError, ZeroDivisionError, TypeError) as err:
            # the reference has no value there (outside the domain): not a claim about the step
            if "has no value" in str(err) or isinstance(err, (ZeroDivisionError, TypeError)):
                continue
            values = {**point}
            if not all(
                math.isfinite(numeric(expanded(e, names), values))
                for e in (step.of, step.derivative)
            ):
                continue
            raise
    for var, partial in zip(result.wrt, result.partials):
        assert result.steps_for(var)[-1].derivative == partial


# ---------------------------------------------------------------- how the steps read


def rules_of(text: str, wrt: str) -> list[tuple[str, str, str, str]]:
    return [(s.rule, str(s.of), s.wrt.name, str(s.derivative)) for s in explain(text, wrt).steps]


def test_the_chain_rule_names_the_inner_function_as_the_notes_do():
    result = explain("sigmoid(w*x + b)", "w")
    assert [(n.name, str(d)) for n, d in result.names] == [("u", "b + w*x")]
    assert rules_of("sigmoid(w*x + b)", "w") == [
        ("known derivative", "sigmoid(u)", "u", "(1 - sigmoid(u))*sigmoid(u)"),
        ("sum", "b + w*x", "w", "x"),
        ("chain", "sigmoid(u)", "w", "x*(1 - sigmoid(u))*sigmoid(u)"),
        ("substitute", "sigmoid(b + w*x)", "w", "x*(1 - sigmoid(b + w*x))*sigmoid(b + w*x)"),
    ]


@pytest.mark.parametrize(
    "text, wrt, rules",
    [
        ("w*x + b", "w", ["sum"]),
        ("w*x", "w", ["constant factor"]),
        ("w", "w", ["variable"]),
        ("x^3", "x", ["power"]),
        ("x^2*sin(x)", "x", ["power", "known derivative", "product", "tidy"]),
        ("(w + 1)/(w*x + b)", "w", ["sum", "sum", "quotient", "substitute"]),
        ("2^x", "x", ["exponential"]),
        ("x^x", "x", ["general power"]),
        (
            "y*log(w*x + b)",
            "w",
            ["known derivative", "sum", "chain", "constant factor", "substitute"],
        ),
        ("(y - (x*w + b))^2", "w", ["power", "sum", "chain", "substitute"]),
    ],
)
def test_rules_by_example(text, wrt, rules):
    assert [r[0] for r in rules_of(text, wrt)] == rules


def test_the_sign_error_of_the_notes_shows_in_the_last_step():
    # the notes wrote 2(y - xw - b)x for d/dw (y - (xw + b))^2; the sign is the other way
    steps = explain("(y - (x*w + b))^2", "w").steps
    assert str(steps[-1].derivative) == "2*x*(b + w*x - y)"
    assert str(steps[1].derivative) == "-x"  # d/dw (y - w*x - b): where the minus comes from


def test_a_known_derivative_comes_from_the_function_table():
    steps = explain("softplus(x^2)", "x").steps
    assert (steps[0].rule, str(steps[0].derivative)) == ("known derivative", "sigmoid(u)")
    steps = explain("tanh(x^2)", "x").steps
    assert str(steps[0].derivative) == "1 - tanh(u)**2"


def test_a_shared_inner_function_is_derived_once():
    result = explain("sigmoid(w*x + b)*(1 - sigmoid(w*x + b))", "w")
    derived = [s for s in result.steps if str(s.of) == "b + w*x"]
    assert len(derived) == 1


def test_inner_names_avoid_the_variables():
    result = explain("u*sigmoid(u*x + v)", "x")
    assert [n.name for n, _ in result.names] == ["s"]


def test_a_partial_of_a_variable_that_cancels_is_a_constant_step():
    result = explain("x*y", "x")
    cancelled = explain("x + y - y", None)  # y was typed: it is a variable, its partial 0
    assert cancelled.wrt == (symbol("x"), symbol("y")) and cancelled.partials[1] == 0
    assert result.steps[-1].derivative == symbol("y")


def test_a_big_expression_is_a_limit_error_not_minutes():
    text = " + ".join(f"sin(x*{k} + y)^{k}" for k in range(2, 80))
    with pytest.raises(LimitError, match="steps|parts"):
        explain(text)
    assert MAX_STEPS >= 100


def test_a_product_of_many_factors_is_bounded():
    text = "*".join(f"sin(x + {k})" for k in range(1, 120))  # 119^2 terms and factors
    with pytest.raises(LimitError):
        explain(text, "x")


# ---------------------------------------------------------------- the backward pass


@pytest.mark.parametrize("text", NOTES + ML + MORE)
def test_graph_leaf_gradients_equal_grad_at(text, rng):
    expr = parse(text)
    point = {v.name: round(rng.uniform(0.3, 1.2), 3) for v in variables(expr)}
    result = explain_at(expr, at=point)
    want = evaluate_gradient(expr, point)
    assert result.gradient_value == want.gradient_value
    for var, value in zip(want.gradient.wrt, want.gradient_value):
        leaf = result.graph.node(var.name)
        assert leaf.leaf and leaf.requires_grad
        assert math.isclose(leaf.grad, value, rel_tol=1e-9, abs_tol=1e-12), (var, leaf, value)
        exact = numeric(sp.diff(expr, var), {symbol(k): v for k, v in point.items()})
        assert close(leaf.grad, exact, rtol=1e-8, atol=1e-10)


def test_the_notes_graph_y_is_w_times_x_z_is_y_plus_b():
    # x = randn(1); b, w requires_grad; y = w*x; z = y + b; z.backward()
    result = explain_at("w*x + b", "w,b", at="w=0.5,x=-0.1368,b=2")
    graph = result.graph
    nodes = {n.id: n for n in graph.nodes}
    assert [(n, nodes[n].requires_grad, nodes[n].leaf) for n in ("x", "b", "w", "t0", "t1")] == [
        ("x", False, True),
        ("b", True, True),
        ("w", True, True),
        ("t0", True, False),
        ("t1", True, False),
    ]
    assert str(nodes["t0"].expression) == "w*x" and str(nodes["t1"].expression) == "b + t0"
    assert graph.output == "t1"
    assert nodes["w"].grad == -0.1368 and nodes["b"].grad == 1.0  # w.grad = x, b.grad = 1
    assert nodes["x"].grad is None  # x does not require grad: PyTorch leaves x.grad None
    edge = {e.input: e for e in nodes["t0"].local}
    assert str(edge["w"].derivative) == "x" and edge["w"].value == -0.1368


def test_a_shared_subexpression_is_one_node_whose_gradient_sums_over_its_uses():
    result = explain_at("sin(w*x) + cos(w*x)", "w", at="w=0.3,x=2")
    graph = result.graph
    shared = [n for n in graph.nodes if str(n.expression) == "w*x"]
    assert len(shared) == 1
    users = [n for n in graph.nodes if shared[0].id in n.inputs]
    assert len(users) == 2
    total = 0.0
    for user in users:
        edge = next(e for e in user.local if e.input == shared[0].id)
        total += user.grad * edge.value
    assert math.isclose(shared[0].grad, total, rel_tol=1e-12)
    assert math.isclose(shared[0].grad, math.cos(0.6) - math.sin(0.6), rel_tol=1e-12)


def test_a_point_outside_the_domain_has_undefined_values_and_a_note():
    result = explain_at("sqrt(x)", at="x=-1")
    assert result.gradient_value == (None,) and result.exit_code == 4
    assert result.graph.node("x").grad is None  # no number to pass on
    assert any("outside the domain" in note for note in result.notes)
    assert result.graph.node(result.graph.output).value is None


# ---------------------------------------------------------------- renderers


def schema():
    import json
    from importlib.resources import files

    return json.loads(files("symgrad").joinpath("schema.json").read_text())


@pytest.mark.parametrize("text", [*NOTES, *ML])
def test_json_record_matches_the_schema_and_reparses(text):
    import json

    jsonschema = pytest.importorskip("jsonschema")
    from symgrad.printing import render

    result = explain_at(text, at={v.name: 0.5 for v in variables(parse(text))})
    record = json.loads(json.dumps(render(result, "json", source=text), allow_nan=False))
    jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/explain"}).validate(record)
    for step in record["steps"]:  # every expression string re-parses to the step's expression
        k = record["steps"].index(step)
        assert parse(step["derivative"]) == result.steps[k].derivative
        assert parse(step["of"]) == result.steps[k].of
    for name, definition in record["names"].items():
        assert parse(definition) == dict(result.names)[symbol(name)]
    leaves = {n["id"]: n["grad"] for n in record["graph"]["nodes"] if n["leaf"]}
    # the backward pass and the compiled gradient agree to rounding (their sums run in other orders)
    assert [leaves[v] for v in record["wrt"]] == pytest.approx(record["gradient_value"], rel=1e-12)


def test_text_numbers_the_steps_and_names_each_rule():
    from symgrad.printing import render

    lines = render(explain("y*log(w*x + b)", "w"), "text")
    assert lines[:3] == ["f = y*log(b + w*x)", "where u = b + w*x", "df/dw:"]
    assert lines[3].startswith("  1. d/du log(u) = 1/u")
    assert "chain rule, dF/du*du/dw" in lines[5]
    assert lines[-1].startswith("  5. df/dw = x*y/(b + w*x)")
    assert all(line.isascii() or "·" in line for line in lines)


def test_latex_is_one_aligned_derivation_per_partial():
    from symgrad.printing import render

    blocks = render(explain("sigmoid(w*x + b)", "w,b"), "latex")
    assert len(blocks) == 2
    assert all(b.startswith("\\begin{aligned}") and b.endswith("\\end{aligned}") for b in blocks)
    assert "u &= b + w x" in blocks[0] and "\\text{chain}" in blocks[0]


def test_pretty_has_the_steps_and_the_graph_table():
    from symgrad.printing import render

    blocks = render(explain_at("w*x + b", "w,b", at="w=2,x=3,b=1"), "pretty")
    roles = [role for role, _ in blocks]
    assert roles[0] == "header" and "result" in roles
    table = next(text for role, text in blocks if text.startswith("backward pass"))
    assert "requires_grad" in table and "dt1/dt0 = 1 = 1" in table


def test_dot_source_has_a_node_per_value_and_an_edge_per_local_derivative():
    import re

    from symgrad.errors import InputError
    from symgrad.printing import render

    result = explain_at("sigmoid(w*x + b)", "w,b", at="w=0.5,x=2,b=-1")
    source = "\n".join(render(result, "dot"))
    assert source.startswith("digraph backward {") and source.endswith("}")
    nodes = re.findall(r'^  "([^"]+)" \[label=', source, re.M)
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)"', source, re.M)
    assert nodes == [n.id for n in result.graph.nodes]
    assert len(edges) == sum(len(n.local) for n in result.graph.nodes)
    assert 'label="w\\nvalue 0.5\\ngrad 0.5"' in source
    with pytest.raises(InputError, match="--at"):
        render(explain("w*x", "w"), "dot")


def test_with_a_point_a_derivation_too_long_to_read_still_gives_the_backward_pass():
    text = " + ".join(f"(y{i} - tanh(w*x{i} + b))^2" for i in range(40))
    with pytest.raises(LimitError, match="steps"):
        explain(text, "w,b")
    point = {**{f"x{i}": 0.1 * i for i in range(40)}, **{f"y{i}": 0.2 for i in range(40)}}
    result = explain_at(text, "w,b", at={**point, "w": 0.5, "b": 0.1})
    assert result.steps == () and any("only the backward pass" in n for n in result.notes)
    leaves = [result.graph.node(v).grad for v in ("w", "b")]
    assert leaves == pytest.approx(list(result.gradient_value), rel=1e-12)
