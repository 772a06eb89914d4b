"""Hessian, Jacobian (softmax), higher and mixed partials: against independent references."""

from __future__ import annotations

import json

import mpmath
import pytest
import sympy as sp
from typer.testing import CliRunner

from symgrad import parse
from symgrad.cli.app import app
from symgrad.derive import derivative, gradient, hessian, jacobian
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import SoftmaxOutput, symbol
from symgrad.notation import expr_text
from tests.reference import close, numeric

runner = CliRunner()
a, b, c, w, x, y = (symbol(n) for n in "abcwxy")


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- Hessian


def second_difference(expr, u, v, point, h=1e-4):
    """d2 f / du dv by central differences of f itself, at 30 digits: no symbolic derivative."""
    mpmath.mp.dps = 30

    def f(du, dv):
        shifted = dict(point)
        shifted[u] = shifted[u] + du
        shifted[v] = shifted[v] + dv
        return numeric(expr, shifted)

    if u == v:
        return (f(h, 0) - 2 * f(0, 0) + f(-h, 0)) / h**2
    return (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h * h)


# expressions written for this test, not taken from the rest of the suite
UNSEEN = [
    "x^3*y - 2*x*y^2 + 7",
    "sin(x*y) + cos(x)^2",
    "exp(-(x^2 + y^2)/2)",
    "log(1 + x^2 + y^4)",
    "sigmoid(w*x + b)",
    "tanh(w*x)*y",
    "(y - (w*x + b))^2",
    "softplus(x - 2*y)*sqrt(1 + w^2)",
    "atan(y/(1 + x^2))",
    "x^y",
    "softmax(a, b, c)[1]",
]


@pytest.mark.parametrize("text", UNSEEN)
def test_hessian_agrees_with_second_differences(text, rng):
    result = hessian(text)
    point = {v: sp.Float(round(rng.uniform(0.3, 1.5), 3), 30) for v in result.wrt}
    for i, u in enumerate(result.wrt):
        for j, v in enumerate(result.wrt):
            exact = numeric(result.matrix[i][j], point)
            approx = float(second_difference(result.expression, u, v, point))
            assert close(exact, approx, rtol=1e-4, atol=1e-6), (text, u, v, exact, approx)


def test_hessian_is_symmetric_with_each_entry_computed_once():
    result = hessian("x^2*y^3 + sin(x*y)", "x,y")
    assert result.matrix[0][1] is result.matrix[1][0]
    assert sp.expand(result.matrix[0][0] - (2 * y**3 - y**2 * sp.sin(x * y))) == 0


def test_hessian_rows_follow_wrt_order():
    xy = hessian("x^3*y", "x,y").matrix
    yx = hessian("x^3*y", "y,x").matrix
    assert xy[0][0] == yx[1][1] == 6 * x * y
    assert xy[0][1] == yx[0][1] == 3 * x**2


def test_hessian_json_contract():
    code, out, err = invoke("hessian", "x^2*y", "--wrt", "x,y", "--format", "json")
    assert code == 0 and err == ""
    record = json.loads(out)
    assert list(record) == ["input", "expression", "wrt", "hessian"]
    assert record["wrt"] == ["x", "y"]
    assert record["hessian"] == [["2*y", "2*x"], ["2*x", "0"]]


def test_hessian_text_has_each_distinct_entry_once_and_reparses():
    code, out, _ = invoke("hessian", "x^2*y + sin(y)", "--format", "text")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "f = x**2*y + sin(y)"
    assert [line.split(" = ")[0] for line in lines[1:]] == ["d2f/dx^2", "d2f/dxdy", "d2f/dy^2"]
    for line in lines:
        parse(line.split(" = ", 1)[1])


def test_hessian_pretty_is_a_matrix():
    code, out, _ = invoke("hessian", "x^2*y", "--format", "pretty")
    assert code == 0 and "∇²f(x, y)" in out and "∂²f/∂x∂y" in out and "⎡" in out


# ---------------------------------------------------------------- Jacobian and softmax


def softmax_closed_form(inputs):
    """exp(x_k)/sum exp(x_j), built from sympy's exp: independent of SoftmaxOutput."""
    total = sp.Add(*[sp.exp(v) for v in inputs])
    return [sp.exp(v) / total for v in inputs]


def test_softmax_jacobian_reads_in_terms_of_its_outputs():
    result = jacobian("softmax(a, b, c)", "a,b,c")
    s = [SoftmaxOutput(k, a, b, c) for k in range(3)]
    for i in range(3):
        for j in range(3):
            delta = 1 if i == j else 0
            assert sp.expand(result.matrix[i][j] - s[i] * (delta - s[j])) == 0
    assert expr_text(result.matrix[0][0]) == "softmax(a, b, c)[0]*(1 - softmax(a, b, c)[0])"
    assert expr_text(result.matrix[1][2]) == "-softmax(a, b, c)[1]*softmax(a, b, c)[2]"


def test_softmax_jacobian_json_agrees_with_central_differences_of_the_closed_form():
    code, out, err = invoke("jacobian", "softmax(a,b,c)", "--wrt", "a,b,c", "--format", "json")
    assert code == 0 and err == ""
    record = json.loads(out)
    assert list(record) == ["input", "expression", "wrt", "jacobian"]
    assert record["expression"] == "softmax(a, b, c)" and record["wrt"] == ["a", "b", "c"]
    point = {a: sp.Float("0.3"), b: sp.Float("-1.2"), c: sp.Float("2.05")}
    closed = softmax_closed_form([a, b, c])
    h = sp.Float("1e-7", 30)
    for i, row in enumerate(record["jacobian"]):
        assert len(row) == 3
        for j, entry in enumerate(row):
            var = [a, b, c][j]
            up, down = dict(point), dict(point)
            up[var] += h
            down[var] -= h
            approx = (numeric(closed[i], up) - numeric(closed[i], down)) / (2 * float(h))
            assert close(numeric(parse(entry), point), approx, rtol=1e-6), (i, j)


def test_the_seed_softmax_example():
    # p = F.softmax(a); torch.autograd.grad(p[1], [a]) and grad(p[2], [a]) in the seed notes
    point = {a: sp.Float("0.9376"), b: sp.Float("0.5373"), c: sp.Float("0.6736")}
    result = jacobian("softmax(a, b, c)", "a,b,c")
    values = [[float(sp.N(e.subs(point), 20)) for e in row] for row in result.matrix]
    assert [round(v, 4) for v in values[1]] == [-0.1127, 0.1993, -0.0866]
    assert [round(v, 4) for v in values[2]] == [-0.1292, -0.0866, 0.2158]
    probabilities = [float(sp.N(s.subs(point))) for s in parse("softmax(a, b, c)")]
    # the notes print a to 4 digits, so p agrees to about 1e-4
    assert all(abs(p - q) < 1.5e-4 for p, q in zip(probabilities, [0.4102, 0.2748, 0.3150]))


def test_jacobian_of_a_bracketed_vector():
    result = jacobian("[x*y, x + y, sin(x)]", "x,y")
    assert result.matrix == ((y, x), (1, 1), (sp.cos(x), 0))


def test_jacobian_of_a_scalar_is_its_gradient_as_one_row():
    assert jacobian("x^2*y").matrix == (gradient("x^2*y").partials,)


def test_jacobian_text_reparses():
    code, out, _ = invoke("jacobian", "softmax(a, b)", "--format", "text")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "f = softmax(a, b)"
    assert lines[1] == "df0/da = softmax(a, b)[0]*(1 - softmax(a, b)[0])"
    for line in lines:
        parse(line.split(" = ", 1)[1])
    assert parse(lines[0][4:]) == parse("softmax(a, b)")


def test_jacobian_pretty_writes_softmax_outputs_as_s_k():
    code, out, _ = invoke("jacobian", "softmax(a, b)", "--format", "pretty")
    assert code == 0 and "s₀⋅(1 - s₀)" in out and "-s₀⋅s₁" in out and "J(a, b)" in out


def test_grad_of_a_vector_points_to_jacobian():
    code, out, err = invoke("grad", "softmax(a, b, c)")
    assert code == 2 and out == ""
    assert "vector of 3 outputs" in err and "symgrad jacobian" in err
    with pytest.raises(InputError, match="jacobian"):
        gradient("[x, y]")
    with pytest.raises(InputError, match="jacobian"):
        hessian("[x, y]")


VECTORS = [
    ("[x*y, x + y]", sp.ImmutableMatrix([x * y, x + y])),
    ("[x]", sp.ImmutableMatrix([x])),
    ("softmax(a, b)", sp.ImmutableMatrix([SoftmaxOutput(0, a, b), SoftmaxOutput(1, a, b)])),
    ("softmax(a, b)[1]*y", y * SoftmaxOutput(1, a, b)),
    ("softmax(a*x, b)[0]^2", SoftmaxOutput(0, a * x, b) ** 2),
    ("[softmax(a, b)[0], x]", sp.ImmutableMatrix([SoftmaxOutput(0, a, b), x])),
]


@pytest.mark.parametrize("text, expected", VECTORS)
def test_vector_syntax(text, expected):
    parsed = parse(text)
    assert parsed == expected
    assert parse(expr_text(parsed)) == parsed


VECTOR_ERRORS = [
    ("x[0]", 2, "brackets"),
    ("[x, y] + 1", 8, "whole expression"),
    ("2*softmax(a, b)", 3, "is a vector"),
    ("sin(softmax(a, b))", 5, "is a vector"),
    ("[x, [y]]", 5, "brackets"),
    ("softmax(a, b)[2]", 14, "2 outputs, [0] to [1]"),
    ("softmax(a, b)[x]", 15, "whole number"),
    ("[x, y", 1, "never closed"),
    ("[]", 2, "empty brackets"),
]


@pytest.mark.parametrize("text, column, words", VECTOR_ERRORS)
def test_vector_errors(text, column, words):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.column == column and words in info.value.message


# ---------------------------------------------------------------- diff

DIFFS = [
    ("x^5", "x", 3, "60*x**2"),
    ("sin(x)", "x", 4, "sin(x)"),
    ("sigmoid(x)", "x", 2, "sigmoid(x)*(1 - 2*sigmoid(x))*(1 - sigmoid(x))"),
    ("x^3*y^2", "x,y", 1, "6*x**2*y"),
    ("x^3*y^2", "x,x,y", 1, "12*x*y"),
    ("exp(x*y)", "y,x", 1, "(x*y + 1)*exp(x*y)"),
    ("tanh(x)", "x", 1, "1 - tanh(x)**2"),
]


@pytest.mark.parametrize("text, wrt, order, expected", DIFFS)
def test_diff_higher_and_mixed(text, wrt, order, expected):
    result = derivative(text, wrt, order)
    assert sp.simplify(result.derivative - parse(expected)) == 0
    assert result.order == len(wrt.split(",")) * order


def test_diff_agrees_with_repeated_central_differences():
    # d2/dxdy by second differences of f, for a function with no simple closed form
    expr = parse("atan(x*y)/(1 + x^2)")
    exact = derivative(expr, "x,y").derivative
    point = {x: sp.Float("0.7", 30), y: sp.Float("-0.4", 30)}
    approx = float(second_difference(expr, x, y, point))
    assert close(numeric(exact, point), approx)


def test_diff_json_contract():
    code, out, err = invoke("diff", "x^3*y^2", "--wrt", "x,y", "--format", "json")
    assert code == 0 and err == ""
    record = json.loads(out)
    assert record == {
        "input": "x^3*y^2",
        "expression": "x**3*y**2",
        "wrt": ["x", "y"],
        "order": 2,
        "derivative": "6*x**2*y",
    }


def test_diff_text_labels():
    assert invoke("diff", "x^4", "--order", "2")[1] == "f = x**4\nd2f/dx^2 = 12*x**2\n"
    assert invoke("diff", "x^2*y", "-w", "x,x,y")[1] == "f = x**2*y\nd3f/dx^2dy = 2\n"


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["diff", "x*y"], 2, "x*y has variables x, y: say which"),
        (["diff", "x*y", "--wrt", "x,y", "--order", "2"], 2, "--wrt x,x,y"),
        (["diff", "x", "--order", "0"], 2, "usage error"),
        (["diff", "x", "--wrt", "e"], 2, "'e' is a constant"),
        (["diff", "[x, y]", "--wrt", "x"], 2, "jacobian"),
        (["hessian", "3"], 2, "no variables"),
        (["jacobian", "x[1]"], 2, "brackets"),
    ],
)
def test_bad_input_is_one_stderr_line(args, code, words):
    exit_code, out, err = invoke(*args)
    assert exit_code == code and out == ""
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err


def test_wrt_errors_are_variable_errors():
    with pytest.raises(VariableError):
        derivative("x*y", "sin")


def test_a_wrt_name_that_does_not_appear_has_derivative_0_and_a_note():
    result = derivative("x*y", "z")
    assert result.derivative == 0
    assert result.notes == ("'z' does not appear in x*y: its partial is 0",)


def test_stdin_stream_mixes_plain_latex_and_bad_lines():
    code, out, err = invoke(
        "hessian", "-", "--format", "json", input="x^2*y\n$wx$\nsoftmax(a, b)\n"
    )
    assert code == 1 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["hessian"] == [["2*y", "2*x"], ["2*x", "0"]]
    assert records[1]["expression"] == "w*x" and records[1]["hessian"] == [["0", "1"], ["1", "0"]]
    assert records[2]["error"]["kind"] == "input" and "Jacobian" in records[2]["error"]["message"]


def test_functions_lists_softmax_as_variadic():
    code, out, _ = invoke("functions", "--format", "json")
    softmax = [json.loads(line) for line in out.splitlines() if '"softmax"' in line][0]
    assert softmax["variadic"] is True and softmax["arity"] == [1]
