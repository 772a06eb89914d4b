"""Results in their textbook form: the classic losses' gradients print as the literature prints
them, and tidy only ever returns an equal expression."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symgrad import gradient, parse
from symgrad.derive.forms import tidy
from symgrad.notation import expr_text
from tests.reference import close, numeric

BCE = "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))"
SOFTMAX_CE = (
    "-(y0*log(softmax(a, b, c)[0]) + y1*log(softmax(a, b, c)[1])"
    " + (1 - y0 - y1)*log(softmax(a, b, c)[2]))"
)

TEXTBOOK = [
    # (loss or unit, variable, the partial as textbooks print it)
    ("-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))", "z", "sigmoid(z) - y"),
    (BCE, "w", "x*(sigmoid(b + w*x) - y)"),
    (BCE, "b", "sigmoid(b + w*x) - y"),
    ("-(y*log(sigmoid(z)) + (1 - y)*log(sigmoid(-z)))", "z", "sigmoid(z) - y"),
    ("-(y*log_sigmoid(z) + (1 - y)*log_sigmoid(-z))", "z", "sigmoid(z) - y"),
    ("softplus(z) - y*z", "z", "sigmoid(z) - y"),
    ("log(1 + exp(-y*z))", "z", "-y*sigmoid(-y*z)"),
    ("log(1 + exp(-y*w*x))", "w", "-x*y*sigmoid(-w*x*y)"),
    ("log(1 + exp(-y*w*x)) + lam*w^2/2", "w", "lam*w - x*y*sigmoid(-w*x*y)"),
    ("-log(softmax(a, b, c)[0])", "a", "softmax(a, b, c)[0] - 1"),
    ("-log(softmax(a, b, c)[0])", "b", "softmax(a, b, c)[1]"),
    ("-log_softmax(a, b, c)[0]", "a", "softmax(a, b, c)[0] - 1"),
    (SOFTMAX_CE, "a", "softmax(a, b, c)[0] - y0"),
    ("log(exp(a) + exp(b) + exp(c))", "a", "softmax(a, b, c)[0]"),
    ("-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "a", "softmax(a, b, c)[0] - 1"),
    ("logsumexp(a, b, c) - a", "a", "softmax(a, b, c)[0] - 1"),
    ("log_softmax(a, b)[0]", "a", "1 - softmax(a, b)[0]"),
    ("(y - (w*x + b))^2", "w", "2*x*(b + w*x - y)"),
    ("(y - w*x)^2/2", "w", "x*(w*x - y)"),
    ("((y1 - w*x1)^2 + (y2 - w*x2)^2)/2", "w", "x1*(w*x1 - y1) + x2*(w*x2 - y2)"),
    ("(y - w*x)^2 + lam*w^2", "w", "2*(lam*w + x*(w*x - y))"),
    ("sigmoid(z)", "z", "sigmoid(z)*(1 - sigmoid(z))"),
    ("sigmoid(w*x + b)", "w", "x*sigmoid(b + w*x)*(1 - sigmoid(b + w*x))"),
    ("exp(z)/(1 + exp(z))", "z", "sigmoid(z)*(1 - sigmoid(z))"),
    ("tanh(z)^2", "z", "2*tanh(z)*(1 - tanh(z)**2)"),
    ("tanh(w*x + b)", "w", "x*(1 - tanh(b + w*x)**2)"),
    ("log(1 + exp(z))", "z", "sigmoid(z)"),
    ("log(sigmoid(z))", "z", "sigmoid(-z)"),
    ("log(1 - sigmoid(z))", "z", "-sigmoid(z)"),
    ("(y - sigmoid(z))^2", "z", "2*sigmoid(z)*(1 - sigmoid(z))*(sigmoid(z) - y)"),
    ("x*sigmoid(x)", "x", "sigmoid(x)*(x*(1 - sigmoid(x)) + 1)"),
    ("log(cosh(z))", "z", "tanh(z)"),
    ("(1 - y*z)*Heaviside(1 - y*z)", "z", "-y*Heaviside(1 - y*z)"),
    ("(y - m)^2/(2*s^2) + log(s)", "m", "(m - y)/s**2"),
]


@pytest.mark.parametrize("loss, var, textbook", TEXTBOOK)
def test_classic_gradients_print_as_textbooks_print_them(loss, var, textbook):
    partial = gradient(loss, var).partials[0]
    assert expr_text(partial) == textbook
    assert sp.simplify(partial.rewrite(sp.exp) - parse(textbook).rewrite(sp.exp)) == 0


FORMS = [
    # (a derivative as sympy builds it, what tidy makes of it)
    ("sigmoid(z)*(1 - y) - y*(1 - sigmoid(z))", "sigmoid(z) - y"),
    ("-y*exp(-y*z)/(1 + exp(-y*z))", "-y*sigmoid(-y*z)"),
    ("exp(u)/(exp(u) + 1)", "sigmoid(u)"),
    ("1 - sigmoid(z)", "sigmoid(-z)"),
    ("exp(a)/(exp(a) + exp(b))", "softmax(a, b)[0]"),
    ("1 - softmax(a, b, c)[0] - softmax(a, b, c)[1]", "softmax(a, b, c)[2]"),
    ("softmax(a, b)[0] - 1", "softmax(a, b)[0] - 1"),
    ("sinh(z)/cosh(z)", "tanh(z)"),
    ("-sin(x)/cos(x)", "-tan(x)"),
    ("x*DiracDelta(x) + Heaviside(x)", "Heaviside(x)"),
    ("-x*(y - w*x)", "x*(w*x - y)"),
    ("(1 - 2*x**2/(x**2 + 1))/(x**2 + 1)", "(1 - x**2)/(x**2 + 1)**2"),
    ("w*x + b", "b + w*x"),
]


@pytest.mark.parametrize("built, tidied", FORMS)
def test_tidy_rewrites(built, tidied):
    assert expr_text(tidy(parse(built))) == tidied


ATOMS = st.sampled_from(["x", "y", "z", "1", "2", "-1"])
FUNCS = st.sampled_from(["sigmoid", "exp", "tanh", "softplus", "log_sigmoid"])


@st.composite
def ml_expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(ATOMS)
    kind = draw(st.sampled_from(["call", "+", "-", "*", "/1+"]))
    a = draw(ml_expressions(depth=depth - 1))
    if kind == "call":
        return f"{draw(FUNCS)}({a})"
    if kind == "/1+":
        return f"({a})/(1 + exp({draw(ml_expressions(depth=depth - 1))}))"
    return f"({a}) {kind} ({draw(ml_expressions(depth=depth - 1))})"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ml_expressions(), st.sampled_from([-1.7, -0.3, 0.4, 2.2]))
def test_tidy_returns_an_equal_expression_that_reads_back(text, value):
    f = parse(text)
    x = next(iter(sorted(f.free_symbols, key=lambda s: s.name)), None)
    if x is None:
        return
    raw = sp.diff(f, x)
    tidied = tidy(raw)
    assert parse(expr_text(tidied)) == tidied  # and its text reads back to it
    point = {s: value + 0.1 * k for k, s in enumerate(sorted(raw.free_symbols, key=str))}
    assert close(numeric(tidied, point), numeric(raw, point), rtol=1e-9, atol=1e-12)
