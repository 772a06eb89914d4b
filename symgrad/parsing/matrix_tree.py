"""Shaped expressions: a small tree of scalars, vectors and matrices, checked as it is built.

Nodes are immutable and compare by structure. Every node is made by a constructor below
(``add``, ``mul``, ``matmul``, ``transpose``, ``call``, ...) that checks shapes (a mismatch
is an InputError naming both shapes and the operation) and keeps one canonical form:

* ``add``: like terms collected (``u + u`` is ``2*u``), numbers in front of each term,
  positive terms first, otherwise in the order written; a scalar term adds to every entry.
* ``mul``: the elementwise product (scalar times matrix is its special case): one number in
  front, equal bases collected into powers (``norm2(r)*r/norm2(r)`` is ``r``).
* ``matmul``: a chain of matrices and vectors; scalars are pulled out in front (``A*(2*x)``
  is ``2*A*x``), identities dropped.
* ``transpose``: pushed into products and sums where that does not add a transpose
  (``(x'*A)'`` is ``A'*x``); ``(A')'`` is ``A``.

Because the form is canonical, printing a node and parsing the text gives the same node.
The table functions of ``symgrad.functions`` (sigmoid, tanh, log, ...) act elementwise:
their forward and derivative rules come from that table, through sympy.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import sympy as sp
from sympy.core.function import FunctionClass

from symgrad.errors import InputError
from symgrad.functions import FUNCTIONS
from symgrad.parsing.matrix_shapes import (
    SCALAR,
    Dim,
    Shape,
    is_scalar,
    is_square,
    shape_text,
    transposed,
    vector,
)

Number = sp.Expr  # a sympy number or a constant such as pi or log(2)


class Node:
    """One shaped expression: ``op`` names its kind, ``args`` its operands, ``data`` what
    else defines it (a name, a value, coefficients), ``shape`` is ``(rows, cols)``."""

    __slots__ = ("op", "args", "data", "shape", "key", "_hash")

    def __init__(self, op: str, args: tuple, data, shape: Shape, key=None):
        self.op = op
        self.args = args
        self.data = data
        self.shape = shape
        if key is None:
            key = (op, data, shape, tuple(a.key for a in args))
        self.key = key
        self._hash = hash(key)

    def __eq__(self, other) -> bool:
        return self is other or (
            isinstance(other, Node) and self._hash == other._hash and self.key == other.key
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        from symgrad.parsing.matrix_text import text

        return text(self)

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    @property
    def name(self) -> str:
        """The name of a variable (``op == "sym"``)."""
        return self.data


# ---------------------------------------------------------------- leaves


def num(value) -> Node:
    """A scalar constant (an int, a fraction, a float or a sympy number such as pi)."""
    value = sp.sympify(value) if not isinstance(value, sp.Basic) else value
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise InputError("the expression is undefined (it divides by zero or takes log(0))")
    if not value.is_real:
        raise InputError("the expression is not real; symgrad works with real numbers")
    return Node("num", (), value, SCALAR)


ZERO = num(0)
ONE = num(1)


def sym(name: str, shape: Shape = SCALAR) -> Node:
    """A variable: a scalar, or a vector/matrix of ``shape``."""
    return Node("sym", (), name, shape)


def ones(shape: Shape) -> Node:
    """All ones, ``ones(n)`` or ``ones(m,n)``; a ``None`` dimension is filled in by the
    operation it meets (``vector(1)``)."""
    if shape == SCALAR:
        return ONE
    return Node("ones", (), None, shape)


def zeros(shape: Shape) -> Node:
    if shape == SCALAR:
        return ZERO
    return Node("zeros", (), None, shape)


def eye(n: Dim) -> Node:
    """The identity matrix of size ``n``."""
    if n == 1:
        return ONE
    return Node("eye", (), None, (n, n))


def onehot(k: int, n: Dim) -> Node:
    """The vector of ``n`` entries with 1 at index ``k`` (from 0)."""
    if n == 1:
        return ONE
    return Node("onehot", (), k, vector(n))


def is_number(node: Node, value=None) -> bool:
    return node.op == "num" and (value is None or node.data == value)


def is_zero(node: Node) -> bool:
    return node.op == "zeros" or (node.op == "num" and node.data == 0)


def unknown(shape: Shape) -> bool:
    """True where a dimension is still to be inferred (``vector(1)``)."""
    return None in shape


# ---------------------------------------------------------------- shape checks


def _shape_error(op: str, nodes: Iterable[Node], detail: str = "") -> InputError:
    from symgrad.parsing.matrix_text import text

    parts = [f"{text(n)} is {_shape_words(n.shape)}" for n in nodes]
    return InputError(f"{op}: {' and '.join(parts)}{detail}")


def _shape_words(shape: Shape) -> str:
    if is_scalar(shape):
        return "a scalar"
    if shape[1] == 1:
        return f"a vector of {shape[0]}"
    if shape[0] == 1:
        return f"a row vector 1×{shape[1]}"
    return shape_text(shape)


def _common_shape(op: str, nodes: list[Node]) -> Shape:
    """The shape of an elementwise operation: every non-scalar operand has the same shape,
    scalars apply to every entry, an unknown size (``vector(1)``) takes the others'."""
    shape = SCALAR
    first = None
    for n in nodes:
        if n.is_scalar or unknown(n.shape):
            continue
        if first is None:
            first, shape = n, n.shape
        elif n.shape != shape:
            raise _shape_error(op, [first, n], "; they must have the same shape")
    if any(unknown(n.shape) for n in nodes):
        if shape == SCALAR:
            shapes = [n.shape for n in nodes if unknown(n.shape)]
            return shapes[0]
    return shape


def fit(node: Node, shape: Shape) -> Node:
    """``node`` with its unknown sizes (``vector(1)``) taken from ``shape``."""
    if not unknown(node.shape):
        return node
    if node.shape[0] is not None and node.shape[0] != shape[0]:
        raise _shape_error("vector(1)", [node], f", but {shape_text(shape)} is needed here")
    if node.shape[1] is not None and node.shape[1] != shape[1]:
        raise _shape_error("vector(1)", [node], f", but {shape_text(shape)} is needed here")
    if node.op == "ones":
        return ones(shape)
    if node.op == "zeros":
        return zeros(shape)
    if node.op == "mul":
        coef, exps = node.data
        return mul(coef, *(pow_(fit(b, shape), e) for b, e in zip(node.args, exps)))
    if node.op == "add":
        return add(*(mul(c, fit(t, shape)) for c, t in zip(node.data, node.args)))
    raise InputError("vector(1) needs a size here: write ones(n) instead")


def _fit_all(nodes: list[Node], shape: Shape) -> list[Node]:
    if unknown(shape):
        return nodes
    return [fit(n, shape) if unknown(n.shape) else n for n in nodes]


# ---------------------------------------------------------------- sums


def terms(node: Node) -> list[tuple[Number, Node]]:
    """``node`` as (coefficient, term) pairs: ``2*x - y`` is ``[(2, x), (-1, y)]``."""
    if node.op == "add":
        return list(zip(node.data, node.args))
    return [split_coefficient(node)]


def split_coefficient(node: Node) -> tuple[Number, Node]:
    """``2*A*x`` as ``(2, A*x)``; a number ``c`` as ``(c, 1)``."""
    if node.op == "num":
        return node.data, ONE
    if node.op == "mul" and node.data[0] != 1:
        coef, exps = node.data
        return coef, _mul_node(sp.S.One, list(zip(node.args, exps)), node.shape)
    return sp.S.One, node


def _negative(coef: Number) -> bool:
    return bool(coef.is_negative)


def add(*items: Node) -> Node:
    """``a + b + ...``: like terms collected; a scalar term adds to every entry."""
    items = [n for n in items]
    shape = _common_shape("+", items)
    items = _fit_all(items, shape)
    collected: dict[Node, Number] = {}
    for item in items:
        for coef, rest in terms(item):
            if is_zero(rest):
                continue
            if rest.op == "ones" and rest.shape == shape:
                rest = ONE  # ones(m) - y is 1 - y: a scalar adds to every entry
            collected[rest] = collected.get(rest, sp.S.Zero) + coef
    kept = [(c, r) for r, c in collected.items() if c != 0]
    if not kept:
        return zeros(shape)
    kept.sort(key=lambda cr: _negative(cr[0]))  # stable: positive terms first, as written
    if len(kept) == 1:
        c, r = kept[0]
        if r.shape != shape:  # a scalar left alone in a matrix sum: it is every entry
            return mul(c, r, ones(shape))
        return mul(c, r)
    coefs = tuple(c for c, _ in kept)
    args = tuple(r for _, r in kept)
    key = ("add", shape, frozenset((r.key, c) for c, r in kept))
    return Node("add", args, coefs, shape, key)


def neg(node: Node) -> Node:
    return mul(-1, node)


def sub(a: Node, b: Node) -> Node:
    return add(a, neg(b))


# ---------------------------------------------------------------- elementwise products


def factors(node: Node) -> tuple[Number, list[tuple[Node, Number]]]:
    """``node`` as a coefficient and (base, exponent) factors."""
    if node.op == "num":
        return node.data, []
    if node.op == "mul":
        coef, exps = node.data
        return coef, list(zip(node.args, exps))
    return sp.S.One, [(node, sp.S.One)]


def mul(*items) -> Node:
    """The elementwise product ``a .* b .* ...``; a scalar times a matrix multiplies every
    entry. Numbers are multiplied into one coefficient, equal bases into one power."""
    nodes = [i if isinstance(i, Node) else num(i) for i in items]
    shape = _common_shape(".*", nodes)
    nodes = _fit_all(nodes, shape)
    coef = sp.S.One
    powers: dict[Node, Number] = {}
    for node in nodes:
        if is_zero(node):
            return zeros(shape)
        c, fs = factors(node)
        coef = coef * c
        for base, e in fs:
            powers[base] = powers.get(base, sp.S.Zero) + e
    if coef == 0:
        return zeros(shape)
    kept = [(b, e) for b, e in powers.items() if e != 0]
    if any(b.op != "ones" and not b.is_scalar for b, _ in kept):
        kept = [(b, e) for b, e in kept if b.op != "ones"]  # A .* ones is A
    else:
        kept = [(b, sp.S.One if b.op == "ones" else e) for b, e in kept]
        if shape != SCALAR and not any(b.op == "ones" for b, _ in kept):
            kept.append((ones(shape), sp.S.One))  # x .* x.^-1 is ones, not 1
    return _mul_node(coef, kept, shape)


def _mul_node(coef: Number, kept: list[tuple[Node, Number]], shape: Shape) -> Node:
    if not kept:
        return num(coef) if shape == SCALAR else mul(coef, ones(shape))
    if coef == 1 and len(kept) == 1 and kept[0][1] == 1:
        return kept[0][0]
    args = tuple(b for b, _ in kept)
    exps = tuple(e for _, e in kept)
    key = ("mul", shape, coef, frozenset((b.key, e) for b, e in kept))
    return Node("mul", args, (coef, exps), shape, key)


def pow_(base: Node, exponent) -> Node:
    """``base.^exponent`` elementwise (``^`` for a scalar base); a non-numeric exponent
    makes a general power node."""
    if isinstance(exponent, Node):
        if exponent.op != "num":
            return _general_pow(base, exponent)
        exponent = exponent.data
    exponent = sp.sympify(exponent)
    if exponent == 0:
        return ones(base.shape)
    if exponent == 1:
        return base
    if base.op == "num":
        return num(base.data**exponent)
    if base.op == "ones" or (base.op == "zeros" and exponent > 0):
        return base
    if base.op == "mul" and exponent.is_Integer:
        coef, exps = base.data
        powers = [
            _mul_node(sp.S.One, [(b, e * exponent)], b.shape) for b, e in zip(base.args, exps)
        ]
        return mul(coef**exponent, *powers)
    return _mul_node(sp.S.One, [(base, exponent)], base.shape)


def _general_pow(base: Node, exponent: Node) -> Node:
    if base.op == "num" and base.data == sp.E:
        return call("exp", exponent)
    shape = _common_shape(".^", [base, exponent])
    return Node("pow", (base, exponent), None, shape)


def div(a: Node, b: Node) -> Node:
    """``a / b`` for a scalar ``b``."""
    if not b.is_scalar:
        raise _shape_error(
            "/",
            [b],
            "; divide by a scalar, or write a ./ b for elementwise division or a*inv(B)",
        )
    return mul(a, pow_(b, -1))


def ediv(a: Node, b: Node) -> Node:
    """``a ./ b``, elementwise."""
    return mul(a, pow_(b, -1))


# ---------------------------------------------------------------- matrix products


def matmul(*items: Node) -> Node:
    """The matrix product ``a*b*...``; scalars are pulled out in front, identities dropped."""
    chain: list[Node] = []
    scalars: list[Node] = []
    for item in items:
        if item.op == "matmul":
            chain.extend(item.args)
        else:
            chain.append(item)
    ops: list[Node] = []
    for item in chain:
        if item.is_scalar:
            scalars.append(item)
            continue
        if item.op == "mul":
            s, rest = split_scalars(item)
            scalars.append(s)
            item = rest
            if item.op == "matmul":  # 2*(A*B) inside a product
                ops.extend(item.args)
                continue
        ops.append(item)
    ops = _fit_chain(ops)
    scalars += [o for o in ops if o.is_scalar]  # vector(1) that turned out 1×1
    ops = [o for o in ops if not o.is_scalar]
    for left, right in zip(ops, ops[1:]):
        if left.shape[1] != right.shape[0]:
            raise _matmul_error(left, right)
    if not ops:
        return mul(*scalars)
    shape = (ops[0].shape[0], ops[-1].shape[1])
    if any(is_zero(o) for o in ops):
        return zeros(shape)
    ops = _powers([o for o in ops if o.op != "eye"]) or [eye(shape[0])]
    if len(ops) == 2:
        a, b = ops
        if a.op == "ones" and a.shape[0] == 1 and b.shape[1] == 1:
            return mul(*scalars, sum_(b))  # ones(n)'*v is sum(v)
        if b.op == "ones" and b.shape[1] == 1 and a.shape[0] == 1:
            return mul(*scalars, sum_(a))
    body = ops[0] if len(ops) == 1 else Node("matmul", tuple(ops), None, shape)
    return mul(*scalars, body) if scalars else body


def _powers(ops: list[Node]) -> list[Node]:
    """``A*A*A`` as ``A^3``: runs of one square matrix in a chain, as a matrix power."""
    out: list[tuple[Node, int]] = []
    for o in ops:
        base, k = (o.args[0], o.data) if o.op == "mpow" else (o, 1)
        if out and out[-1][0] == base:
            out[-1] = (base, out[-1][1] + k)
        else:
            out.append((base, k))
    return [b if k == 1 else Node("mpow", (b,), k, b.shape) for b, k in out]


def _fit_chain(ops: list[Node]) -> list[Node]:
    out = list(ops)
    for i, o in enumerate(out):
        if not unknown(o.shape):
            continue
        rows = out[i - 1].shape[1] if i > 0 else o.shape[0]
        cols = out[i + 1].shape[0] if i + 1 < len(out) else o.shape[1]
        if rows is None or cols is None:
            raise InputError("vector(1) needs a size here: write ones(n) instead")
        out[i] = fit(o, (rows, cols))
    return out


def _matmul_error(left: Node, right: Node) -> InputError:
    from symgrad.parsing.matrix_text import text

    hint = ""
    if left.shape[1] == 1 and right.shape[1] == 1 and left.shape[0] == right.shape[0]:
        hint = (
            f"; for the inner product write {text(transpose(left))}*{text(right)} or "
            "dot(a, b), for the elementwise product a .* b"
        )
    elif left.shape[0] == right.shape[0]:
        hint = f"; did you mean {text(transpose(left))}*... ?"
    elif left.shape[1] == right.shape[1]:
        hint = "; did you mean ...*" + text(transpose(right)) + " ?"
    from symgrad.parsing.matrix_text import operand_text

    a, b = operand_text(left), operand_text(right)
    return InputError(
        f"matrix product {a}*{b}: {a} is {_shape_words(left.shape)} "
        f"and {b} is {_shape_words(right.shape)}; the inner sizes "
        f"{left.shape[1]} and {right.shape[0]} differ{hint}"
    )


def split_scalars(node: Node) -> tuple[Node, Node]:
    """A product as (its scalar part, its non-scalar part): ``2*s*A .* B`` is
    ``(2*s, A .* B)``."""
    coef, fs = factors(node)
    scalar = [(b, e) for b, e in fs if b.is_scalar]
    rest = [(b, e) for b, e in fs if not b.is_scalar]
    return _mul_node(coef, scalar, SCALAR), _mul_node(sp.S.One, rest, node.shape)


def product(a: Node, b: Node) -> Node:
    """``a*b`` as typed: the matrix product when both are matrices or vectors, otherwise
    scalar multiplication."""
    if a.is_scalar or b.is_scalar:
        return mul(a, b)
    return matmul(a, b)


def transposes(node: Node) -> int:
    """How many distinct transposes ``node`` shows (a row of ones prints as ``ones(n)'``)."""
    return sum(
        1 for n in walk(node) if n.op == "T" or (n.op in ("ones", "zeros") and n.shape[0] == 1)
    )


def _leaf(node: Node) -> bool:
    """A variable, a constant matrix, or the transpose of one."""
    if node.op == "T":
        node = node.args[0]
    return not node.args


def transpose(a: Node) -> Node:
    """``a'``: pushed into products and sums where that does not show more transposes."""
    if a.is_scalar:
        return a
    op = a.op
    if op == "T":
        return a.args[0]
    if op in ("ones", "zeros"):
        return Node(op, (), None, transposed(a.shape))
    if op == "eye" or (op == "diag" and a.args[0].shape[1] == 1 and a.shape[0] == a.shape[1]):
        return a
    if op in ("inv", "mpow") and transpose(a.args[0]) == a.args[0]:
        return a  # the inverse and powers of a symmetric matrix (X'*X) are symmetric
    if op == "mul":
        coef, exps = a.data
        s, rest = split_scalars(a)
        if not is_number(s, 1):  # (2*s*A)' is 2*s*A'
            return mul(s, transpose(rest))
        pushed = mul(coef, *(pow_(transpose(b), e) for b, e in zip(a.args, exps)))
    elif op == "matmul":
        pushed = matmul(*(transpose(o) for o in reversed(a.args)))
        if all(_leaf(o) for o in a.args):
            return pushed  # (A*X*B)' is B'*X'*A', as the Matrix Cookbook writes it
    elif op == "add":
        pushed = add(*(mul(c, transpose(t)) for c, t in zip(a.data, a.args)))
    else:
        pushed = None
    # pushed in only where that removes transposes: (x'*A)' is A'*x, (A*x)' stays
    if pushed is not None and transposes(pushed) < transposes(a) + 1:
        return pushed
    return Node("T", (a,), None, transposed(a.shape))


# ---------------------------------------------------------------- functions of the table


@lru_cache(maxsize=1)
def _function_classes() -> tuple[dict[str, FunctionClass], dict[FunctionClass, str]]:
    """Table name -> sympy class, and back, for the table functions that build one sympy
    function of their arguments (``log(x)`` does; ``sqrt(x)`` is a power, ``silu`` a product)."""
    by_name: dict[str, FunctionClass] = {}
    by_class: dict[FunctionClass, str] = {}
    for spec in FUNCTIONS:
        xs = _dummies(spec.arity[0])
        built = spec.build(*xs)
        if built.args == xs or (
            isinstance(built, (sp.Function, sp.Max, sp.Min)) and _same_call(built, xs)
        ):
            by_name[spec.name] = built.func
            by_class.setdefault(built.func, spec.name)
    return by_name, by_class


def _same_call(built: sp.Expr, xs: tuple[sp.Symbol, ...]) -> bool:
    """Whether ``built`` is its class applied to ``xs`` alone (``Heaviside(x)`` is, with
    sympy's 1/2 at 0; ``root(x, 2)``, the build of ``sqrt``-like ``root(x)``, is not)."""
    try:
        return built.func(*xs) == built
    except TypeError:  # the class needs more arguments than the table entry takes
        return False


def function_class(name: str) -> FunctionClass:
    """The sympy class of a table function applied elementwise (``tanh`` -> ``sp.tanh``)."""
    return _function_classes()[0][name]


@lru_cache(maxsize=64)
def _dummies(count: int) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"_x{i}", real=True) for i in range(count))


def call(name: str, *args: Node) -> Node:
    """A function of ``symgrad.functions`` applied elementwise: ``tanh(W*x + b)``."""
    from symgrad.functions import function_table

    spec = function_table()[name]
    shape = _common_shape(f"{name}(...)", list(args))
    args = tuple(_fit_all(list(args), shape))
    if name in ("log", "ln") and len(args) == 1 and args[0].op == "softmax":
        z = args[0].args[0]  # the stable form: log(softmax(z)) is z - logsumexp(z)
        return sub(z, logsumexp(z))
    if all(a.op == "num" for a in args):
        return num(_build(spec, [a.data for a in args]))
    xs = _dummies(len(args))
    template = _build(spec, list(xs))
    return from_sympy(template, dict(zip(xs, args)))


def _build(spec, values):
    try:
        return spec.build(*values)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise InputError(f"{spec.name}(...) is undefined here ({exc})") from None


def from_sympy(expr: sp.Expr, binding: dict[sp.Symbol, Node]) -> Node:
    """A scalar sympy expression with its symbols bound to shaped nodes, elementwise:
    ``1 - tanh(x)**2`` with ``x`` bound to ``W*x + b`` is ``1 - tanh(W*x + b).^2``."""
    if not expr.free_symbols:
        return num(expr)
    if expr.is_Symbol:
        return binding[expr]
    if expr.is_Add:
        return add(*(from_sympy(a, binding) for a in expr.args))
    if expr.is_Mul:
        return mul(*(from_sympy(a, binding) for a in expr.args))
    if expr.is_Pow:
        base = from_sympy(expr.base, binding)
        if expr.exp.free_symbols:
            return _general_pow(base, from_sympy(expr.exp, binding))
        return pow_(base, expr.exp)
    by_class = _function_classes()[1]
    cls = type(expr)
    if cls is sp.exp:
        name = "exp"
    elif cls in by_class:
        name = by_class[cls]
    else:
        raise InputError(f"{expr.func} is not a function symgrad applies to matrices")
    sargs = expr.args
    if cls is sp.Heaviside and len(sargs) == 2 and sargs[1] == sp.S.Half:
        sargs = sargs[:1]  # sympy's default value at 0, as symgrad's Heaviside(x) means
    args = tuple(from_sympy(a, binding) for a in sargs)
    shape = _common_shape(f"{name}(...)", list(args))
    return Node("fn", args, name, shape)


def derivative_template(name: str, count: int, index: int) -> sp.Expr:
    """d f(x0, ..., x_{count-1}) / d x_index for the table function ``name``, in sympy."""
    return _derivative_template(name, count, index)


@lru_cache(maxsize=256)
def _derivative_template(name: str, count: int, index: int) -> sp.Expr:
    xs = _dummies(count)
    return sp.diff(function_class(name)(*xs), xs[index])


# ---------------------------------------------------------------- reductions and matrix functions


def _need_square(name: str, a: Node) -> None:
    if not is_square(a.shape) or unknown(a.shape):
        raise _shape_error(f"{name}(...)", [a], f"; {name} needs a square matrix")


def sum_(a: Node) -> Node:
    """The sum of all entries: a scalar."""
    if a.is_scalar:
        return a
    if unknown(a.shape):
        raise InputError("sum(vector(1)) needs a size: write sum(ones(n))")
    if a.op == "mul":
        s, rest = split_scalars(a)
        if not is_number(s, 1):
            return mul(s, sum_(rest))
    if a.op == "ones" and all(isinstance(d, int) for d in a.shape):
        return num(a.shape[0] * a.shape[1])
    if a.op == "zeros":
        return ZERO
    if a.op == "T":
        return sum_(a.args[0])
    return Node("sum", (a,), None, SCALAR)


def norm2(a: Node) -> Node:
    """The Euclidean norm of a vector (Frobenius for a matrix): a scalar."""
    if a.is_scalar:
        return call("abs", a)
    coef, rest = split_coefficient(a)
    if coef != 1:
        return mul(abs(coef), norm2(rest))
    if a.op == "T":
        return norm2(a.args[0])
    return Node("norm2", (a,), None, SCALAR)


def dot(a: Node, b: Node) -> Node:
    """``dot(u, v)``: ``u'*v`` for vectors, the sum of the elementwise product otherwise."""
    shape = _common_shape("dot(...)", [a, b])
    a, b = _fit_all([a, b], shape)
    if a.shape != b.shape:
        raise _shape_error("dot(...)", [a, b], "; they must have the same shape")
    if shape[1] == 1 and not a.is_scalar:
        return matmul(transpose(a), b)
    return sum_(mul(a, b))


def trace(a: Node) -> Node:
    _need_square("tr", a)
    if a.is_scalar:
        return a
    if a.op == "T":
        return trace(a.args[0])
    if a.op == "mul":
        s, rest = split_scalars(a)
        if not is_number(s, 1):
            return mul(s, trace(rest))
    if a.op == "eye" and isinstance(a.shape[0], int):
        return num(a.shape[0])
    if a.op == "zeros":
        return ZERO
    return Node("tr", (a,), None, SCALAR)


def det(a: Node) -> Node:
    _need_square("det", a)
    if a.is_scalar:
        return a
    if a.op == "T":
        return det(a.args[0])
    if a.op == "eye":
        return ONE
    return Node("det", (a,), None, SCALAR)


def inv(a: Node) -> Node:
    _need_square("inv", a)
    if a.is_scalar:
        return pow_(a, -1)
    if a.op == "inv":
        return a.args[0]
    if a.op == "T":
        return transpose(inv(a.args[0]))
    if a.op == "eye":
        return a
    if a.op == "mul":
        s, rest = split_scalars(a)
        if not is_number(s, 1):
            return mul(pow_(s, -1), inv(rest))
    return Node("inv", (a,), None, a.shape)


def diag(a: Node) -> Node:
    """``diag(v)``: the diagonal matrix of a vector; ``diag(A)``: the diagonal of a square
    matrix, as a vector."""
    if a.is_scalar:
        return a
    if unknown(a.shape):
        raise InputError("diag(vector(1)) needs a size: write diag(ones(n)), or eye(n)")
    if a.shape[0] == 1:
        a = transpose(a)
    if a.op == "mul":
        s, rest = split_scalars(a)
        if not is_number(s, 1):
            return mul(s, diag(rest))
    if a.shape[1] == 1:
        if a.op == "ones":
            return eye(a.shape[0])
        return Node("diag", (a,), None, (a.shape[0], a.shape[0]))
    _need_square("diag", a)
    if a.op == "eye":
        return ones(vector(a.shape[0]))
    if a.op == "diag":
        return a.args[0]
    return Node("diag", (a,), None, vector(a.shape[0]))


def _need_vector(name: str, a: Node) -> Node:
    if a.is_scalar or unknown(a.shape) or (a.shape[0] != 1 and a.shape[1] != 1):
        raise _shape_error(f"{name}(...)", [a], f"; {name} takes a vector")
    return a


def softmax(a: Node) -> Node:
    """``exp(v)/sum(exp(v))`` of a vector."""
    _need_vector("softmax", a)
    return Node("softmax", (a,), None, a.shape)


def logsumexp(a: Node) -> Node:
    """``log(sum(exp(v)))`` of a vector: a scalar."""
    _need_vector("logsumexp", a)
    return Node("lse", (a,), None, SCALAR)


def index(a: Node, i: int, j: int | None = None) -> Node:
    """One entry, from 0: ``v[k]`` of a vector, ``A[i, j]`` of a matrix."""
    if a.is_scalar:
        raise InputError("indexing a scalar: only a vector v[k] or a matrix A[i, j] has entries")
    if j is None:
        if a.shape[1] != 1 and a.shape[0] != 1:
            raise _shape_error("[k]", [a], "; take an entry of a matrix as A[i, j]")
        at = (i, 0) if a.shape[1] == 1 else (0, i)
    else:
        at = (i, j)
    for k, size in zip(at, a.shape):
        if isinstance(size, int) and not 0 <= k < size:
            raise InputError(f"index {k} is outside 0..{size - 1}")
    return Node("index", (a,), at, SCALAR)


def mpow(a: Node, k) -> Node:
    """``A^k`` of a square matrix, for a whole number ``k``; ``A^-1`` is ``inv(A)``."""
    _need_square("^", a)
    k = sp.sympify(k)
    if not k.is_Integer:
        raise InputError(
            "a matrix power needs a whole number, as in A^2; for an elementwise power write A.^k"
        )
    k = int(k)
    if k < 0:
        return mpow(inv(a), -k)
    if k == 0:
        return eye(a.shape[0])
    if k == 1:
        return a
    return Node("mpow", (a,), k, a.shape)


def variables(*nodes: Node) -> list[Node]:
    """The variables (``sym`` nodes) in ``nodes``, each once, in order of first appearance."""
    found: dict[Node, None] = {}
    for n in walk(*nodes):
        if n.op == "sym":
            found[n] = None
    return list(found)


def walk(*roots: Node) -> list[Node]:
    """Every distinct node under ``roots``, children before parents (no recursion)."""
    order: list[Node] = []
    seen: set[Node] = set()
    for root in roots:
        if root in seen:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for a in reversed(node.args):
                if a not in seen:
                    stack.append((a, False))
    return order


def rebuild(node: Node, args: tuple[Node, ...]) -> Node:
    """``node`` with new operands, through the constructors (so in canonical form again)."""
    op = node.op
    if op == "add":
        return add(*(mul(c, a) for c, a in zip(node.data, args)))
    if op == "mul":
        return mul(node.data[0], *(pow_(a, e) for a, e in zip(args, node.data[1])))
    if op == "pow":
        return _general_pow(*args)
    if op == "matmul":
        return matmul(*args)
    if op == "fn":
        return Node("fn", args, node.data, _common_shape(node.data, list(args)))
    if op == "index":
        return index(args[0], *node.data)
    if op == "mpow":
        return mpow(args[0], node.data)
    one = {"T": transpose, "sum": sum_, "norm2": norm2, "tr": trace, "det": det, "inv": inv,
           "diag": diag, "softmax": softmax, "lse": logsumexp}  # fmt: skip
    return one[op](*args)
