"""The vocabulary: symbols, constants and the table of functions a user may call.

Adding a function is one row in ``FUNCTIONS`` (plus one test row); nothing else changes.
The ML activations are sympy ``Function`` classes with their own derivative rule, so results
read the way they are written in the literature (``sigmoid(x)*(1 - sigmoid(x))``) instead of
being expanded into ``exp``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import sympy as sp
from sympy.core.function import ArgumentIndexError


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


# ---------------------------------------------------------------- ML activations


def _latex_call(name: str, printer, arg, exp=None) -> str:
    """``name(arg)`` in LaTeX; a power of it as ``name^{exp}(arg)``, as sympy writes sin^2."""
    power = f"^{{{exp}}}" if exp is not None else ""
    return rf"{name}{power}\left({printer._print(arg)}\right)"


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

    def _numpycode(self, printer):
        # exp(-logaddexp(0, -x)) does not overflow for large |x|
        np_exp = printer._module_format(printer._module + ".exp")
        np_lae = printer._module_format(printer._module + ".logaddexp")
        return f"{np_exp}(-{np_lae}(0, -({printer._print(self.args[0])})))"

    _latex_name = r"\sigma"

    def _latex(self, printer, exp=None):
        return _latex_call(r"\sigma", printer, self.args[0], exp)


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

    def _numpycode(self, printer):
        np_max = printer._module_format(printer._module + ".maximum")
        return f"{np_max}({printer._print(self.args[0])}, 0)"

    def _latex(self, printer, exp=None):
        return _latex_call(r"\operatorname{relu}", printer, self.args[0], exp)


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

    def _numpycode(self, printer):
        np_lae = printer._module_format(printer._module + ".logaddexp")
        return f"{np_lae}(0, {printer._print(self.args[0])})"

    def _latex(self, printer, exp=None):
        return _latex_call(r"\operatorname{softplus}", printer, self.args[0], exp)


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

    def _numpycode(self, printer):
        np_exp = printer._module_format(printer._module + ".exp")
        xk = printer._print(self.inputs[self.index])
        terms = [
            "1" if j == self.index else f"{np_exp}(({printer._print(x)}) - ({xk}))"
            for j, x in enumerate(self.inputs)
        ]
        return f"(1/({' + '.join(terms)}))"

    def _sympystr(self, printer):
        inputs = ", ".join(printer._print(x) for x in self.inputs)
        return f"softmax({inputs})[{self.index}]"

    def _latex(self, printer, exp=None):
        inputs = ", ".join(printer._print(x) for x in self.inputs)
        text = rf"\operatorname{{softmax}}\left({inputs}\right)_{{{self.index}}}"
        return rf"\left({text}\right)^{{{exp}}}" if exp is not None else text

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        form = printer._print(sp.Function("softmax")(*self.inputs))
        return prettyForm(*form.right(f"[{self.index}]"))


def softmax(*xs) -> sp.ImmutableMatrix:
    """The vector ``softmax(x0, ..., xn)``: a column of ``SoftmaxOutput`` entries."""
    return sp.ImmutableMatrix([SoftmaxOutput(k, *xs) for k in range(len(xs))])


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


@dataclass(frozen=True)
class FunctionSpec:
    """One callable name: how to build it, how many arguments it takes, what it is."""

    name: str
    build: Callable[..., sp.Expr]
    arity: tuple[int, ...]
    summary: str
    aliases: tuple[str, ...] = ()
    variadic: bool = False
    """Takes ``arity[-1]`` or more arguments."""

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
        from symgrad.errors import ParseError

        raise ParseError(f"DiracDelta(x, k) needs a whole number k >= 0, got {k}")
    return sp.DiracDelta(x, k)


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("exp", sp.exp, (1,), "e to the power x"),
    FunctionSpec("log", _log, (1, 2), "natural logarithm; log(x, b) is log base b", ("ln",)),
    FunctionSpec("log2", lambda x: sp.log(x) / sp.log(2), (1,), "logarithm base 2"),
    FunctionSpec("log10", lambda x: sp.log(x) / sp.log(10), (1,), "logarithm base 10"),
    FunctionSpec("sqrt", sp.sqrt, (1,), "square root"),
    FunctionSpec("cbrt", lambda x: sp.Pow(x, sp.Rational(1, 3)), (1,), "cube root x^(1/3)"),
    FunctionSpec("abs", Abs, (1,), "absolute value; derivative sign(x)", ("Abs",)),
    FunctionSpec("sign", sign, (1,), "sign: -1, 0 or 1"),
    FunctionSpec("sin", sp.sin, (1,), "sine"),
    FunctionSpec("cos", sp.cos, (1,), "cosine"),
    FunctionSpec("tan", sp.tan, (1,), "tangent"),
    FunctionSpec("cot", sp.cot, (1,), "cotangent"),
    FunctionSpec("sec", sp.sec, (1,), "secant"),
    FunctionSpec("csc", sp.csc, (1,), "cosecant"),
    FunctionSpec("asin", sp.asin, (1,), "inverse sine", ("arcsin",)),
    FunctionSpec("acos", sp.acos, (1,), "inverse cosine", ("arccos",)),
    FunctionSpec("atan", sp.atan, (1,), "inverse tangent", ("arctan",)),
    FunctionSpec("atan2", sp.atan2, (2,), "atan2(y, x): angle of the point (x, y)", ("arctan2",)),
    FunctionSpec("sinh", sp.sinh, (1,), "hyperbolic sine"),
    FunctionSpec("cosh", sp.cosh, (1,), "hyperbolic cosine"),
    FunctionSpec("tanh", sp.tanh, (1,), "hyperbolic tangent; derivative 1 - tanh(x)^2"),
    FunctionSpec("asinh", sp.asinh, (1,), "inverse hyperbolic sine", ("arcsinh",)),
    FunctionSpec("acosh", sp.acosh, (1,), "inverse hyperbolic cosine", ("arccosh",)),
    FunctionSpec("atanh", sp.atanh, (1,), "inverse hyperbolic tangent", ("arctanh",)),
    FunctionSpec(
        "sigmoid", sigmoid, (1,), "logistic 1/(1 + e^-x); derivative sigmoid*(1 - sigmoid)"
    ),
    FunctionSpec("relu", relu, (1,), "max(x, 0); derivative the step Heaviside(x)"),
    FunctionSpec("softplus", softplus, (1,), "log(1 + e^x); derivative sigmoid(x)"),
    FunctionSpec("silu", lambda x: x * sigmoid(x), (1,), "x*sigmoid(x) (swish)", ("swish",)),
    FunctionSpec(
        "softmax",
        softmax,
        (1,),
        "vector exp(x_k)/sum(exp(x_j)); one output is softmax(a, b, c)[k], from 0",
        variadic=True,
    ),
    FunctionSpec("erf", sp.erf, (1,), "error function"),
    FunctionSpec("max", sp.Max, (2,), "larger of two values", ("Max",)),
    FunctionSpec("min", sp.Min, (2,), "smaller of two values", ("Min",)),
    FunctionSpec(
        "Heaviside",
        sp.Heaviside,
        (1,),
        "unit step, 1/2 at 0 (relu's derivative)",
        ("heaviside", "step"),
    ),
    FunctionSpec(
        "DiracDelta",
        _dirac,
        (1, 2),
        "Dirac delta (the step's derivative); DiracDelta(x, k) is its k-th derivative",
    ),
)


@lru_cache(maxsize=1)
def function_table() -> dict[str, FunctionSpec]:
    """Every callable name, aliases included, mapped to its spec."""
    table: dict[str, FunctionSpec] = {}
    for spec in FUNCTIONS:
        for name in (spec.name, *spec.aliases):
            table[name] = spec
    return table


def constants() -> dict[str, sp.Expr]:
    """Names that are constants, not variables."""
    return {"e": sp.E, "E": sp.E, "pi": sp.pi}
