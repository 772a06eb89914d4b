"""Generated numpy code for shaped expressions: one source generator serves numbers inside
symgrad (evaluation, checks) and ``codegen --target numpy`` for users.

The code is built from the tree, one line per distinct node (a shared subexpression is
computed once), with each kind's forward rule from ``rules.RULES``; it is never built from
the user's text. Inside, every value is a stack of matrices ``(..., rows, cols)`` (a vector
is a column, a scalar ``(..., 1, 1)``), so one call evaluates many points at once.

>>> code = matrix_codegen("norm2(X*w - y)^2", "X=m,n; w=n; y=m", wrt="w")
>>> namespace = {}
>>> exec(code.source, namespace)
>>> import numpy
>>> value, (dw,) = namespace["f"](numpy.eye(2), numpy.array([1.0, 2.0]), numpy.array([0.0, 0.0]))
>>> float(value), dw.tolist()
(5.0, [2.0, 4.0])
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence

from symgrad import __version__
from symgrad.derive.matrix import (
    ExprLike,
    ShapesLike,
    WrtLike,
    as_node,
    matrix_gradient,
    variable_shapes,
)
from symgrad.derive.matrix_rules import HELPER_OPS, HELPERS, RULES, function_code
from symgrad.errors import InputError
from symgrad.functions import FUNCTIONS
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_shapes import Shape
from symgrad.parsing.matrix_tree import Node
from symgrad.results import MatrixCode

RESERVED = {"numpy", "math", "value", "gradient", *HELPERS}
RESERVED |= {
    e.numpy[4 : e.numpy.index("(")] for e in FUNCTIONS if (e.numpy or "").startswith("def ")
}
TARGETS = ("numpy",)
DOC_EXPRESSION_CHARS = 300


def _helper(node: Node) -> tuple[str, str] | None:
    """(name, definition) of the helper a node's code calls, if any."""
    if node.op in HELPER_OPS:
        name = HELPER_OPS[node.op]
        return name, HELPERS[name]
    if node.op == "fn":
        name, definition = function_code(node)
        if definition:
            return name, definition
    return None


class _Sizes:
    """A dimension in code: its number where known, else a variable read off an array."""

    def __init__(self, dims: Mapping[str, int], names: Mapping[str, str], code: dict):
        self.dims = dims
        self.names = names
        self._code = code

    def code(self, node: Node) -> str:
        """The code of a node computed before (an operand's operand)."""
        return self._code[node]

    def __call__(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        if d in self.dims:
            return str(self.dims[d])
        return self.names[d]


def body_lines(
    outputs: Sequence[Node],
    arguments: Mapping[Node, str],
    dims: Mapping[str, int] | None = None,
    indent: str = "    ",
) -> tuple[list[str], list[str], set[str]]:
    """Lines computing ``outputs`` from the arrays named in ``arguments`` (variable node ->
    parameter name): the lines, the code of each output, and the helpers they call."""
    dims = dims or {}
    lines: list[str] = []
    size_names: dict[str, str] = {}
    for var, param in arguments.items():
        for axis, d in zip((-2, -1), var.shape):
            if isinstance(d, str) and d not in dims and d not in size_names:
                size_names[d] = f"_dim_{python_name(d)}"
                lines.append(f"{indent}{size_names[d]} = numpy.shape({param})[{axis}]")
    code: dict[Node, str] = {}
    sizes = _Sizes(dims, size_names, code)
    helpers: dict[str, str] = {}
    count = 0
    for node in E.walk(*outputs):
        if node.op in ("sym", "ref"):
            code[node] = arguments[node] if node in arguments else node.data
            continue
        for d in node.shape:
            if isinstance(d, str) and d not in dims and d not in size_names:
                raise InputError(
                    f"the size {d} is not the size of any variable: give it with --dims {d}=..."
                )
        text = RULES[node.op].numpy(node, [code[a] for a in node.args], sizes)
        helper = _helper(node)
        if helper:
            helpers[helper[0]] = helper[1]
        if not node.args:  # a number, ones(n), eye(n): written where it is used
            code[node] = text
            continue
        name = f"_t{count}"
        count += 1
        lines.append(f"{indent}{name} = {text}")
        code[node] = name
    outs = [code[o] for o in outputs]
    return _live(lines, outs), outs, set(helpers.values())


def _live(lines: list[str], outputs: list[str]) -> list[str]:
    """``lines`` without the assignments nothing reads (a norm whose square was computed
    as a sum of squares)."""
    used = set(re.findall(r"\b_t\d+\b", " ".join(outputs)))
    kept: list[str] = []
    for line in reversed(lines):
        name, _, value = line.strip().partition(" = ")
        if name.startswith("_t") and name not in used:
            continue
        used.update(re.findall(r"\b_t\d+\b", value))
        kept.append(line)
    return kept[::-1]


def module_source(
    name: str,
    params: Sequence[str],
    lines: Sequence[str],
    result: str,
    helpers: set[str],
    docstring: str = "",
) -> str:
    """A module defining ``name(*params)``: imports, helpers, the function."""
    needs_math = any("math." in h for h in helpers)
    imports = ["import math"] if needs_math else []
    imports.append("import numpy")
    parts = []
    if docstring:
        parts.append(docstring)
    parts.append("\n".join(imports))
    parts += [h.rstrip("\n") for h in sorted(helpers)]
    parts.append("\n".join([f"def {name}({', '.join(params)}):", *lines, f"    return {result}"]))
    return "\n\n\n".join(parts) + "\n"


def python_name(name: str) -> str:
    """``name`` as a Python parameter: keywords and the module's own names get a ``_``; a
    character Python does not take in a name is spelled by its code point."""
    if not name.isidentifier():
        name = "".join(c if ("a" + c).isidentifier() else f"_u{ord(c):x}_" for c in name)
        name = name if name.isidentifier() else "v" + name
    return name + "_" if keyword.iskeyword(name) or name in RESERVED else name


# ---------------------------------------------------------------- codegen for users


def matrix_codegen(
    expr: ExprLike,
    shapes: ShapesLike = None,
    wrt: WrtLike = None,
    target: str = "numpy",
    name: str = "f",
) -> MatrixCode:
    """Source of ``name(<variables>) -> (value, gradient by wrt)`` on numpy arrays.

    Vectors are 1-D arrays, matrices 2-D, scalars floats; each gradient entry has its
    variable's shape. Shared values and adjoints are computed once.
    """
    if target not in TARGETS:
        raise InputError(
            f"target {target!r} has no matrix code: choose {', '.join(TARGETS)} with --shape"
        )
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InputError(f"{name!r} is not a Python function name")
    node, declared = as_node(expr, shapes)
    grad = matrix_gradient(node, declared, wrt)
    shapes_ = variable_shapes(node)
    # a --wrt name f does not depend on is a number the function takes too (its partial is 0)
    taken = {**shapes_, **{n: (1, 1) for n in grad.wrt if n not in shapes_}}
    variables = [E.sym(n, s) for n, s in taken.items()]
    params = {v: python_name(v.name) for v in variables}
    # the function's arguments are 1-D vectors and floats; inside, columns and (1, 1)
    prologue = [f"    {p} = {_as_matrix(p, v.shape)}" for v, p in params.items()]
    lines, codes, helpers = body_lines([node, *grad.partials], params)
    value = f"float({codes[0]}[..., 0, 0])"
    entries = [_as_user(c, shape) for c, shape in zip(codes[1:], grad.partial_shapes)]
    result = "value, gradient"
    lines = prologue + lines + [f"    value = {value}"]
    if len(entries) == 1:
        lines.append(f"    gradient = ({entries[0]},)")
    else:
        lines += ["    gradient = (", *(f"        {e}," for e in entries), "    )"]
    shown = str(node)
    if len(shown) > DOC_EXPRESSION_CHARS:
        shown = shown[:DOC_EXPRESSION_CHARS] + " ..."
    shape_lines = [f"    {v.name}: {_shape_doc(s)}" for v, s in zip(variables, taken.values())]
    by = ", ".join(python_name(v) for v in grad.wrt)
    docstring = "\n".join(
        [
            '"""Value and gradient of',
            "",
            f"    f = {shown}",
            "",
            "with",
            "",
            *shape_lines,
            "",
            f"generated by symgrad {__version__}: symgrad codegen --target numpy --shape ...,",
            "one reverse-mode sweep in matrix form, each shared value computed once. Vectors",
            f"are 1-D arrays, matrices 2-D; the gradient is by ({by}), each entry in the shape",
            "of its variable.",
            *(["", *(f"Note: {note}." for note in grad.notes)] if grad.notes else []),
            '"""',
        ]
    )
    lines.insert(0, f'    """Return (value, gradient by ({by}))."""')
    source = module_source(name, list(params.values()), lines, result, helpers, docstring)
    return MatrixCode(
        expression=node,
        shapes=shapes_,
        wrt=grad.wrt,
        arguments=tuple(params.values()),
        target=target,
        name=name,
        source=source,
    )


def _shape_doc(shape: Shape) -> str:
    from symgrad.parsing.matrix_shapes import is_scalar

    if is_scalar(shape):
        return "a float"
    if shape[1] == 1:
        return f"a vector of {shape[0]} (1-D array)"
    if shape[0] == 1:
        return f"a row of {shape[1]} (1-D array)"
    return f"a {shape[0]}×{shape[1]} matrix"


def _as_matrix(param: str, shape: Shape) -> str:
    if shape == (1, 1):
        return f"numpy.reshape(numpy.asarray({param}, dtype=float), (1, 1))"
    if shape[1] == 1:
        return f"numpy.reshape(numpy.asarray({param}, dtype=float), (-1, 1))"
    if shape[0] == 1:
        return f"numpy.reshape(numpy.asarray({param}, dtype=float), (1, -1))"
    return f"numpy.asarray({param}, dtype=float)"


def _as_user(code: str, shape: Shape) -> str:
    """An output in the shape a user passes: 1-D for a vector, a float for a scalar."""
    full = f"numpy.broadcast_to({code}, ({_dim_code(shape[0])}, {_dim_code(shape[1])}))"
    if shape == (1, 1):
        return f"float(numpy.reshape({code}, ()))"
    if shape[1] == 1 or shape[0] == 1:
        return f"numpy.ravel({full})"
    return f"numpy.array({full})"


def _dim_code(d) -> str:
    return str(d) if isinstance(d, int) else f"_dim_{python_name(d)}"
