"""The vocabulary: symbols, constants and THE table of functions.

Everything symgrad knows about a function is one ``Function`` entry of ``FUNCTIONS``: the
names it is typed as (plain and LaTeX), its arity, the sympy class that carries its derivative
rule, where it has kinks or jumps, where it is defined, how numpy and plain Python compute it
and how it prints. The parsers, the numeric code, the domain checks, code generation and the
printers all read this table; adding a function is one entry plus one test row.

The ML activations are sympy ``Function`` classes with their own derivative rule, so results
read the way they are written in the literature (``sigmoid(x)*(1 - sigmoid(x))``) instead of
being expanded into ``exp``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import sympy as sp
from sympy.core.function import ArgumentIndexError

from symgrad.errors import ParseError


@cache
def symbol(name: str) -> sp.Symbol:
    """The one place symbols are made: real, and the same object for the same name.

    >>> symbol("w") is symbol("w")
    True
    """
    return sp.Symbol(name, real=True)


GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ϵ": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ϑ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "Γ": "Gamma",
    "Δ": "Delta",
    "Θ": "Theta",
    "Λ": "Lambda",
    "Ξ": "Xi",
    "Π": "Pi",
    "Σ": "Sigma",
    "Φ": "Phi",
    "Ψ": "Psi",
    "Ω": "Omega",
}


def normalize_name(name: str) -> str:
    """Canonical spelling of a typed name: NFKC (full-width ``ｘ`` is ``x``), Greek spelled out.

    Greek letters become their ASCII names so that output stays ASCII and re-parses
    (``θ1`` is ``theta1``; sympy still pretty-prints it as θ₁).
    """
    if name.isascii():  # NFKC leaves ASCII alone; the common case, and a hot path
        return name
    name = unicodedata.normalize("NFKC", name)
    if name in ("π",):
        return "pi"
    return "".join(GREEK.get(ch, ch) for ch in name)


def constants() -> dict[str, sp.Expr]:
    """Names that are constants, not variables."""
    return {"e": sp.E, "E": sp.E, "pi": sp.pi}


# ---------------------------------------------------------------- sympy classes of symgrad's own


class sigmoid(sp.Function):
    """Logistic sigmoid ``1/(1 + exp(-x))``; derivative ``sigmoid(x)*(1 - sigmoid(x))``."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x.is_Float:
            return 1 / (1 + sp.exp(-x))
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real


class relu(sp.Function):
    """Rectified linear unit ``max(x, 0)``; derivative the step ``Heaviside(x)``."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(x, 0)

    def _eval_evalf(self, prec):
        return sp.Max(self.args[0], 0)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return self.args[0].is_real


class softplus(sp.Function):
    """Softplus ``log(1 + exp(x))``; derivative ``sigmoid(x)``."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.log(2)
        if x.is_Float:
            return sp.log(1 + sp.exp(x))
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.log)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real


class SoftmaxOutput(sp.Function):
    """Output ``k`` (from 0) of ``softmax(x0, ..., xn)``: ``exp(x_k)/sum(exp(x_j))``.

    Written ``softmax(a, b, c)[k]``, so every output string re-parses. Its derivative reads in
    terms of the softmax outputs, as the ML literature writes it: ``d s_k/d x_j`` is
    ``s_k*(δ_kj - s_j)``.

    >>> a, b = symbol("a"), symbol("b")
    >>> s0 = SoftmaxOutput(0, a, b)
    >>> s0, sp.diff(s0, a), sp.diff(s0, b)
    (softmax(a, b)[0], (1 - softmax(a, b)[0])*softmax(a, b)[0], -softmax(a, b)[0]*softmax(a, b)[1])
    """

    @classmethod
    def eval(cls, k, *xs):
        if not k.is_Integer or not 0 <= int(k) < len(xs):
            raise ValueError(f"softmax of {len(xs)} inputs has no output {k}")
        if len(xs) == 1:
            return sp.S.One
        if all(x.is_Float for x in xs):
            return cls._as_exp(k, xs)
        return None

    @staticmethod
    def _as_exp(k, xs):
        # exp(x_k)/sum(exp(x_j)) written as 1/sum(exp(x_j - x_k)): no overflow for large x
        return 1 / sp.Add(*[sp.exp(x - xs[int(k)]) for x in xs])

    @property
    def index(self) -> int:
        return int(self.args[0])

    @property
    def inputs(self) -> tuple:
        return self.args[1:]

    def fdiff(self, argindex=1):
        if argindex == 1:
            raise ArgumentIndexError(self, argindex)
        j = argindex - 2
        if j == self.index:
            return self * (1 - self)
        return -self * SoftmaxOutput(j, *self.inputs)

    def _eval_rewrite_as_exp(self, k, *xs, **kwargs):
        return sp.exp(xs[int(k)]) / sp.Add(*[sp.exp(x) for x in xs])

    def _eval_evalf(self, prec):
        return self._as_exp(self.args[0], self.inputs)._eval_evalf(prec)

    def _eval_is_real(self):
        return all(x.is_real for x in self.inputs) or None

    def _eval_is_positive(self):
        return all(x.is_real for x in self.inputs) or None

    def _sympystr(self, printer):  # sympy's str() and repr(): the way symgrad writes it
        return _softmax_text(self, [printer._print(a) for a in self.args])

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print(sp.Function("softmax")(*self.inputs))
        return prettyForm(*form.right(f"[{self.index}]"))


def softmax(*xs) -> sp.ImmutableMatrix:
    """The vector ``softmax(x0, ..., xn)``: a column of ``SoftmaxOutput`` entries."""
    return sp.ImmutableMatrix([SoftmaxOutput(k, *xs) for k in range(len(xs))])


def _softmax_text(node: SoftmaxOutput, args: Sequence[str]) -> str:
    return f"softmax({', '.join(args[1:])})[{node.index}]"


def _softmax_latex(node: SoftmaxOutput, args: Sequence[str]) -> str:
    return rf"\operatorname{{softmax}}\left({', '.join(args[1:])}\right)_{{{node.index}}}"


class Abs(sp.Abs):
    """abs with the derivative of real calculus, sign(u)*u'.

    sympy falls back to re/im parts when it cannot prove the argument real (abs(asin(x)));
    every symgrad variable is real, so the real rule always applies.
    """

    def _eval_derivative(self, x):
        u = self.args[0]
        return sign(u) * u.diff(x)


class sign(sp.sign):
    """sign with the derivative of real calculus, 2*DiracDelta(u)*u' (see Abs)."""

    def _eval_derivative(self, x):
        u = self.args[0]
        return 2 * sp.DiracDelta(u) * u.diff(x)


# ---------------------------------------------------------------- the table


Condition = tuple[sp.Expr, str]
"""``(subject, relation)``: the function is real and finite where ``subject relation`` holds;
relation is one of ``> 0``, ``>= 0``, ``!= 0``, ``>= 1``, ``in [-1, 1]``, ``in (-1, 1)``."""


@dataclass(frozen=True)
class Function:
    """Everything symgrad knows about one function a user may call."""

    name: str
    """How it is typed and printed in plain syntax."""
    build: Callable[..., sp.Expr]
    """Makes the sympy expression from the parsed arguments."""
    arity: tuple[int, ...]
    summary: str
    aliases: tuple[str, ...] = ()
    """Other plain names for it (``ln`` for ``log``)."""
    variadic: bool = False
    """Takes ``arity[-1]`` or more arguments."""
    classes: tuple[type, ...] = ()
    """The sympy classes of its nodes, which carry the derivative rule (``fdiff``); empty for a
    function that is built from others (``log2`` is ``log(x)/log(2)``)."""
    latex: tuple[str, ...] = ()
    """LaTeX commands (without the backslash) that call it: ``sin`` for ``\\sin``."""
    latex_out: str | None = None
    """Its name when printed as LaTeX, where sympy's own is not what symgrad reads back."""
    numpy: str | None = None
    """numpy code: a qualified name (``numpy.sin``) or the source of a helper ``def``."""
    python: str | None = None
    """Plain-Python code (the standard library only), as ``numpy``."""
    kink: Callable[[tuple], Sequence[sp.Expr]] | None = None
    """Where its derivative jumps: expressions whose sign picks the branch (``relu(u)``: u)."""
    step: Callable[[tuple], Sequence[sp.Expr]] | None = None
    """Where its value jumps, likewise (``Heaviside(u)``: u)."""
    domain: Callable[[tuple], Sequence[Condition]] | None = None
    """Where it is real and finite, as conditions on its arguments."""
    text: Callable[[sp.Expr, Sequence[str]], str] | None = None
    """Its plain text from the node and its printed arguments, where ``name(args)`` is not it."""
    latex_text: Callable[[sp.Expr, Sequence[str]], str] | None = None
    """Its LaTeX likewise, from the node and its arguments' LaTeX."""

    def accepts(self, count: int) -> bool:
        return count in self.arity or (self.variadic and count >= self.arity[-1])

    @property
    def arity_text(self) -> str:
        """How many arguments, in words: ``1``, ``1 or 2``, ``1 or more``."""
        if self.variadic:
            return f"{self.arity[-1]} or more"
        return " or ".join(str(n) for n in self.arity)


def _log(x, base=None):
    return sp.log(x) if base is None else sp.log(x) / sp.log(base)


def _dirac(x, k=None):
    if k is None:
        return sp.DiracDelta(x)
    if not (k.is_Integer and k >= 0):
        raise ParseError(f"DiracDelta(x, k) needs a whole number k >= 0, got {k}")
    return sp.DiracDelta(x, k)


def _first(args):
    return (args[0],)


def _difference(args):
    # max(a, b) switches where a - b changes sign; n-ary: every pair
    return tuple(a - b for i, a in enumerate(args) for b in args[i + 1 :])


def _positive(args):
    return ((args[0], "> 0"),)


def _unit_interval(args):
    return ((args[0], "in [-1, 1]"),)


def _cos_nonzero(args):
    return ((sp.cos(args[0]), "!= 0"),)


def _sin_nonzero(args):
    return ((sp.sin(args[0]), "!= 0"),)


def _helper(name: str, body: str, *params: str) -> str:
    """The source of a helper function for generated code."""
    signature = ", ".join(params or ("x",))
    lines = body.strip("\n").split("\n")
    return f"def {name}({signature}):\n" + "".join(f"    {line}\n" for line in lines)


def _reciprocal(name: str, of: str) -> tuple[str, str]:
    return (
        _helper(name, f"return 1 / numpy.{of}(x)"),
        _helper(name, f"return 1 / math.{of}(x)"),
    )


_SIGMOID_PY = """\
if x >= 0:
    return 1 / (1 + math.exp(-x))
z = math.exp(x)
return z / (1 + z)"""

# shifted by the largest input: no exp overflows, whatever the logits
_SOFTMAX_NP = """\
m = xs[0]
for xj in xs[1:]:
    m = numpy.maximum(m, xj)
total = 0.0
for xj in xs:
    total = total + numpy.exp(xj - m)
return numpy.exp(xs[k] - m) / total"""

_SOFTMAX_PY = """\
m = max(xs)
return math.exp(xs[k] - m) / sum(math.exp(xj - m) for xj in xs)"""

_MAX_NP = """\
out = xs[0]
for x in xs[1:]:
    out = numpy.{}(out, x)
return out"""


# fmt: off
FUNCTIONS: tuple[Function, ...] = (
    Function(
        "exp", sp.exp, (1,), "e to the power x",
        classes=(sp.exp,), latex=("exp",), numpy="numpy.exp", python="math.exp",
    ),
    Function(
        "log", _log, (1, 2), "natural logarithm; log(x, b) is log base b", ("ln",),
        classes=(sp.log,), latex=("log", "ln"), numpy="numpy.log", python="math.log",
        domain=_positive,
    ),
    Function("log2", lambda x: sp.log(x) / sp.log(2), (1,), "logarithm base 2"),
    Function("log10", lambda x: sp.log(x) / sp.log(10), (1,), "logarithm base 10", latex=("lg",)),
    Function("sqrt", sp.sqrt, (1,), "square root"),
    Function("cbrt", lambda x: sp.Pow(x, sp.Rational(1, 3)), (1,), "cube root x^(1/3)"),
    Function(
        "abs", Abs, (1,), "absolute value; derivative sign(x)", ("Abs",),
        classes=(Abs, sp.Abs), numpy="numpy.abs", python="abs", kink=_first,
    ),
    Function(
        "sign", sign, (1,), "sign: -1, 0 or 1",
        classes=(sign, sp.sign), latex=("sgn",), numpy="numpy.sign",
        python=_helper("sign", "return (x > 0) - (x < 0)"), step=_first,
    ),
    Function(
        "sin", sp.sin, (1,), "sine",
        classes=(sp.sin,), latex=("sin",), numpy="numpy.sin", python="math.sin",
    ),
    Function(
        "cos", sp.cos, (1,), "cosine",
        classes=(sp.cos,), latex=("cos",), numpy="numpy.cos", python="math.cos",
    ),
    Function(
        "tan", sp.tan, (1,), "tangent",
        classes=(sp.tan,), latex=("tan",), numpy="numpy.tan", python="math.tan",
        domain=_cos_nonzero,
    ),
    Function(
        "cot", sp.cot, (1,), "cotangent",
        classes=(sp.cot,), latex=("cot",), numpy=_reciprocal("cot", "tan")[0],
        python=_reciprocal("cot", "tan")[1], domain=_sin_nonzero,
    ),
    Function(
        "sec", sp.sec, (1,), "secant",
        classes=(sp.sec,), latex=("sec",), numpy=_reciprocal("sec", "cos")[0],
        python=_reciprocal("sec", "cos")[1], domain=_cos_nonzero,
    ),
    Function(
        "csc", sp.csc, (1,), "cosecant",
        classes=(sp.csc,), latex=("csc",), numpy=_reciprocal("csc", "sin")[0],
        python=_reciprocal("csc", "sin")[1], domain=_sin_nonzero,
    ),
    Function(
        "asin", sp.asin, (1,), "inverse sine", ("arcsin",),
        classes=(sp.asin,), latex=("arcsin",), numpy="numpy.arcsin", python="math.asin",
        domain=_unit_interval,
    ),
    Function(
        "acos", sp.acos, (1,), "inverse cosine", ("arccos",),
        classes=(sp.acos,), latex=("arccos",), numpy="numpy.arccos", python="math.acos",
        domain=_unit_interval,
    ),
    Function(
        "atan", sp.atan, (1,), "inverse tangent", ("arctan",),
        classes=(sp.atan,), latex=("arctan",), numpy="numpy.arctan", python="math.atan",
    ),
    Function(
        "atan2", sp.atan2, (2,), "atan2(y, x): angle of the point (x, y)", ("arctan2",),
        classes=(sp.atan2,), latex_out=r"\operatorname{atan2}", numpy="numpy.arctan2",
        python="math.atan2",
    ),
    Function(
        "sinh", sp.sinh, (1,), "hyperbolic sine",
        classes=(sp.sinh,), latex=("sinh",), numpy="numpy.sinh", python="math.sinh",
    ),
    Function(
        "cosh", sp.cosh, (1,), "hyperbolic cosine",
        classes=(sp.cosh,), latex=("cosh",), numpy="numpy.cosh", python="math.cosh",
    ),
    Function(
        "tanh", sp.tanh, (1,), "hyperbolic tangent; derivative 1 - tanh(x)^2",
        classes=(sp.tanh,), latex=("tanh",), numpy="numpy.tanh", python="math.tanh",
    ),
    Function(
        "asinh", sp.asinh, (1,), "inverse hyperbolic sine", ("arcsinh",),
        classes=(sp.asinh,), latex=("arcsinh",), numpy="numpy.arcsinh", python="math.asinh",
    ),
    Function(
        "acosh", sp.acosh, (1,), "inverse hyperbolic cosine", ("arccosh",),
        classes=(sp.acosh,), latex=("arccosh",), numpy="numpy.arccosh", python="math.acosh",
        domain=lambda args: ((args[0], ">= 1"),),
    ),
    Function(
        "atanh", sp.atanh, (1,), "inverse hyperbolic tangent", ("arctanh",),
        classes=(sp.atanh,), latex=("arctanh",), numpy="numpy.arctanh", python="math.atanh",
        domain=lambda args: ((args[0], "in (-1, 1)"),),
    ),
    Function(
        "sigmoid", sigmoid, (1,), "logistic 1/(1 + e^-x); derivative sigmoid*(1 - sigmoid)",
        classes=(sigmoid,), latex_out=r"\sigma",
        numpy=_helper("sigmoid", "return numpy.exp(-numpy.logaddexp(0, -x))"),
        python=_helper("sigmoid", _SIGMOID_PY),
    ),
    Function(
        "relu", relu, (1,), "max(x, 0); derivative the step Heaviside(x)",
        classes=(relu,), latex_out=r"\operatorname{relu}",
        numpy=_helper("relu", "return numpy.maximum(x, 0)"),
        python=_helper("relu", "return max(x, 0)"), kink=_first,
    ),
    Function(
        "softplus", softplus, (1,), "log(1 + e^x); derivative sigmoid(x)",
        classes=(softplus,), latex_out=r"\operatorname{softplus}",
        numpy=_helper("softplus", "return numpy.logaddexp(0, x)"),
        python=_helper("softplus", "return max(x, 0) + math.log1p(math.exp(-abs(x)))"),
    ),
    Function("silu", lambda x: x * sigmoid(x), (1,), "x*sigmoid(x) (swish)", ("swish",)),
    Function(
        "softmax", softmax, (1,),
        "vector exp(x_k)/sum(exp(x_j)); one output is softmax(a, b, c)[k], from 0",
        variadic=True, classes=(SoftmaxOutput,),
        numpy=_helper("softmax", _SOFTMAX_NP, "k", "*xs"),
        python=_helper("softmax", _SOFTMAX_PY, "k", "*xs"),
        text=_softmax_text, latex_text=_softmax_latex,
    ),
    Function(
        "erf", sp.erf, (1,), "error function",
        classes=(sp.erf,), latex_out=r"\operatorname{erf}",
        numpy=_helper("erf", "return numpy.vectorize(math.erf, otypes=[float])(x)"),
        python="math.erf",
    ),
    Function(
        "max", sp.Max, (2,), "larger of two values", ("Max",),
        classes=(sp.Max,), latex=("max",), latex_out=r"\max",
        numpy=_helper("Max", _MAX_NP.format("maximum"), "*xs"), python="max",
        kink=_difference,
    ),
    Function(
        "min", sp.Min, (2,), "smaller of two values", ("Min",),
        classes=(sp.Min,), latex=("min",), latex_out=r"\min",
        numpy=_helper("Min", _MAX_NP.format("minimum"), "*xs"), python="min",
        kink=_difference,
    ),
    Function(
        "Heaviside", sp.Heaviside, (1,), "unit step, 1/2 at 0 (relu's derivative)",
        ("heaviside", "step"), classes=(sp.Heaviside,), latex_out=r"\operatorname{Heaviside}",
        numpy=_helper("Heaviside", "return numpy.heaviside(x, at0)", "x", "at0=0.5"),
        python=_helper(
            "Heaviside", "return 1.0 if x > 0 else 0.0 if x < 0 else at0", "x", "at0=0.5"
        ),
        step=_first,
    ),
    Function(
        "DiracDelta", _dirac, (1, 2),
        "Dirac delta (the step's derivative); DiracDelta(x, k) is its k-th derivative",
        classes=(sp.DiracDelta,), latex_out=r"\operatorname{DiracDelta}",
        numpy=_helper(
            "DiracDelta",
            "return numpy.where(x == 0, numpy.inf if k == 0 else numpy.nan, 0.0)",
            "x",
            "k=0",
        ),
        python=_helper(
            "DiracDelta", "return (math.inf if k == 0 else math.nan) if x == 0 else 0.0", "x", "k=0"
        ),
        step=_first,
    ),
)
# fmt: on


@lru_cache(maxsize=1)
def function_table() -> dict[str, Function]:
    """Every callable name, aliases included, mapped to its entry."""
    table: dict[str, Function] = {}
    for entry in FUNCTIONS:
        for name in (entry.name, *entry.aliases):
            table[name] = entry
    return table


_BY_CLASS: dict[type, Function | None] = {}


def entry_of(node: sp.Basic) -> Function | None:
    """The table entry of a function node (``sigmoid(x)``, ``sin(x)``); None for anything else.

    >>> entry_of(sigmoid(symbol("x"))).name
    'sigmoid'
    """
    kind = type(node)
    try:
        return _BY_CLASS[kind]
    except KeyError:
        pass
    if not _BY_CLASS:
        _BY_CLASS.update({cls: entry for entry in FUNCTIONS for cls in entry.classes})
    found = next((_BY_CLASS[c] for c in kind.__mro__ if _BY_CLASS.get(c)), None)
    _BY_CLASS[kind] = found
    return found


@lru_cache(maxsize=1)
def latex_commands() -> dict[str, Function]:
    """LaTeX command (without the backslash) -> the function it calls."""
    return {command: entry for entry in FUNCTIONS for command in entry.latex}
