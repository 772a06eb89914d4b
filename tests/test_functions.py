"""The function table, one row per function: value and derivative against an independent
reference (mpmath at 30 digits, the ML activations written as PyTorch documents them), the
derivative against finite differences, generated code, and printed forms that read back.

Adding a function to ``symgrad.functions.FUNCTIONS`` is one entry there and one row here.
"""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp

from symgrad import check_gradient, codegen, gradient, parse
from symgrad.functions import FUNCTIONS
from symgrad.notation import expr_latex, expr_text
from symgrad.numeric.compile import compile_exprs
from symgrad.parsing.latex import parse_latex

mp.mp.dps = 30

# PyTorch's documented constants (torch.nn.SELU, torch.nn.LeakyReLU, torch.nn.ELU)
SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")
LEAKY_SLOPE = mp.mpf("0.01")


def sigmoid(x):
    return 1 / (1 + mp.exp(-x))


def softplus(x):
    return mp.log(1 + mp.exp(x))


def real_root(x, n):
    return mp.sign(x) * mp.root(abs(x), n) if n % 2 else mp.root(x, n)


def logsumexp(*xs):
    return mp.log(mp.fsum(mp.exp(x) for x in xs))


# The documented definitions, written independently of symgrad's code:
# torch.nn.GELU: x*Φ(x) = x/2*(1 + erf(x/sqrt 2)); approximate='tanh':
#   x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))
# torch.nn.ELU: max(0, x) + min(0, alpha*(exp(x) - 1)); SELU: scale*ELU(x, alpha)
# torch.nn.LeakyReLU: max(0, x) + negative_slope*min(0, x)
# torch.nn.SiLU: x*sigmoid(x); Mish: x*tanh(softplus(x)); Softsign: x/(1 + |x|)
# torch.nn.LogSigmoid: log(1/(1 + exp(-x))); torch.logsumexp: log(sum(exp(x)))
# torch.nn.LogSoftmax: log(exp(x_i)/sum_j exp(x_j))
ROWS = [
    # (function, expression, variable, reference of the variables' values, points)
    ("exp", "exp(x)", "x", lambda x: mp.exp(x), [0.3, -2.0]),
    ("log", "log(x, 3)", "x", lambda x: mp.log(x, 3), [0.3, 7.0]),
    ("log2", "log2(x)", "x", lambda x: mp.log(x, 2), [0.3, 7.0]),
    ("log10", "log10(x)", "x", lambda x: mp.log10(x), [0.3, 7.0]),
    ("log1p", "log1p(x)", "x", lambda x: mp.log1p(x), [-0.5, 3.0]),
    ("expm1", "expm1(x)", "x", lambda x: mp.expm1(x), [-0.5, 3.0]),
    ("sqrt", "sqrt(x)", "x", lambda x: mp.sqrt(x), [0.3, 9.0]),
    ("cbrt", "cbrt(x)", "x", lambda x: real_root(x, 3), [0.3, -8.0, -0.2]),
    ("root", "root(x, 5)", "x", lambda x: real_root(x, 5), [0.3, -3.0]),
    ("root", "nthRoot(x)", "x", lambda x: mp.sqrt(x), [0.3, 4.0]),
    ("root", "surd(x, -3)", "x", lambda x: 1 / real_root(x, 3), [0.3, -2.0]),
    ("root", "root(x, 4)", "x", lambda x: mp.root(x, 4), [0.3, 2.0]),
    ("pow", "pow(x, 3) + pow(2, x)", "x", lambda x: x**3 + 2**x, [0.3, -1.5]),
    ("abs", "abs(x)", "x", lambda x: abs(x), [0.3, -2.0]),
    ("sign", "x*sign(x)", "x", lambda x: x * mp.sign(x), [0.3, -2.0]),
    ("sign", "x*sgn(x)", "x", lambda x: x * mp.sign(x), [0.7]),
    ("sin", "sin(x)", "x", lambda x: mp.sin(x), [0.3, -2.0]),
    ("cos", "cos(x)", "x", lambda x: mp.cos(x), [0.3, -2.0]),
    ("tan", "tan(x)", "x", lambda x: mp.tan(x), [0.3, -2.0]),
    ("cot", "cot(x)", "x", lambda x: mp.cot(x), [0.3, -2.0]),
    ("sec", "sec(x)", "x", lambda x: mp.sec(x), [0.3, -2.0]),
    ("csc", "csc(x)", "x", lambda x: mp.csc(x), [0.3, -2.0]),
    ("sinc", "sinc(x)", "x", lambda x: mp.sin(x) / x, [0.3, -2.0, 7.5]),
    ("asin", "asin(x)", "x", lambda x: mp.asin(x), [0.3, -0.8]),
    ("acos", "acos(x)", "x", lambda x: mp.acos(x), [0.3, -0.8]),
    ("atan", "atan(x)", "x", lambda x: mp.atan(x), [0.3, -5.0]),
    ("acot", "acot(x)", "x", lambda x: mp.atan(1 / x), [0.3, -5.0]),
    ("asec", "asec(x)", "x", lambda x: mp.acos(1 / x), [1.5, -3.0]),
    ("acsc", "acsc(x)", "x", lambda x: mp.asin(1 / x), [1.5, -3.0]),
    ("atan2", "atan2(y, x)", "x", lambda x, y: mp.atan2(y, x), [{"x": -1.0, "y": 0.5}]),
    ("sinh", "sinh(x)", "x", lambda x: mp.sinh(x), [0.3, -2.0]),
    ("cosh", "cosh(x)", "x", lambda x: mp.cosh(x), [0.3, -2.0]),
    ("tanh", "tanh(x)", "x", lambda x: mp.tanh(x), [0.3, -2.0]),
    ("coth", "coth(x)", "x", lambda x: 1 / mp.tanh(x), [0.3, -2.0]),
    ("sech", "sech(x)", "x", lambda x: 1 / mp.cosh(x), [0.3, -2.0]),
    ("csch", "csch(x)", "x", lambda x: 1 / mp.sinh(x), [0.3, -2.0]),
    ("asinh", "asinh(x)", "x", lambda x: mp.asinh(x), [0.3, -2.0]),
    ("acosh", "acosh(x)", "x", lambda x: mp.acosh(x), [1.3, 5.0]),
    ("atanh", "atanh(x)", "x", lambda x: mp.atanh(x), [0.3, -0.9]),
    ("acoth", "acoth(x)", "x", lambda x: mp.atanh(1 / x), [1.3, -5.0]),
    ("asech", "asech(x)", "x", lambda x: mp.acosh(1 / x), [0.3, 0.9]),
    ("acsch", "acsch(x)", "x", lambda x: mp.asinh(1 / x), [0.3, -5.0]),
    ("erf", "erf(x)", "x", lambda x: mp.erf(x), [0.3, -2.0]),
    ("sigmoid", "sigmoid(x)", "x", lambda x: sigmoid(x), [0.3, -2.0, 30.0]),
    ("log_sigmoid", "log_sigmoid(x)", "x", lambda x: mp.log(1 / (1 + mp.exp(-x))), [0.3, -9.0]),
    ("softplus", "softplus(x)", "x", lambda x: softplus(x), [0.3, -2.0]),
    ("relu", "relu(x)", "x", lambda x: max(x, 0), [0.3, -2.0]),
    (
        "leaky_relu",
        "leaky_relu(x)",
        "x",
        lambda x: max(0, x) + LEAKY_SLOPE * min(0, x),
        [0.3, -2.0],
    ),
    (
        "leaky_relu",
        "leaky_relu(x, a)",
        "a",
        lambda x, a: max(0, x) + a * min(0, x),
        [
            {"x": -2.0, "a": 0.2},
        ],
    ),
    ("elu", "elu(x)", "x", lambda x: max(0, x) + min(0, mp.exp(x) - 1), [0.3, -2.0]),
    (
        "elu",
        "elu(x, a)",
        "a",
        lambda x, a: max(0, x) + min(0, a * (mp.exp(x) - 1)),
        [
            {"x": -1.5, "a": 0.5},
        ],
    ),
    (
        "selu",
        "selu(x)",
        "x",
        lambda x: SELU_SCALE * (max(0, x) + min(0, SELU_ALPHA * (mp.exp(x) - 1))),
        [0.3, -2.0],
    ),
    ("gelu", "gelu(x)", "x", lambda x: x / 2 * (1 + mp.erf(x / mp.sqrt(2))), [0.3, -2.0, 4.0]),
    (
        "gelu_tanh",
        "gelu_tanh(x)",
        "x",
        lambda x: x / 2 * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3))),
        [0.3, -2.0],
    ),
    ("silu", "silu(x)", "x", lambda x: x * sigmoid(x), [0.3, -2.0]),
    ("silu", "swish(x)", "x", lambda x: x * sigmoid(x), [1.1]),
    ("mish", "mish(x)", "x", lambda x: x * mp.tanh(softplus(x)), [0.3, -2.0]),
    ("softsign", "softsign(x)", "x", lambda x: x / (1 + abs(x)), [0.3, -2.0]),
    (
        "softmax",
        "softmax(a, b, c)[1]",
        "a",
        lambda a, b, c: mp.exp(b) / (mp.exp(a) + mp.exp(b) + mp.exp(c)),
        [{"a": 0.3, "b": -1.0, "c": 2.0}],
    ),
    (
        "log_softmax",
        "log_softmax(a, b, c)[0]",
        "a",
        lambda a, b, c: mp.log(mp.exp(a) / (mp.exp(a) + mp.exp(b) + mp.exp(c))),
        [{"a": 0.3, "b": -1.0, "c": 2.0}],
    ),
    (
        "logsumexp",
        "logsumexp(a, b, c)",
        "b",
        lambda a, b, c: logsumexp(a, b, c),
        [{"a": 0.3, "b": -1.0, "c": 2.0}, {"a": 300.0, "b": 299.0, "c": -5.0}],
    ),
    ("sum", "sum(a, b, 2*c)", "c", lambda a, b, c: a + b + 2 * c, [{"a": 1.0, "b": 2.0, "c": 3.0}]),
    ("mean", "mean(a, b^2)", "b", lambda a, b: (a + b**2) / 2, [{"a": 1.0, "b": 2.0}]),
    ("norm", "norm(a, b, 3)", "a", lambda a, b: mp.sqrt(a**2 + b**2 + 9), [{"a": 1.0, "b": -2.0}]),
    ("hypot", "hypot(a, b)", "b", lambda a, b: mp.sqrt(a**2 + b**2), [{"a": 1.0, "b": -2.0}]),
    ("max", "max(x, 2*x, 1 - x)", "x", lambda x: max(x, 2 * x, 1 - x), [0.7, -2.0, 3.0]),
    ("min", "min(x, 2*x, 1 - x)", "x", lambda x: min(x, 2 * x, 1 - x), [0.7, -2.0, 3.0]),
    ("Heaviside", "x*Heaviside(x - 1)", "x", lambda x: x * (1 if x > 1 else 0), [0.3, 2.0]),
    ("DiracDelta", "x + DiracDelta(x - 5)", "x", lambda x: x, [0.3, 2.0]),
]


def _points(row):
    _, _, var, _, points = row
    return [p if isinstance(p, dict) else {var: p} for p in points]


def _reference_at(reference, point: dict):
    return reference(**{k: mp.mpf(v) for k, v in point.items()})


def _reference_derivative(reference, point: dict, var: str):
    def along(t):
        moved = {k: mp.mpf(v) for k, v in point.items()}
        moved[var] = t
        return reference(**moved)

    return mp.diff(along, mp.mpf(point[var]))


def _close(got: float, want, rtol: float = 1e-9) -> bool:
    want = float(want)
    return math.isfinite(got) and abs(got - want) <= rtol * max(1.0, abs(want))


def _compiled(expr: sp.Expr, point: dict) -> float:
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return float(compile_exprs([expr], symbols)(*[point[s.name] for s in symbols])[0])


IDS = [f"{row[0]}:{row[1]}" for row in ROWS]


def test_every_function_has_a_row():
    tested = {row[0] for row in ROWS}
    assert [spec.name for spec in FUNCTIONS if spec.name not in tested] == []


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_value_and_derivative_agree_with_the_reference(row):
    _, text, var, reference, _ = row
    result = gradient(text, var)
    for point in _points(row):
        value = _compiled(result.expression, point)
        assert _close(value, _reference_at(reference, point)), (point, value)
        slope = _compiled(result.partials[0], point)
        want = _reference_derivative(reference, point, var)
        assert _close(slope, want, 1e-7), (point, expr_text(result.partials[0]), slope, want)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_derivative_agrees_with_finite_differences(row):
    _, text, var, _, _ = row
    for point in _points(row):
        assert check_gradient(text, var, at=point).status == "pass", point


@pytest.mark.parametrize("target", ["numpy", "python"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_generated_code_computes_the_reference(row, target):
    _, text, var, reference, _ = row
    code = codegen(text, var, target=target)
    namespace: dict = {}
    exec(compile(code.source, "<symgrad>", "exec"), namespace)  # symgrad's own output
    for point in _points(row):
        args = {v.name: point[v.name] for v in code.arguments}
        value, (slope,) = namespace[code.name](**args)
        assert _close(float(value), _reference_at(reference, point))
        assert _close(float(slope), _reference_derivative(reference, point, var), 1e-7)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_printed_forms_read_back(row):
    _, text, var, _, _ = row
    result = gradient(text, var)
    for e in (result.expression, result.partials[0]):
        assert parse(expr_text(e)) == e, expr_text(e)
        back = parse_latex(expr_latex(e))  # LaTeX writes decimals with 15 digits
        for point in _points(row):
            assert _close(_compiled(back, point), _compiled(e, point), 1e-12), expr_latex(e)


DERIVATIVES = [
    # the derivative in the literature's words
    ("log_softmax(a, b)[0]", "a", "1 - softmax(a, b)[0]"),
    ("log_softmax(a, b, c)[0]", "c", "-softmax(a, b, c)[2]"),
    ("logsumexp(a, b, c)", "a", "softmax(a, b, c)[0]"),
    ("log_sigmoid(z)", "z", "sigmoid(-z)"),
    ("softsign(x)", "x", "1/(abs(x) + 1)**2"),
    ("cbrt(x)", "x", "1/(3*cbrt(x)**2)"),
    ("root(x, 5)", "x", "1/(5*root(x, 5)**4)"),
    ("leaky_relu(x)", "x", "0.01*Heaviside(-x) + Heaviside(x)"),
    ("leaky_relu(x, a)", "a", "x*Heaviside(-x)"),
    ("elu(x)", "x", "exp(x)*Heaviside(-x) + Heaviside(x)"),
    ("sech(x)", "x", "-tanh(x)*sech(x)"),
    ("acot(x)", "x", "-1/(x**2 + 1)"),
    ("pow(x, 3)", "x", "3*x**2"),
    ("mean(x, y)", "x", "1/2"),
    ("norm(x, y)", "x", "x/sqrt(x**2 + y**2)"),
]


@pytest.mark.parametrize("text, var, expected", DERIVATIVES)
def test_derivatives_read_as_the_literature_writes_them(text, var, expected):
    assert expr_text(gradient(text, var).partials[0]) == expected


def test_odd_roots_of_negatives_are_real_and_even_ones_are_not():
    assert parse("cbrt(-8)") == -2
    assert parse("root(-32, 5)") == -2
    assert parse_latex(r"\sqrt[3]{-27}") == -3
    assert parse("root(x, 2)") == sp.sqrt(parse("x"))
    assert parse("root(x, 3)") == parse("cbrt(x)") == parse_latex(r"\sqrt[3]{x}")


def test_the_table_names_each_class_once():
    seen: dict = {}
    for spec in FUNCTIONS:
        for cls in spec.classes:
            assert cls not in seen, f"{cls} in {seen.get(cls)} and {spec.name}"
            seen[cls] = spec.name
