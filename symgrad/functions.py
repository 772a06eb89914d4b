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
    name = unicodedata.normalize("NFKC", name)
    if name in ("π",):
        return "pi"
    return "".join(GREEK.get(ch, ch) for ch in name)


# ---------------------------------------------------------------- ML activations


def _latex_call(head: str, fn: sp.Function, printer, exp=None) -> str:
    """LaTeX of ``fn``; sympy passes ``exp`` for a power such as relu(x)^2."""
    call = rf"{head}\left({printer._print(fn.args[0])}\right)"
    return call if exp is None else rf"{call}^{{{exp}}}"


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
        return _latex_call(r"\sigma", self, printer, exp)


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
        return _latex_call(r"\operatorname{relu}", self, printer, exp)


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
        return _latex_call(r"\operatorname{softplus}", self, printer, exp)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class FunctionSpec:
    """One callable name: how to build it, how many arguments it takes, what it is."""

    name: str
    build: Callable[..., sp.Expr]
    arity: tuple[int, ...]
    summary: str
    aliases: tuple[str, ...] = ()


def _log(x, base=None):
    return sp.log(x) if base is None else sp.log(x) / sp.log(base)


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("exp", sp.exp, (1,), "e to the power x"),
    FunctionSpec("log", _log, (1, 2), "natural logarithm; log(x, b) is log base b", ("ln",)),
    FunctionSpec("log2", lambda x: sp.log(x) / sp.log(2), (1,), "logarithm base 2"),
    FunctionSpec("log10", lambda x: sp.log(x) / sp.log(10), (1,), "logarithm base 10"),
    FunctionSpec("sqrt", sp.sqrt, (1,), "square root"),
    FunctionSpec("cbrt", lambda x: sp.Pow(x, sp.Rational(1, 3)), (1,), "cube root x^(1/3)"),
    FunctionSpec("abs", sp.Abs, (1,), "absolute value; derivative sign(x)", ("Abs",)),
    FunctionSpec("sign", sp.sign, (1,), "sign: -1, 0 or 1"),
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
    FunctionSpec("DiracDelta", sp.DiracDelta, (1,), "Dirac delta (the step's derivative)"),
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
