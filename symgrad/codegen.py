"""Generated code: a self-contained Python function returning the value and the gradient.

The function body is one reverse sweep (symgrad.reverse): each shared value and adjoint is
computed once, so value and gradient together cost a small multiple of the value alone.

>>> code = codegen("y*log(w*x + b)", "w,b", target="python")
>>> namespace = {}
>>> exec(code.source, namespace)
>>> namespace["f"](b=0.5, w=2.0, x=1.0, y=3.0)
(2.7488721956224653, (1.2, 1.2))
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import sympy as sp

from symgrad import __version__
from symgrad.differentiate import ExprLike, WrtLike, as_expr, resolve_wrt, variables
from symgrad.errors import InputError

# symgrad function -> (numpy spelling, plain-Python spelling); a helper's definition is
# emitted only when the function is used. One row per function.
_NUMPY_SIGMOID = "def sigmoid(x):\n    return numpy.exp(-numpy.logaddexp(0, -x))\n"
_MATH_SIGMOID = (
    "def sigmoid(x):\n"
    "    if x >= 0:\n"
    "        return 1 / (1 + math.exp(-x))\n"
    "    z = math.exp(x)\n"
    "    return z / (1 + z)\n"
)
FUNCTIONS: dict[str, tuple[str, str]] = {
    "exp": ("numpy.exp", "math.exp"),
    "sqrt": ("numpy.sqrt", "math.sqrt"),
    "log": ("numpy.log", "math.log"),
    "Abs": ("numpy.abs", "abs"),
    "sign": ("numpy.sign", "def sign(x):\n    return (x > 0) - (x < 0)\n"),
    "sin": ("numpy.sin", "math.sin"),
    "cos": ("numpy.cos", "math.cos"),
    "tan": ("numpy.tan", "math.tan"),
    "cot": (
        "def cot(x):\n    return 1 / numpy.tan(x)\n",
        "def cot(x):\n    return 1 / math.tan(x)\n",
    ),
    "sec": (
        "def sec(x):\n    return 1 / numpy.cos(x)\n",
        "def sec(x):\n    return 1 / math.cos(x)\n",
    ),
    "csc": (
        "def csc(x):\n    return 1 / numpy.sin(x)\n",
        "def csc(x):\n    return 1 / math.sin(x)\n",
    ),
    "asin": ("numpy.arcsin", "math.asin"),
    "acos": ("numpy.arccos", "math.acos"),
    "atan": ("numpy.arctan", "math.atan"),
    "atan2": ("numpy.arctan2", "math.atan2"),
    "sinh": ("numpy.sinh", "math.sinh"),
    "cosh": ("numpy.cosh", "math.cosh"),
    "tanh": ("numpy.tanh", "math.tanh"),
    "asinh": ("numpy.arcsinh", "math.asinh"),
    "acosh": ("numpy.arccosh", "math.acosh"),
    "atanh": ("numpy.arctanh", "math.atanh"),
    "sigmoid": (_NUMPY_SIGMOID, _MATH_SIGMOID),
    "relu": (
        "def relu(x):\n    return numpy.maximum(x, 0)\n",
        "def relu(x):\n    return max(x, 0)\n",
    ),
    "softplus": (
        "def softplus(x):\n    return numpy.logaddexp(0, x)\n",
        "def softplus(x):\n    return max(x, 0) + math.log1p(math.exp(-abs(x)))\n",
    ),
    "erf": ("def erf(x):\n    return numpy.vectorize(math.erf)(x)\n", "math.erf"),
    "Max": ("numpy.maximum", "max"),
    "Min": ("numpy.minimum", "min"),
    "Heaviside": (
        "def Heaviside(x, at0=0.5):\n    return numpy.heaviside(x, at0)\n",
        "def Heaviside(x, at0=0.5):\n    return 1.0 if x > 0 else 0.0 if x < 0 else at0\n",
    ),
    "DiracDelta": (
        "def DiracDelta(x, k=0):\n    return numpy.zeros_like(x)  # zero except at a point\n",
        "def DiracDelta(x, k=0):\n    return 0.0  # zero except at a point\n",
    ),
    "pi": ("numpy.pi", "math.pi"),
    "E": ("numpy.e", "math.e"),
}
TARGETS = ("numpy", "python")
RESERVED = {"numpy", "math", "value", "gradient", *FUNCTIONS}
DOC_EXPRESSION_CHARS = 300


@dataclass(frozen=True)
class Code:
    """Python source defining ``name(*arguments) -> (value, gradient)``."""

    expression: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    arguments: tuple[sp.Symbol, ...]
    target: str
    name: str
    source: str


def codegen(expr: ExprLike, wrt: WrtLike = None, target: str = "numpy", name: str = "f") -> Code:
    """Source of a function ``name(<variables>) -> (value, gradient by wrt)``.

    ``target="numpy"`` works elementwise on arrays (broadcasting); ``"python"`` needs only
    the standard library.
    """
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InputError(f"{name!r} is not a Python function name")
    from symgrad.reverse import reverse_gradient

    expr = as_expr(expr)
    chosen = resolve_wrt(expr, wrt)
    arguments = variables(expr)
    sweep = reverse_gradient(expr, chosen)
    column = TARGETS.index(target)
    renames = {a.name: python_name(a.name) for a in arguments}
    used: set[str] = set()
    names = dict(renames)
    for key, spellings in FUNCTIONS.items():
        spelling = spellings[column]
        names[key] = key if spelling.startswith("def ") else spelling

    def text(e: sp.Expr) -> str:
        from symgrad.render import linear_text

        out = linear_text(e, names)
        used.update(k for k in FUNCTIONS if names[k] in out and _mentions(out, names[k]))
        return out

    body = [f"    {n.name} = {text(d)}" for n, d in sweep.definitions]
    body.append(f"    value = {text(sweep.value)}")
    entries = []
    for g in sweep.gradient:
        entry = text(g)
        if not g.free_symbols and target == "numpy":
            entry = f"numpy.full(numpy.shape(value), {entry})"  # a constant, broadcast
        entries.append(entry)
    if len(entries) == 1:
        body.append(f"    gradient = ({entries[0]},)")
    else:
        body.append("    gradient = (")
        body += [f"        {e}," for e in entries]
        body.append("    )")
    body.append("    return value, gradient")

    source = _module(expr, chosen, arguments, renames, target, name, used, body)
    return Code(expr, chosen, arguments, target, name, source)


def _mentions(code: str, token: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(token)}(?!\w)", code) is not None


def python_name(name: str) -> str:
    """``name`` as a Python parameter: keywords and the module's own names get a ``_``."""
    return name + "_" if keyword.iskeyword(name) or name in RESERVED else name


def _module(expr, wrt, arguments, renames, target, name, used, body) -> str:
    from symgrad.render import expr_text

    shown = expr_text(expr)
    if len(shown) > DOC_EXPRESSION_CHARS:
        shown = shown[:DOC_EXPRESSION_CHARS] + " ..."
    params = ", ".join(renames[a.name] for a in arguments)
    by = ", ".join(renames[v.name] for v in wrt)
    how = "elementwise on numpy arrays (they broadcast)" if target == "numpy" else "on floats"
    column = TARGETS.index(target)
    helpers = [FUNCTIONS[k][column] for k in FUNCTIONS if k in used]
    defs = [h for h in helpers if h.startswith("def ")]
    needs_math = target == "python" and any("math." in h for h in helpers)
    docstring = "\n".join(
        [
            '"""Value and gradient of',
            "",
            f"    f = {shown}",
            "",
            f"generated by symgrad {__version__}: symgrad codegen --target {target}, one",
            "reverse-mode sweep with every shared value and adjoint computed once. The function",
            f"works {how}; the gradient is by ({by}), in that order.",
            '"""',
        ]
    )
    needs_math = any("math." in h for h in helpers)
    imports = [
        m
        for m, needed in (("import math", needs_math), ("import numpy", target == "numpy"))
        if needed
    ]
    main = "\n".join(
        [f"def {name}({params}):", f'    """Return (value, gradient by ({by}))."""', *body]
    )
    top = docstring + ("\n\n" + "\n".join(imports) if imports else "")
    return "\n\n\n".join([top, *(d.rstrip("\n") for d in defs), main]) + "\n"
