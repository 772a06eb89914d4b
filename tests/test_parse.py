"""The input syntax of DESIGN.md, one row per case."""

from __future__ import annotations

import pytest
import sympy as sp

from symgrad.errors import LimitError, ParseError
from symgrad.functions import Abs, sigmoid, symbol
from symgrad.parsing.plain import parse

w, x, y, z, b = (symbol(n) for n in "wxyzb")

ACCEPTED = [
    # numbers and names
    ("3", sp.Integer(3)),
    ("0.5*x", sp.Float("0.5") * x),
    ("1e-3*x", sp.Float("1e-3") * x),
    (".5x", sp.Float("0.5") * x),
    ("wx", symbol("wx")),
    ("w1 + x_1", symbol("w1") + symbol("x_1")),
    ("theta", symbol("theta")),
    ("θ", symbol("theta")),
    ("θ_1*φ", symbol("theta_1") * symbol("phi")),
    ("ｘ + 1", x + 1),
    # constants
    ("e", sp.E),
    ("E^x", sp.exp(x)),
    ("e^-x", sp.exp(-x)),
    ("pi*x", sp.pi * x),
    ("π", sp.pi),
    # operators, precedence, associativity
    ("x + y*z", x + y * z),
    ("x - y - z", x - y - z),
    ("x / y / z", x / (y * z)),
    ("x^2", x**2),
    ("x**2", x**2),
    ("-x^2", -(x**2)),
    ("-x**2", -(x**2)),
    ("x^y^z", x ** (y**z)),
    ("x**y**z", x ** (y**z)),
    ("2^-x^2", 2 ** (-(x**2))),
    ("x^-2", x**-2),
    ("--x", x),
    ("-+-x", x),
    ("(x + y)^2", (x + y) ** 2),
    ("x²y³", x**2 * y**3),
    ("−x × y · z ÷ w", -x * y * z / w),
    ("x⋅y", x * y),
    ("x⁻¹ + y⁻²", 1 / x + y**-2),
    # implicit products
    ("3x", 3 * x),
    ("2(x+1)", sp.Mul(2, x + 1, evaluate=False)),
    ("(x+1)(x-1)", (x + 1) * (x - 1)),
    ("(x+1)y", (x + 1) * y),
    ("2x^2", 2 * x**2),
    ("sin(x)cos(x)", sp.sin(x) * sp.cos(x)),
    ("2pi", 2 * sp.pi),
    # functions
    ("log(x)", sp.log(x)),
    ("ln(x)", sp.log(x)),
    ("log(x, 2)", sp.log(x) / sp.log(2)),
    ("sqrt(x)", sp.sqrt(x)),
    ("abs(x)", Abs(x)),
    ("sigmoid(w*x+b)", sigmoid(w * x + b)),
    ("exp(1)^x", sp.exp(x)),
    ("max(x, y)", sp.Max(x, y)),
    ("atan2(y, x)", sp.atan2(y, x)),
]


@pytest.mark.parametrize("text, expected", ACCEPTED)
def test_accepted(text, expected):
    result = parse(text)
    assert result == expected or sp.expand(result - expected) == 0, (result, expected)


def test_symbols_are_real_and_shared():
    parsed = parse("w*x")
    assert all(s.is_real for s in parsed.free_symbols)
    assert symbol("w") in parsed.free_symbols  # the same object as the library's


def test_names_are_never_split():
    assert parse("wx").free_symbols == {symbol("wx")}
    assert parse("x_10 + x10").free_symbols == {symbol("x_10"), symbol("x10")}


def test_typed_form_of_a_scaled_sum_is_kept():
    # sympy would distribute 2*(x + 1) into 2*x + 2; the parsed-as line shows what was typed
    assert str(parse("2(x+1)")) == "2*(x + 1)"


REJECTED = [
    # (input, column, words the message must contain)
    ("x +", 4, "ends too early"),
    ("x +* 2", 4, "unexpected '*'"),
    ("(x + 1", 1, "never closed"),
    ("x + 1)", 6, "no matching '('"),
    ("x(y + 1)", 1, "x is not a function; write x*(...)"),
    ("f(x)", 1, "f is not a function"),
    ("sine(x)", 1, "did you mean sin"),
    ("sin x", 1, "sin is a function"),
    ("log(x, 2, 3)", 1, "takes 1 or 2 arguments"),
    ("sin()", 5, "needs an argument"),
    ("x y", 3, "missing operator between 'x' and 'y'"),
    ("2 3", 3, "missing operator"),
    ("(x+1)2", 6, "missing operator"),
    ("1/2x", 4, "ambiguous"),
    ("e^2x", 4, "ambiguous"),
    ("x^2y", 4, "ambiguous"),
    ("x.real", 1, "attribute access"),
    ("x[0]", 2, "brackets"),
    ("'x'", 1, "strings"),
    ("x == 1", 3, "equation"),
    ("x < 1", 3, "comparison"),
    ("x; y", 2, "one expression"),
    ("lambda x: x", 9, "not an operator"),
    ("__import__('os')", 1, "a name starts with a letter"),
    ("open('f')", 6, "strings"),
    ("1_000*x", 2, "a name starts with a letter"),
    ("½x", 1, "write a fraction as 1/2"),
    ("xⁿ", 2, "write x^n for a power"),
    ("xᵢ", 2, "write x_1 or x_i"),
    ("√x", 1, "write sqrt(x)"),
    ("sin^2(x)", 1, "write sin(x)^2"),
    ("xsin(x)", 1, "write x*sin(...)"),
    ("x*__class__", 3, "a name starts with a letter"),
    ("x, y", 2, "arguments of a function call"),
    ("()", 2, "empty parentheses"),
    ("", 1, "empty expression"),
    ("1/0", 3, "division by zero"),
    ("0^-1", 2, "division by zero"),
    ("log(0)", None, "undefined"),
    ("sqrt(-1)", None, "not real"),
    # constants outside a function's real domain stay unevaluated in sympy: asin(2) is complex
    ("asin(2)*x", None, "asin(2) is not a real number"),
    ("x + log(asin(2))", None, "asin(2) is not a real number"),
    ("atanh(2) + x", None, "atanh(2) is not a real number"),
    ("asec(1/2)*x", None, "asec(1/2) is not a real number"),
    ("asin(sqrt(5))*x", None, "asin(sqrt(5)) is not a real number"),
    ("(-8)^(1/3)*x", None, "a real root of a negative number is cbrt(x)"),
]


@pytest.mark.parametrize(
    "text, value",
    [("asin(1/2)", 0.5235987755982988), ("cbrt(-8)", -2.0), ("root(-8, 3)", -2.0),
     ("acosh(2)", 1.3169578969248166), ("(-2)^3", -8.0), ("asin(1)", 1.5707963267948966)],
)  # fmt: skip
def test_real_constants_of_restricted_functions_are_numbers(text, value):
    assert float(parse(f"{text}*x").coeff(symbol("x"))) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text, column, words", REJECTED)
def test_rejected(text, column, words):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.column == column
    assert words in info.value.message


@pytest.mark.parametrize(
    "text",
    ["10^10^10", "2^2^2^2^2^2", "9^9^9^9", "((9^9)^9999)^9999", "1" * 5000, "x^(10^100000)"],
)
def test_huge_numbers_hit_a_limit_before_sympy_builds_them(text):
    with pytest.raises(LimitError):
        parse(text)


def test_deep_nesting_hits_a_named_limit():
    with pytest.raises(LimitError, match="max-depth"):
        parse("(" * 5000 + "x" + ")" * 5000)


def test_long_chains_do_not_recurse():
    assert parse("-" * 20_000 + "x") == x
    assert parse("+".join(["x"] * 20_000)) == 20_000 * x
    assert parse("^".join(["x"] * 50)).is_Pow
    with pytest.raises(LimitError, match="power tower"):
        parse("^".join(["x"] * 2_000))
