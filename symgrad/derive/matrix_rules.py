"""The engine's table: for each kind of node, its forward rule (numpy code) next to its
local derivative rule (vector-Jacobian product), one line each.

A VJP rule takes the node and ``g``, the adjoint of the node (dL/dnode, the node's shape),
and returns one adjoint contribution per operand (the operand's shape, or the node's where
a scalar operand was broadcast: the engine sums those). A forward rule takes the node, the
code of its operands and ``size`` (a dimension's value in code) and returns numpy code that
works on stacks of matrices: every value has shape ``(..., rows, cols)``.

Adding a kind of node is one row here, plus its constructor in ``expr`` and its printers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symgrad.functions import function_table
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_tree import Node

Code = list[str]
Size = Callable[[object], str]


@dataclass(frozen=True)
class Rule:
    numpy: Callable[[Node, Code, Size], str]
    vjp: Callable[[Node, Node], list[Node]] | None


def _unit(shape, at) -> Node:
    """The matrix with a single 1 at ``at``: dL/dA of ``A[i, j]``."""
    (i, j), (rows, cols) = at, shape
    if cols == 1:
        return E.onehot(i, rows)
    if rows == 1:
        return E.transpose(E.onehot(j, cols))
    return E.matmul(E.onehot(i, rows), E.transpose(E.onehot(j, cols)))


def _chain_vjp(n: Node, g: Node) -> list[Node]:
    """d(A1*...*Ak): the adjoint of Ai is (A1...A(i-1))' * g * (A(i+1)...Ak)'."""
    ops = n.args
    out = []
    for i in range(len(ops)):
        left = [E.transpose(E.matmul(*ops[:i]))] if i else []
        right = [E.transpose(E.matmul(*ops[i + 1 :]))] if i + 1 < len(ops) else []
        out.append(E.matmul(*left, g, *right))
    return out


def _fn_vjp(n: Node, g: Node) -> list[Node]:
    """The table function's own derivative rule (sympy's fdiff), applied elementwise."""
    xs = E._dummies(len(n.args))
    binding = dict(zip(xs, n.args))
    return [
        E.mul(E.from_sympy(E.derivative_template(n.data, len(n.args), i), binding), g)
        for i in range(len(n.args))
    ]


def _mpow_vjp(n: Node, g: Node) -> list[Node]:
    a, k = n.args[0], n.data
    at = E.transpose(a)
    return [E.add(*(E.matmul(E.mpow(at, i), g, E.mpow(at, k - 1 - i)) for i in range(k)))]


def _number(value: sp.Expr) -> str:
    return repr(float(value))


def _add_code(n: Node, a: Code, size: Size) -> str:
    parts = []
    for c, code in zip(n.data, a):
        if c == 1:
            parts.append(f"+ {code}")
        elif c == -1:
            parts.append(f"- {code}")
        else:
            parts.append(f"+ {_number(c)} * {code}")
    text = " ".join(parts)
    return "(" + (text[2:] if text.startswith("+ ") else "-" + text[2:]) + ")"


def _mul_code(n: Node, a: Code, size: Size) -> str:
    coef, exps = n.data
    parts = [] if coef == 1 else [_number(coef)]
    for base, code, e in zip(n.args, a, exps):
        if base.op == "norm2" and e.is_Integer and e % 2 == 0:
            # norm2(v)^2 is the sum of squares: no square root to round
            inner = size.code(base.args[0])
            power = "" if e == 2 else f" ** {int(e) // 2}"
            parts.append(f"numpy.sum({inner} * {inner}, {_ALL}){power}")
        elif e == 1:
            parts.append(code)
        elif e == sp.S.Half:
            parts.append(f"numpy.sqrt({code})")
        elif e == -1:
            parts.append(f"(1.0 / {code})")
        elif e.is_Integer:
            parts.append(f"{code} ** {int(e)}")
        else:
            parts.append(f"{code} ** {_number(e)}")
    return "(" + " * ".join(parts) + ")"


def function_code(node: Node) -> tuple[str, str | None]:
    """The numpy spelling of a table function applied elementwise (``numpy.tanh``, or a
    helper's name) and the helper's definition where it needs one."""
    spelling = function_table()[node.data].numpy
    if spelling.startswith("def "):
        return spelling[4 : spelling.index("(")], spelling
    return spelling, None


def _fn_code(n: Node, a: Code, size: Size) -> str:
    if n.data == "log":  # losses in stable forms: log(sigmoid(u)), log(1 - sigmoid(u)), ...
        stable = _stable_log(n.args[0], size)
        if stable:
            return stable
    return f"{function_code(n)[0]}({', '.join(a)})"


def _stable_log(u: Node, size) -> str | None:
    """numpy code for log(u) that neither underflows nor overflows, for the u of losses:
    ``sigmoid(z)``, ``1 - sigmoid(z)`` and ``1 + exp(z)``."""
    if u.op == "fn" and u.data == "sigmoid":
        return f"(-numpy.logaddexp(0, -{size.code(u.args[0])}))"
    if u.op == "add" and len(u.args) == 2 and E.is_number(u.args[0], 1) and u.data[0] == 1:
        c, t = u.data[1], u.args[1]
        if c == -1 and t.op == "fn" and t.data == "sigmoid":
            return f"(-numpy.logaddexp(0, {size.code(t.args[0])}))"
        if c == 1 and t.op == "fn" and t.data == "exp":
            return f"numpy.logaddexp(0, {size.code(t.args[0])})"
    return None


def _diag_code(n: Node, a: Code, size: Size) -> str:
    if n.args[0].shape[1] == 1:  # a vector to its diagonal matrix: row i scaled by v_i
        return f"({a[0]} * numpy.eye({size(n.shape[0])}))"
    return f"numpy.diagonal({a[0]}, axis1=-2, axis2=-1)[..., None]"


_ALL = "axis=(-2, -1), keepdims=True"

RULES: dict[str, Rule] = {
    "sym":     Rule(lambda n, a, s: n.data, None),
    "ref":     Rule(lambda n, a, s: n.data, None),
    "num":     Rule(lambda n, a, s: _number(n.data), None),
    "ones":    Rule(lambda n, a, s: f"numpy.ones(({s(n.shape[0])}, {s(n.shape[1])}))", None),
    "zeros":   Rule(lambda n, a, s: f"numpy.zeros(({s(n.shape[0])}, {s(n.shape[1])}))", None),
    "eye":     Rule(lambda n, a, s: f"numpy.eye({s(n.shape[0])})", None),
    "onehot":  Rule(lambda n, a, s: f"numpy.eye({s(n.shape[0])})[:, {n.data}:{n.data + 1}]", None),
    "add":     Rule(_add_code, lambda n, g: [E.mul(c, g) for c in n.data]),
    "mul":     Rule(_mul_code, lambda n, g: [E.mul(e, n, E.pow_(b, -1), g)
                                            for b, e in zip(n.args, n.data[1])]),
    "pow":     Rule(lambda n, a, s: f"numpy.power({a[0]}, {a[1]})",
                    lambda n, g: [E.mul(n.args[1], E.pow_(n.args[0], -1), n, g),
                                  E.mul(E.call("log", n.args[0]), n, g)]),
    "matmul":  Rule(lambda n, a, s: "(" + " @ ".join(a) + ")", _chain_vjp),
    "T":       Rule(lambda n, a, s: f"numpy.swapaxes({a[0]}, -1, -2)",
                    lambda n, g: [E.transpose(g)]),
    "fn":      Rule(_fn_code, _fn_vjp),
    "sum":     Rule(lambda n, a, s: f"numpy.sum({a[0]}, {_ALL})",
                    lambda n, g: [E.mul(g, E.ones(n.args[0].shape))]),
    "norm2":   Rule(lambda n, a, s: f"numpy.sqrt(numpy.sum({a[0]} * {a[0]}, {_ALL}))",
                    lambda n, g: [E.mul(g, n.args[0], E.pow_(n, -1))]),
    "tr":      Rule(lambda n, a, s: f"numpy.trace({a[0]}, axis1=-2, axis2=-1)[..., None, None]",
                    lambda n, g: [E.mul(g, E.eye(n.args[0].shape[0]))]),
    "det":     Rule(lambda n, a, s: f"numpy.linalg.det({a[0]})[..., None, None]",
                    lambda n, g: [E.mul(g, n, E.transpose(E.inv(n.args[0])))]),
    "inv":     Rule(lambda n, a, s: f"inv({a[0]})",
                    lambda n, g: [E.neg(E.matmul(E.transpose(n), g, E.transpose(n)))]),
    "diag":    Rule(_diag_code, lambda n, g: [E.diag(g)]),
    "softmax": Rule(lambda n, a, s: f"softmax({a[0]})",
                    lambda n, g: [E.sub(E.mul(n, g), E.matmul(n, E.matmul(E.transpose(n), g)))]),
    "lse":     Rule(lambda n, a, s: f"logsumexp({a[0]})",
                    lambda n, g: [E.mul(g, E.softmax(n.args[0]))]),
    "index":   Rule(lambda n, a, s: f"{a[0]}[..., {n.data[0]}:{n.data[0] + 1}, "
                                    f"{n.data[1]}:{n.data[1] + 1}]",
                    lambda n, g: [E.mul(g, _unit(n.args[0].shape, n.data))]),
    "mpow":    Rule(lambda n, a, s: f"numpy.linalg.matrix_power({a[0]}, {n.data})", _mpow_vjp),
}  # fmt: skip

# numpy helpers the forward rules call: defined once in every generated module
HELPERS = {
    "inv": (
        "def inv(a):\n"
        "    try:\n"
        "        return numpy.linalg.inv(a)\n"
        "    except numpy.linalg.LinAlgError:  # singular: no inverse, no derivative\n"
        "        return numpy.full(numpy.shape(a), numpy.nan)\n"
    ),
    "softmax": (
        "def softmax(v):\n"
        "    z = numpy.exp(v - numpy.max(v, axis=(-2, -1), keepdims=True))\n"
        "    return z / numpy.sum(z, axis=(-2, -1), keepdims=True)\n"
    ),
    "logsumexp": (
        "def logsumexp(v):\n"
        "    top = numpy.max(v, axis=(-2, -1), keepdims=True)\n"
        "    return top + numpy.log(numpy.sum(numpy.exp(v - top), axis=(-2, -1), keepdims=True))\n"
    ),
}
HELPER_OPS = {"inv": "inv", "softmax": "softmax", "lse": "logsumexp"}
