"""The language of its users, through the real command line: names pasted from code and
papers, typed names that cancel, --wrt names that do not appear, and messages that say what to
do instead."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from symgrad.cli.app import app

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


READ_AS = [
    # (typed, the expression symgrad reads)
    ("np.log(x)", "log(x)"),
    ("numpy.exp(x) + math.sqrt(y)", "sqrt(y) + exp(x)"),
    ("torch.sigmoid(w*x + b)", "sigmoid(b + w*x)"),
    ("F.relu(x) + F.softplus(y)", "relu(x) + softplus(y)"),
    ("jnp.tanh(x)", "tanh(x)"),
    ("sp.sin(x)*sympy.cos(x)", "sin(x)*cos(x)"),
    ("tf.math.log_sigmoid(z)", "log_sigmoid(z)"),
    ("scipy.special.expit(z) + scipy.special.logsumexp(a, z)", "logsumexp(a, z) + sigmoid(z)"),
    ("torch.nn.functional.gelu(x)", "gelu(x)"),
    ("math.pi*r^2", "pi*r**2"),
    ("np.e^x", "exp(x)"),
    ("σ(z)", "sigmoid(z)"),
    ("leakyrelu(x)", "leaky_relu(x)"),
    ("logsigmoid(x)", "log_sigmoid(x)"),
    ("sgn(x)*x", "x*sign(x)"),
    ("nthRoot(x, 3) + surd(y, 5)", "cbrt(x) + root(y, 5)"),
    ("pow(x, 3)", "x**3"),
    ("max(x, y, z)", "max(x, y, z)"),
    (r"\operatorname{ReLU}(x)", "relu(x)"),
    (r"\mathrm{Softplus}(z)", "softplus(z)"),
    (r"\text{GELU}(x)", "gelu(x)"),
    (r"\mathit{tanh}(x)", "tanh(x)"),
    (r"\operatorname{LeakyReLU}(x)", "leaky_relu(x)"),
    (r"\operatorname{log\_softmax}(a, b)_{0}", "log_softmax(a, b)[0]"),
    (r"\sqrt[3]{x}", "cbrt(x)"),
    (r"\sec x + \coth x", "coth(x) + sec(x)"),
]


@pytest.mark.parametrize("typed, read", READ_AS)
def test_pasted_names_are_read_and_shown(typed, read):
    code, out, err = invoke("grad", typed)
    assert code == 0 and err == "", err
    assert out.splitlines()[0] == f"f = {read}"


REFUSED = [
    # (typed, column, words of the one stderr line)
    ("d/dx x^2", 1, 'symgrad grad "x^2" --wrt x'),
    ("d^2/dx^2 sin(x)", 1, 'symgrad diff "sin(x)" --wrt x --order 2'),
    ("diff(x^3*y, y)", 1, 'symgrad grad "x^3*y" --wrt y'),
    ("D[x^3, x]", 1, 'symgrad grad "x^3" --wrt x'),
    ("∂/∂w (w*x)", 1, 'symgrad grad "w*x" --wrt w'),
    ("leaky_rel(x)", 1, "did you mean leaky_relu?"),
    ("ReLU(x)", 1, "did you mean relu?"),
    ("xsin(x)", 1, "for a product write x*sin(...)"),
    ("dot(w, x)", 1, "works on vectors"),
    ("np.foo(x)", 1, "unknown function 'foo'"),
    ("w.T*x", 1, "transpose"),
    ("w'*x", 2, "transpose"),
    ("f'(x)", 2, "derivative"),
    ("x.real", 1, "attribute access"),
    (r"f(\theta_t)*2", 1, "f(...) applies a function symgrad does not know"),
    (r"$f(\theta_t)$", 2, "f(...) applies a function"),  # f of a name, not a formula named f
    (r"f\left(\theta_t\right)", 1, "f(...) applies a function"),
    (r"\theta_t - \eta f(\theta_t)", 17, "f(...) applies a function"),
    (r"\operatorname{foo}(x)", 1, "unknown function foo"),
    (r"\sigma(w^T x)", 9, "transpose"),
    ("w^T x", 3, "transpose"),
    (r"w^\top x", 2, "transpose"),
    (r"w^{\mathsf{T}} x", 2, "transpose"),
    (r"w'x", 2, "transpose"),
    (r"\frac{d}{dx} x^2", 1, "--wrt x"),
]


@pytest.mark.parametrize("typed, column, words", REFUSED)
def test_misreadings_are_refused_with_what_to_do(typed, column, words):
    code, out, err = invoke("grad", typed)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and f"column {column}:" in err and words in err, err


def test_a_greek_name_with_a_subscript_is_one_variable():
    """theta_t is the variable typed; theta alone was never typed, so it has no partial."""
    code, out, _ = invoke("grad", r"$\theta_t - \alpha \theta_t + x^\beta$", "--format", "json")
    assert code == 0 and json.loads(out)["wrt"] == ["alpha", "beta", "theta_t", "x"]


def test_f_wrapping_the_whole_formula_is_still_the_formula():
    code, out, _ = invoke("grad", r"$f(ylog(wx+b))$", "--wrt", "w")
    assert code == 0 and out.splitlines()[0] == "f = y*log(b + w*x)"


def test_a_stream_with_one_wrt_answers_every_line_with_notes_in_json_and_nothing_on_stderr():
    lines = "w*x\nx*y\n(x^x^x^x)^0\nasin(-w) + asin(w)\nW*x\n"
    code, out, err = invoke("grad", "-", "--wrt", "w", "--format", "json", input=lines)
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["gradient"] for r in records] == [["x"], ["0"], ["0"], ["0"], ["0"]]
    assert "notes" not in records[0] and "notes" not in records[3]
    assert records[1]["notes"] == ["'w' does not appear in x*y: its partial is 0"]
    assert records[4]["notes"] == [
        "'w' does not appear in W*x: its partial is 0; did you mean 'W'?"
    ]


@pytest.mark.parametrize("fmt, line", [("text", "note: "), ("pretty", ""), ("latex", "% note: ")])
def test_the_note_shows_in_every_format(fmt, line):
    code, out, err = invoke("grad", "w*x", "--wrt", "W,x", "--format", fmt)
    assert code == 0 and err == ""
    assert f"{line}'W' does not appear in w*x: its partial is 0; did you mean 'w'?" in out


def test_a_typed_name_that_cancels_is_a_variable_of_every_command():
    for command in ("grad", "hessian", "jacobian"):
        code, out, _ = invoke(command, "asin(-x) + asin(x)", "--format", "json")
        assert code == 0 and json.loads(out)["wrt"] == ["x"], command
    code, out, _ = invoke("diff", "(x^x^x^x)^0", "--format", "json")
    assert code == 0 and json.loads(out)["derivative"] == "0"
    code, out, _ = invoke("check", "asin(-x) + asin(x)", "--claim", "0")
    assert code == 0, out
    code, out, _ = invoke("grad", "x - x", "--at", "x=2", "--format", "json")
    assert code == 0 and json.loads(out)["gradient_value"] == [0.0]


@pytest.mark.parametrize(
    "wrt, words", [("e", "'e' is a constant"), ("sin", "'sin' is a function"), ("2x", "not a")]
)
def test_a_wrt_name_that_cannot_be_a_variable_is_a_usage_error(wrt, words):
    code, out, err = invoke("grad", "x^2", "--wrt", wrt)
    assert code == 2 and out == "" and words in err
