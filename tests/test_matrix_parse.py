"""The shaped notation: what each spelling means, what text comes back, shape errors that
name both shapes and the operation, parse errors with columns, and limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symgrad import matrix_latex, parse_matrix, parse_shapes
from symgrad.errors import InputError, LimitError, ParseError
from symgrad.limits import Limits
from symgrad.parsing.matrix_shapes import parse_dims, shape_json, shape_text

SHAPES = "X=m,n; w=n; y=m; A=n,n; B=n,n; x=n; u=n; v=n; W=h,n; b=h; V=p,h; z=p; M=m,n"


def P(text: str, shapes: str = SHAPES):
    return parse_matrix(text, shapes)


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize(
    "spec, expected",
    [
        (["X=m,n", "w=n"], {"X": ("m", "n"), "w": ("n", 1)}),
        ("X=m,n; w=n", {"X": ("m", "n"), "w": ("n", 1)}),
        ("X=m,n w=n", {"X": ("m", "n"), "w": ("n", 1)}),
        ("X = (m, n);w=3", {"X": ("m", "n"), "w": (3, 1)}),
        ("X=3×4", {"X": (3, 4)}),
        ("r=1,n", {"r": (1, "n")}),
        ("θ=n", {"theta": ("n", 1)}),
    ],
)
def test_shape_specs(spec, expected):
    assert parse_shapes(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("X", "expected name=shape"),
        ("X=", "is not a shape"),
        ("X=m,n,k", "3 dimensions"),
        ("X=0", "between 1 and"),
        ("X=m; X=n", "gives X twice"),
        ("X=m-1", "is not a size"),
        ("2X=m", "is not a variable name"),
    ],
)
def test_bad_shape_specs(spec, message):
    with pytest.raises(InputError, match=message):
        parse_shapes(spec)


@pytest.mark.parametrize(
    "spec, expected, message",
    [
        ("m=5,n=3", {"m": 5, "n": 3}, None),
        (["m=5", "n=3"], {"m": 5, "n": 3}, None),
        ("m=five", None, "needs a whole number"),
        ("m", None, "expected name=size"),
        ("m=2,m=3", None, "twice"),
    ],
)
def test_dims(spec, expected, message):
    if message:
        with pytest.raises(InputError, match=message):
            parse_dims(spec)
    else:
        assert parse_dims(spec) == expected


@pytest.mark.parametrize(
    "shape, text, json",
    [((1, 1), "scalar", []), (("n", 1), "n", ["n"]), ((1, "n"), "1×n", [1, "n"]),
     (("m", 3), "m×3", ["m", 3])],
)  # fmt: skip
def test_shape_text_and_json(shape, text, json):
    assert shape_text(shape) == text and shape_json(shape) == json


# ---------------------------------------------------------------- notation


@pytest.mark.parametrize(
    "text, canonical, shape",
    [
        ("X*w - y", "X*w - y", ("m", 1)),
        ("X@w - y", "X*w - y", ("m", 1)),
        ("x'*A*x", "x'*A*x", (1, 1)),
        ("x.T*A*x", "x'*A*x", (1, 1)),
        ("x^T*A*x", "x'*A*x", (1, 1)),
        ("xᵀ*A*x", "x'*A*x", (1, 1)),
        ("x’*A*x", "x'*A*x", (1, 1)),
        ("transpose(x)*A*x", "x'*A*x", (1, 1)),
        ("dot(x, A*x)", "x'*A*x", (1, 1)),
        ("u .* v", "u .* v", ("n", 1)),
        ("u ⊙ v", "u .* v", ("n", 1)),
        ("hadamard(u, v)", "u .* v", ("n", 1)),
        ("u ./ v", "u ./ v", ("n", 1)),
        ("u.^2", "u.^2", ("n", 1)),
        ("A^2", "A^2", ("n", "n")),
        ("A²", "A^2", ("n", "n")),
        ("A*A*A", "A^3", ("n", "n")),
        ("A^-1", "inv(A)", ("n", "n")),
        ("A^0", "eye(n)", ("n", "n")),
        ("inv(A')", "inv(A)'", ("n", "n")),
        ("2*X'", "2*X'", ("n", "m")),
        ("2X'", "2*X'", ("n", "m")),
        ("(2*X)'", "2*X'", ("n", "m")),
        ("X*(3*w)", "3*X*w", ("m", 1)),
        ("(x'*A)'", "A'*x", ("n", 1)),
        ("(A*x)'", "x'*A'", (1, "n")),
        ("(A*(x + u))'", "(A*(x + u))'", (1, "n")),
        ("(A')'", "A", ("n", "n")),
        ("x + 1", "x + 1", ("n", 1)),
        ("1 - x", "1 - x", ("n", 1)),
        ("x + x", "2*x", ("n", 1)),
        ("x - x", "zeros(n)", ("n", 1)),
        ("x .* x ./ x", "x", ("n", 1)),
        ("x/2", "x/2", ("n", 1)),
        ("-x/2 + s*x", "s*x - x/2", ("n", 1)),
        ("tanh(W*x + b)", "tanh(W*x + b)", ("h", 1)),
        ("sqrt(x)", "sqrt(x)", ("n", 1)),
        ("e^s", "exp(s)", (1, 1)),
        ("log(softmax(W*x))", "W*x - logsumexp(W*x)", ("h", 1)),
        ("norm(x)", "norm2(x)", (1, 1)),
        ("norm2(-2*x)", "2*norm2(x)", (1, 1)),
        ("sum(x')", "sum(x)", (1, 1)),
        ("tr(A')", "tr(A)", (1, 1)),
        ("trace(3*A)", "3*tr(A)", (1, 1)),
        ("det(A')", "det(A)", (1, 1)),
        ("vector(1)'*x", "sum(x)", (1, 1)),
        ("ones(n)'*x", "sum(x)", (1, 1)),
        ("x + vector(2)", "x + 2", ("n", 1)),
        ("ones(m, n)", "ones(m,n)", ("m", "n")),
        ("diag(x)*A", "diag(x)*A", ("n", "n")),
        ("diag(diag(x))", "x", ("n", 1)),
        ("diag(ones(n))", "eye(n)", ("n", "n")),
        ("x[0] + A[1, 2]", "x[0] + A[1, 2]", (1, 1)),
        ("softmax(x)[1]", "softmax(x)[1]", (1, 1)),
        ("eye(n)*x", "x", ("n", 1)),
        ("onehot(1, n)'*x", "onehot(1, n)'*x", (1, 1)),
        ("u'*v*w", "u'*v*w", ("n", 1)),
        ("-y'*log(softmax(V*tanh(W*x)))", "-y'*(V*tanh(W*x) - logsumexp(V*tanh(W*x)))", (1, 1)),
    ],
)
def test_notation(text, canonical, shape):
    shapes = SHAPES.replace("y=m", "y=p") if "softmax(V" in text else SHAPES
    node = P(text, shapes)
    assert str(node) == canonical
    assert node.shape == shape
    assert P(canonical, shapes) == node  # the text re-parses to the same expression


def test_names_without_a_shape_are_scalars():
    from symgrad.parsing.matrix_tree import variables

    node = P("s*x + t")
    assert node.shape == ("n", 1)
    assert {v.name: v.shape for v in variables(node)} == {"s": (1, 1), "x": ("n", 1), "t": (1, 1)}


def test_x_caret_t_is_a_power_of_scalars():
    assert str(P("s^T")) == "s^T"  # T a scalar variable: a power, not a transpose


# ---------------------------------------------------------------- shape errors


@pytest.mark.parametrize(
    "text, message",
    [
        ("X*y", "matrix product X*y: X is m×n and y is a vector of m; the inner sizes n and m"),
        ("x*x", "for the inner product write x'*x"),
        ("X + A", "+: X is m×n and A is n×n; they must have the same shape"),
        ("x .* y", ".*: x is a vector of n and y is a vector of m"),
        ("tr(X)", "tr needs a square matrix"),
        ("det(w)", "det needs a square matrix"),
        ("inv(X)", "inv needs a square matrix"),
        ("softmax(A)", "softmax takes a vector"),
        ("x^2", "^ of a vector (a vector of n): write .^ for each entry, or norm2(v)^2"),
        ("X^2", "^ of a non-square matrix"),
        ("A^0.5", "a matrix power needs a whole number"),
        ("X/w", "divide by a scalar"),
        ("dot(x, y)", "they must have the same shape"),
        ("x[5]", None),  # a named size: checked when numbers are known
        ("A[0]", "take an entry of a matrix as A"),
        ("s[0]", "indexing a scalar"),
        ("vector(1)'*vector(1)", "vector(1) needs a size"),
        ("2^x", "write .^ for each entry"),
    ],
)
def test_shape_errors_name_both_shapes_and_the_operation(text, message):
    if message is None:
        assert P(text).shape == (1, 1)
        return
    with pytest.raises((InputError, ParseError)) as info:
        P(text)
    assert message in info.value.message
    assert info.value.column is not None  # the operator's column


def test_index_past_a_numeric_size():
    with pytest.raises(InputError, match="index 5 is outside 0..2"):
        parse_matrix("x[5]", "x=3")


# ---------------------------------------------------------------- parse errors


@pytest.mark.parametrize(
    "text, column, message",
    [
        ("X*w -", 6, "ends too early"),
        ("(X*w", 1, "never closed"),
        ("X*w)", 4, "no matching"),
        ("X(w)", 1, "X is a variable, not a function"),
        ("foo(x)", 1, "unknown function 'foo'"),
        ("x = 1", 3, "not an equation"),
        ("x |y|", 3, "norm2"),
        ("'x", 1, "follows what it transposes"),
        ("sum", 1, "sum is a function"),
        ("tanh", 1, "tanh is a function"),
        ("__import__(x)", 1, "a name starts with a letter"),
        ("x[a]", 3, "whole number"),
        ("softmax(s, t)", 1, "softmax takes one vector here"),
        ("ones(n, m, k)", 1, "takes sizes"),
        ("onehot(5, 3)", 1, "from 0 to n - 1"),
        ("sum()", 5, "needs an argument"),
        ("Aᵀ²", None, None),
    ],
)
def test_parse_errors_have_columns(text, column, message):
    if message is None:
        P(text)
        return
    with pytest.raises(ParseError) as info:
        P(text)
    assert message in info.value.message
    assert info.value.column == column


def test_limits():
    with pytest.raises(LimitError, match="nesting deeper"):
        parse_matrix("(" * 200 + "x" + ")" * 200, SHAPES)
    with pytest.raises(LimitError, match="nesting deeper"):
        parse_matrix("-" * 200 + "x", SHAPES)
    with pytest.raises(LimitError, match="characters"):
        parse_matrix("x + " * 30_000 + "x", SHAPES)
    with pytest.raises(LimitError, match="bits"):
        parse_matrix("9^9^9*x", SHAPES)
    with pytest.raises(LimitError, match="matrix power"):
        parse_matrix("A^1000", SHAPES)
    with pytest.raises(LimitError, match="tokens"):
        parse_matrix("x + x + x", SHAPES, Limits(max_tokens=3))


# ---------------------------------------------------------------- text re-parses


_ATOMS = ["x", "u", "v", "A*x", "A'*v", "tanh(u)", "2*x", "s*v", "softmax(u)", "x/s", "u.^2",
          "1", "inv(A)*x", "diag(u)*v", "exp(-v)", "(A + A')*u", "sigmoid(B*x)"]  # fmt: skip
_OPS = ["+", "-", ".*", "./"]


@st.composite
def vector_expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(_ATOMS))
    left = draw(vector_expressions(depth=depth - 1))
    right = draw(vector_expressions(depth=depth - 1))
    op = draw(st.sampled_from(_OPS))
    wrap = draw(st.sampled_from(["({})", "tanh({})", "A*({})", "({})'*x*u", "{}"]))
    return wrap.format(f"{left} {op} {right}")


@settings(max_examples=150, deadline=None)
@given(vector_expressions())
def test_text_reparses_to_the_same_expression(text):
    try:
        node = P(text)
    except (InputError, ParseError):  # x ./ (x - x): fine to refuse, never a traceback
        return
    assert P(str(node)) == node


def test_latex_bold_vectors_and_top():
    assert matrix_latex(P("2*X'*(X*w - y)")) == (
        r"2 \mathbf{X}^\top \left(\mathbf{X} \mathbf{w} - \mathbf{y}\right)"
    )
    assert matrix_latex(P("inv(A)'")) == r"\mathbf{A}^{-\top}"
    assert matrix_latex(P("u .* tanh(v) + s*x")) == (
        r"\mathbf{u} \odot \tanh\left(\mathbf{v}\right) + s \mathbf{x}"
    )
    assert matrix_latex(P("norm2(θ*x)^2")) == (r"\left\lVert \theta \mathbf{x} \right\rVert_2^{2}")


@settings(max_examples=100, deadline=None)
@given(vector_expressions())
def test_unicode_text_reparses_too(text):
    from symgrad.parsing.matrix_text import unicode_text

    try:
        node = P(text)
    except (InputError, ParseError):
        return
    assert P(unicode_text(node)) == node


_PIECES = ["x", "A", "X", "s", "w", "1", "0", "2.5", "(", ")", "'", ".T", "^T", "ᵀ", "²", "+",
           "-", "*", "/", ".*", "./", ".^", "^", "@", "⊙", "[", "]", ",", "0]", "sum(", "tr(",
           "inv(", "det(", "diag(", "softmax(", "ones(n)", "eye(n)", "vector(1)", "tanh(",
           "log(", "norm2(", "dot(", "e", "pi", " "]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_anything_typed_is_a_result_or_a_clear_error(pieces):
    from symgrad.errors import SymgradError

    text = "".join(pieces)
    try:
        node = P(text)
    except SymgradError as err:
        assert err.message
        return
    assert P(str(node)) == node
