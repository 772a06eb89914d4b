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


class _VectorOutput(sp.Function):
    """Output ``k`` (from 0) of a vector function of ``x0, ..., xn``: ``name(x0, ..., xn)[k]``.

    The arguments are ``(k, x0, ..., xn)``; ``name`` is how it is typed and printed.
    """

    name = ""

    @classmethod
    def _check(cls, k, xs) -> None:
        if not k.is_Integer or not 0 <= int(k) < len(xs):
            raise ValueError(f"{cls.name} of {len(xs)} inputs has no output {k}")

    @property
    def index(self) -> int:
        return int(self.args[0])

    @property
    def inputs(self) -> tuple:
        return self.args[1:]

    def _eval_is_real(self):
        return all(x.is_real for x in self.inputs) or None

    def _sympystr(self, printer):  # sympy's str() and repr(): the way symgrad writes it
        return _vector_text(self, [printer._print(a) for a in self.args])

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        if hasattr(printer, "call"):  # symgrad's printer: log_softmax, not log with a subscript
            form = printer.call(self.name, self.inputs)
        else:
            form = printer._print(sp.Function(self.name)(*self.inputs))
        return prettyForm(*form.right(f"[{self.index}]"))


class SoftmaxOutput(_VectorOutput):
    """Output ``k`` (from 0) of ``softmax(x0, ..., xn)``: ``exp(x_k)/sum(exp(x_j))``.

    Written ``softmax(a, b, c)[k]``, so every output string re-parses. Its derivative reads in
    terms of the softmax outputs, as the ML literature writes it: ``d s_k/d x_j`` is
    ``s_k*(δ_kj - s_j)``.

    >>> a, b = symbol("a"), symbol("b")
    >>> s0 = SoftmaxOutput(0, a, b)
    >>> s0, sp.diff(s0, a), sp.diff(s0, b)
    (softmax(a, b)[0], (1 - softmax(a, b)[0])*softmax(a, b)[0], -softmax(a, b)[0]*softmax(a, b)[1])
    """

    name = "softmax"

    @classmethod
    def eval(cls, k, *xs):
        cls._check(k, xs)
        if len(xs) == 1:
            return sp.S.One
        if all(x.is_Float for x in xs):
            return cls._as_exp(k, xs)
        return None

    @staticmethod
    def _as_exp(k, xs):
        # exp(x_k)/sum(exp(x_j)) written as 1/sum(exp(x_j - x_k)): no overflow for large x
        return 1 / sp.Add(*[sp.exp(x - xs[int(k)]) for x in xs])

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

    def _eval_is_positive(self):
        return all(x.is_real for x in self.inputs) or None


class LogSoftmaxOutput(_VectorOutput):
    """Output ``k`` of ``log_softmax(x0, ..., xn)``: ``x_k - logsumexp(x0, ..., xn)``.

    Its derivative is written with softmax, as PyTorch's documentation does:
    ``d log_softmax(x)[k]/d x_j`` is ``δ_kj - softmax(x)[j]``.

    >>> a, b = symbol("a"), symbol("b")
    >>> sp.diff(LogSoftmaxOutput(0, a, b), a)
    1 - softmax(a, b)[0]
    """

    name = "log_softmax"

    @classmethod
    def eval(cls, k, *xs):
        cls._check(k, xs)
        if len(xs) == 1:
            return sp.S.Zero
        if all(x.is_Float for x in xs):
            return -sp.log(SoftmaxOutput._as_exp(k, xs))
        return None

    def fdiff(self, argindex=1):
        if argindex == 1:
            raise ArgumentIndexError(self, argindex)
        j = argindex - 2
        softmax_j = SoftmaxOutput(j, *self.inputs)
        return 1 - softmax_j if j == self.index else -softmax_j

    def _eval_rewrite_as_exp(self, k, *xs, **kwargs):
        return xs[int(k)] - sp.log(sp.Add(*[sp.exp(x) for x in xs]))

    def _eval_evalf(self, prec):
        return (-sp.log(SoftmaxOutput._as_exp(self.args[0], self.inputs)))._eval_evalf(prec)

    def _eval_is_nonpositive(self):
        return all(x.is_real for x in self.inputs) or None


def softmax(*xs) -> sp.ImmutableMatrix:
    """The vector ``softmax(x0, ..., xn)``: a column of ``SoftmaxOutput`` entries."""
    return sp.ImmutableMatrix([SoftmaxOutput(k, *xs) for k in range(len(xs))])


def log_softmax(*xs) -> sp.ImmutableMatrix:
    """The vector ``log_softmax(x0, ..., xn)``: a column of ``LogSoftmaxOutput`` entries."""
    return sp.ImmutableMatrix([LogSoftmaxOutput(k, *xs) for k in range(len(xs))])


def _vector_text(node: _VectorOutput, args: Sequence[str]) -> str:
    return f"{node.name}({', '.join(args[1:])})[{node.index}]"


def _vector_latex(node: _VectorOutput, args: Sequence[str]) -> str:
    name = node.name.replace("_", r"\_")
    return rf"\operatorname{{{name}}}\left({', '.join(args[1:])}\right)_{{{node.index}}}"


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


class _Real(sp.Function):
    """A real function of real arguments, evaluated numerically through ``_exact``: the
    formula it stands for, written with sympy's own functions."""

    def _exact(self) -> sp.Expr:
        raise NotImplementedError

    def _eval_evalf(self, prec):
        return self._exact()._eval_evalf(prec)

    def _eval_is_real(self):
        return all(a.is_real for a in self.args) or None

    def _sympystr(self, printer):  # sympy's str() and repr(): the way symgrad writes it
        name, places = written(self)
        return f"{name}({', '.join(printer._print(self.args[k]) for k in places)})"

    def _eval_is_finite(self):
        return all(a.is_finite for a in self.args) or None


def _number(x) -> bool:
    return x.is_Float or (x.is_Rational and x.is_nonzero)


class _Formula(_Real):
    """A function of one argument with a closed form, ``_formula(x)``: its value at a float
    and its exact form; ``AT_ZERO`` its value at 0."""

    nargs = 1
    AT_ZERO: sp.Expr = sp.S.Zero

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return cls.AT_ZERO
        if x.is_Float:
            return cls._formula(x).evalf(15)
        return None

    @classmethod
    def _formula(cls, x) -> sp.Expr:
        raise NotImplementedError

    def _exact(self):
        return self._formula(self.args[0])


class root(_Real):
    """The real n-th root: ``root(x, 3)`` of -8 is -2 (odd roots of negatives are real).

    Only odd whole n > 1 stays a ``root`` node; every other root is a power (``root(x, 2)`` is
    ``sqrt(x)``, ``root(x, -3)`` is ``1/root(x, 3)``). Its derivative reads in roots:
    ``1/(3*cbrt(x)**2)``, real wherever ``x != 0``.

    >>> x = symbol("x")
    >>> root(-8, 3), root(x, 2), root(x, -3), sp.diff(root(x, 3), x)
    (-2, sqrt(x), 1/cbrt(x), 1/(3*cbrt(x)**2))
    """

    nargs = 2

    @classmethod
    def eval(cls, x, n):
        if n.is_zero:
            raise ValueError("a 0th root is not defined")
        if not (n.is_Integer and n.p % 2):
            return sp.Pow(x, 1 / n)  # an even or fractional root: real only for x >= 0
        if n < 0:
            return 1 / cls(x, -n)
        if n == 1:
            return x
        if x.is_nonnegative:
            return sp.Pow(x, 1 / n)
        if x.is_negative and (x.is_Number or x.is_NumberSymbol):
            return -sp.Pow(-x, 1 / n)
        if x.could_extract_minus_sign():
            return -cls(-x, n)  # odd: root(-x) = -root(x)
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        n = self.args[1]
        return 1 / (n * self ** (n - 1))

    def _exact(self):
        x, n = self.args
        return sp.sign(x) * sp.Pow(sp.Abs(x), 1 / n)


def _root_written(node: sp.Expr) -> tuple[str, tuple[int, ...]]:
    return ("cbrt", (0,)) if node.args[1] == 3 else ("root", (0, 1))


def _root_latex(node: sp.Expr, args: Sequence[str]) -> str:
    return rf"\sqrt[{args[1]}]{{{args[0]}}}"


class gelu(_Formula):
    """GELU, exact form ``x*Φ(x) = x*(1 + erf(x/sqrt(2)))/2`` (PyTorch's default); derivative
    ``Φ(x) + x*φ(x)``, the normal distribution's CDF and density written out."""

    @classmethod
    def _formula(cls, x):
        return x * (1 + sp.erf(x / sp.sqrt(2))) / 2

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


GELU_TANH_C = sp.Float(0.044715, 15)


class gelu_tanh(_Formula):
    """GELU's tanh approximation ``x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))/2``
    (PyTorch's ``approximate='tanh'``)."""

    @staticmethod
    def _inner(x):
        return sp.sqrt(2 / sp.pi) * (x + GELU_TANH_C * x**3)

    @classmethod
    def _formula(cls, x):
        return x * (1 + sp.tanh(cls._inner(x))) / 2

    def fdiff(self, argindex=1):
        x = self.args[0]
        t = sp.tanh(self._inner(x))
        slope = sp.sqrt(2 / sp.pi) * (1 + 3 * GELU_TANH_C * x**2)
        return (1 + t) / 2 + x * (1 - t**2) * slope / 2


class elu(_Real):
    """ELU ``x`` for x > 0, ``a*(exp(x) - 1)`` below (``a = 1`` by default, as in PyTorch);
    derivative ``Heaviside(x) + a*exp(x)*Heaviside(-x)``."""

    nargs = 2

    @classmethod
    def eval(cls, x, a):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return a * (sp.exp(x) - 1)
        return None

    def fdiff(self, argindex=1):
        x, a = self.args
        if argindex == 1:
            return sp.Heaviside(x) + a * sp.exp(x) * sp.Heaviside(-x)
        return (sp.exp(x) - 1) * sp.Heaviside(-x)

    def _exact(self):
        x, a = self.args
        return sp.Piecewise((x, x > 0), (a * (sp.exp(x) - 1), True))


def _elu(x, a=sp.S.One):
    return elu(x, a)


# PyTorch's documented constants (Klambauer et al. 2017)
SELU_ALPHA = sp.Float(1.6732632423543772, 15)  # doubles: as the parser reads 1.6732632423543772
SELU_SCALE = sp.Float(1.0507009873554805, 15)


class selu(_Real):
    """SELU ``scale*elu(x, alpha)`` with PyTorch's constants alpha = 1.6732632423543772,
    scale = 1.0507009873554805."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return SELU_SCALE * x
        if x.is_extended_negative:
            return SELU_SCALE * SELU_ALPHA * (sp.exp(x) - 1)
        return None

    def fdiff(self, argindex=1):
        x = self.args[0]
        return SELU_SCALE * sp.Heaviside(x) + SELU_SCALE * SELU_ALPHA * sp.exp(x) * sp.Heaviside(-x)

    def _exact(self):
        x = self.args[0]
        return SELU_SCALE * sp.Piecewise((x, x > 0), (SELU_ALPHA * (sp.exp(x) - 1), True))


LEAKY_SLOPE = sp.Float(0.01, 15)


class leaky_relu(_Real):
    """Leaky ReLU ``x`` for x >= 0, ``a*x`` below (``a = 0.01`` by default, as in PyTorch);
    derivative ``Heaviside(x) + a*Heaviside(-x)``."""

    nargs = 2

    @classmethod
    def eval(cls, x, a):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return a * x
        return None

    def fdiff(self, argindex=1):
        x, a = self.args
        if argindex == 1:
            return sp.Heaviside(x) + a * sp.Heaviside(-x)
        return x * sp.Heaviside(-x)

    def _exact(self):
        x, a = self.args
        return sp.Piecewise((x, x >= 0), (a * x, True))


def _leaky_relu(x, a=LEAKY_SLOPE):
    return leaky_relu(x, a)


def _default_second(default: sp.Expr) -> Callable[[sp.Expr], tuple[str, tuple[int, ...]]]:
    """How a two-argument function is written: without its second argument when that has the
    default value (``elu(x)``, ``leaky_relu(x, 0.2)``)."""

    def written(node: sp.Expr) -> tuple[str, tuple[int, ...]]:
        second = node.args[1]
        same = second == default or (second.is_Float and float(second) == float(default))
        return type(node).__name__, (0,) if same else (0, 1)

    return written


class softsign(_Formula):
    """Softsign ``x/(1 + abs(x))``; derivative ``1/(1 + abs(x))**2``."""

    @classmethod
    def eval(cls, x):
        if x.could_extract_minus_sign():
            return -cls(-x)
        return super().eval(x)

    @classmethod
    def _formula(cls, x):
        return x / (1 + sp.Abs(x))

    def fdiff(self, argindex=1):
        return 1 / (1 + Abs(self.args[0])) ** 2


class log_sigmoid(_Formula):
    """``log(sigmoid(x)) = -softplus(-x)``; derivative ``sigmoid(-x)``."""

    AT_ZERO = -sp.log(2)

    @classmethod
    def _formula(cls, x):
        return -sp.log(1 + sp.exp(-x))

    def fdiff(self, argindex=1):
        return sigmoid(-self.args[0])


class logsumexp(_Real):
    """``log(exp(x0) + ... + exp(xn))``; its partials are the softmax outputs."""

    @classmethod
    def eval(cls, *xs):
        if len(xs) == 1:
            return xs[0]
        if all(x.is_Float for x in xs):
            top = max(xs)
            return top + sp.log(sp.Add(*[sp.exp(x - top) for x in xs]))
        return None

    def fdiff(self, argindex=1):
        return SoftmaxOutput(argindex - 1, *self.args)

    def _exact(self):
        return sp.log(sp.Add(*[sp.exp(x) for x in self.args]))


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
    written: Callable[[sp.Expr], tuple[str, tuple[int, ...]]] | None = None
    """The name and the arguments (their places) a node is written with, where not its own
    name and all of them: ``cbrt(x)`` for ``root(x, 3)``, ``elu(x)`` for ``elu(x, 1)``,
    ``Heaviside(x)`` for sympy's ``Heaviside(x, 1/2)``."""
    operator: str | None = None
    """``"^"`` for a function that is an operator by another name (``pow(a, b)``): the parser
    builds it as that operator, so the operator's bounds (literal size) apply."""

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


def _of_reciprocal(name: str, numpy_name: str, math_name: str) -> tuple[str, str]:
    """Code of an inverse reciprocal function: asec(x) is acos(1/x)."""
    return (
        _helper(name, f"return numpy.{numpy_name}(1 / x)"),
        _helper(name, f"return math.{math_name}(1 / x)"),
    )


def _nonzero(args):
    return ((args[0], "!= 0"),)


def _abs_at_least_one(args):
    return ((args[0] ** 2 - 1, ">= 0"),)


def _sum_of(*xs):
    return sp.Add(*xs)


def _mean(*xs):
    return sp.Add(*xs) / len(xs)


def _norm(*xs):
    if len(xs) == 1:  # symgrad's abs, as abs(x) is read (sympy would make its own of sqrt(x^2))
        return Abs(xs[0])
    return sp.sqrt(sp.Add(*[x**2 for x in xs]))


def _nary(cls):
    def build(*xs):
        return xs[0] if len(xs) == 1 else cls(*xs)

    return build


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

_LOGSUMEXP_NP = """\
top = xs[0]
for x in xs[1:]:
    top = numpy.maximum(top, x)
top = numpy.where(numpy.isfinite(top), top, 0.0)
total = 0.0
for x in xs:
    total = total + numpy.exp(x - top)
return top + numpy.log(total)"""

_LOGSUMEXP_PY = """\
top = max(xs)
if math.isinf(top):
    return top
return top + math.log(math.fsum(math.exp(x - top) for x in xs))"""

_LOG_SOFTMAX_NP = """\
top = xs[0]
for x in xs[1:]:
    top = numpy.maximum(top, x)
total = 0.0
for x in xs:
    total = total + numpy.exp(x - top)
return xs[k] - top - numpy.log(total)"""

_LOG_SOFTMAX_PY = """\
top = max(xs)
return xs[k] - top - math.log(math.fsum(math.exp(x - top) for x in xs))"""

_ROOT_NP = """\
if n % 2 == 1:
    return numpy.sign(x) * numpy.abs(x) ** (1.0 / n)
return numpy.power(x, 1.0 / n)"""

_ROOT_PY = """\
if n % 2 == 1:
    return math.copysign(abs(x) ** (1.0 / n), x)
return x ** (1.0 / n)"""

_ERF_NP = "return numpy.vectorize(math.erf, otypes=[float])(x)"
_GELU_NP = """\
erf = numpy.vectorize(math.erf, otypes=[float])(x / math.sqrt(2))
return x * (1 + erf) / 2"""
_ELU_NP = "return numpy.where(x > 0, x, a * numpy.expm1(numpy.minimum(x, 0)))"
_ELU_PY = "return x if x > 0 else a * math.expm1(x)"
_SELU = f"alpha, scale = {float(SELU_ALPHA)!r}, {float(SELU_SCALE)!r}\n"
_LOG_SIGMOID_NP = "return -numpy.logaddexp(0, -x)"
_LOG_SIGMOID_PY = "return min(x, 0) - math.log1p(math.exp(-abs(x)))"
_GELU_TANH = "c = math.sqrt(2 / math.pi)\nreturn x * (1 + {}.tanh(c * (x + 0.044715 * x**3))) / 2"


# fmt: off
FUNCTIONS: tuple[Function, ...] = (
    # ------------------------------------------------ exponentials, logarithms, roots, powers
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
    Function("log1p", lambda x: sp.log(1 + x), (1,), "log(1 + x)"),
    Function("expm1", lambda x: sp.exp(x) - 1, (1,), "exp(x) - 1"),
    Function("sqrt", sp.sqrt, (1,), "square root"),
    Function("cbrt", lambda x: root(x, 3), (1,), "real cube root: cbrt(-8) = -2"),
    Function(
        "root", lambda x, n=2: root(x, n), (1, 2),
        "real n-th root (n = 2 by default; odd roots of negatives are real; n may be negative)",
        ("nthRoot", "surd"), classes=(root,),
        numpy=_helper("root", _ROOT_NP, "x", "n=2"), python=_helper("root", _ROOT_PY, "x", "n=2"),
        written=_root_written, latex_text=_root_latex,
    ),
    Function("pow", sp.Pow, (2,), "pow(a, b) is a^b", ("power",), operator="^"),
    # ------------------------------------------------ absolute value and sign
    Function(
        "abs", Abs, (1,), "absolute value; derivative sign(x)", ("Abs", "fabs", "absolute"),
        classes=(Abs, sp.Abs), numpy="numpy.abs", python="abs", kink=_first,
    ),
    Function(
        "sign", sign, (1,), "sign: -1, 0 or 1", ("sgn",),
        classes=(sign, sp.sign), latex=("sgn",), numpy="numpy.sign",
        python=_helper("sign", "return (x > 0) - (x < 0)"), step=_first,
    ),
    # ------------------------------------------------ trigonometric
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
        "sinc", sp.sinc, (1,), "sin(x)/x, 1 at 0 (unnormalized, unlike numpy.sinc)",
        classes=(sp.sinc,),
        numpy=_helper("sinc", "return numpy.sinc(x / numpy.pi)"),
        python=_helper("sinc", "return math.sin(x) / x if x else 1.0"),
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
        "acot", sp.acot, (1,), "inverse cotangent, in (-pi/2, pi/2]", ("arccot",),
        classes=(sp.acot,), latex=("arccot",),
        numpy=_helper("acot", "return numpy.where(x == 0, numpy.pi / 2, numpy.arctan(1 / x))"),
        python=_helper("acot", "return math.pi / 2 if x == 0 else math.atan(1 / x)"),
    ),
    Function(
        "asec", sp.asec, (1,), "inverse secant, acos(1/x)", ("arcsec",),
        classes=(sp.asec,), latex=("arcsec",),
        numpy=_of_reciprocal("asec", "arccos", "acos")[0],
        python=_of_reciprocal("asec", "arccos", "acos")[1], domain=_abs_at_least_one,
    ),
    Function(
        "acsc", sp.acsc, (1,), "inverse cosecant, asin(1/x)", ("arccsc",),
        classes=(sp.acsc,), latex=("arccsc",),
        numpy=_of_reciprocal("acsc", "arcsin", "asin")[0],
        python=_of_reciprocal("acsc", "arcsin", "asin")[1], domain=_abs_at_least_one,
    ),
    Function(
        "atan2", sp.atan2, (2,), "atan2(y, x): angle of the point (x, y)", ("arctan2",),
        classes=(sp.atan2,), latex_out=r"\operatorname{atan2}", numpy="numpy.arctan2",
        python="math.atan2",
    ),
    # ------------------------------------------------ hyperbolic
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
        "coth", sp.coth, (1,), "hyperbolic cotangent",
        classes=(sp.coth,), latex=("coth",), numpy=_reciprocal("coth", "tanh")[0],
        python=_reciprocal("coth", "tanh")[1], domain=_nonzero,
    ),
    Function(
        "sech", sp.sech, (1,), "hyperbolic secant",
        classes=(sp.sech,), numpy=_reciprocal("sech", "cosh")[0],
        python=_reciprocal("sech", "cosh")[1],
    ),
    Function(
        "csch", sp.csch, (1,), "hyperbolic cosecant",
        classes=(sp.csch,), numpy=_reciprocal("csch", "sinh")[0],
        python=_reciprocal("csch", "sinh")[1], domain=_nonzero,
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
        "acoth", sp.acoth, (1,), "inverse hyperbolic cotangent, atanh(1/x)", ("arccoth",),
        classes=(sp.acoth,), numpy=_of_reciprocal("acoth", "arctanh", "atanh")[0],
        python=_of_reciprocal("acoth", "arctanh", "atanh")[1],
        domain=lambda args: ((args[0] ** 2 - 1, "> 0"),),
    ),
    Function(
        "asech", sp.asech, (1,), "inverse hyperbolic secant, acosh(1/x)", ("arcsech",),
        classes=(sp.asech,), numpy=_of_reciprocal("asech", "arccosh", "acosh")[0],
        python=_of_reciprocal("asech", "arccosh", "acosh")[1],
        domain=lambda args: ((args[0], "> 0"), (1 - args[0], ">= 0")),
    ),
    Function(
        "acsch", sp.acsch, (1,), "inverse hyperbolic cosecant, asinh(1/x)", ("arccsch",),
        classes=(sp.acsch,), numpy=_of_reciprocal("acsch", "arcsinh", "asinh")[0],
        python=_of_reciprocal("acsch", "arcsinh", "asinh")[1], domain=_nonzero,
    ),
    Function(
        "erf", sp.erf, (1,), "error function",
        classes=(sp.erf,), latex_out=r"\operatorname{erf}",
        numpy=_helper("erf", _ERF_NP),
        python="math.erf",
    ),
    # ------------------------------------------------ machine learning
    Function(
        "sigmoid", sigmoid, (1,), "logistic 1/(1 + e^-x); derivative sigmoid*(1 - sigmoid)",
        ("expit", "logistic"), classes=(sigmoid,), latex_out=r"\sigma",
        numpy=_helper("sigmoid", "return numpy.exp(-numpy.logaddexp(0, -x))"),
        python=_helper("sigmoid", _SIGMOID_PY),
    ),
    Function(
        "log_sigmoid", log_sigmoid, (1,), "log(sigmoid(x)) = -softplus(-x); derivative sigmoid(-x)",
        ("logsigmoid",), classes=(log_sigmoid,), latex_out=r"\operatorname{logsigmoid}",
        numpy=_helper("log_sigmoid", _LOG_SIGMOID_NP),
        python=_helper("log_sigmoid", _LOG_SIGMOID_PY),
    ),
    Function(
        "softplus", softplus, (1,), "log(1 + e^x); derivative sigmoid(x)",
        classes=(softplus,), latex_out=r"\operatorname{softplus}",
        numpy=_helper("softplus", "return numpy.logaddexp(0, x)"),
        python=_helper("softplus", "return max(x, 0) + math.log1p(math.exp(-abs(x)))"),
    ),
    Function(
        "relu", relu, (1,), "max(x, 0); derivative the step Heaviside(x)",
        classes=(relu,), latex_out=r"\operatorname{relu}",
        numpy=_helper("relu", "return numpy.maximum(x, 0)"),
        python=_helper("relu", "return max(x, 0)"), kink=_first,
    ),
    Function(
        "leaky_relu", _leaky_relu, (1, 2),
        "x for x >= 0, a*x below; a = 0.01 by default (PyTorch)", ("leakyrelu",),
        classes=(leaky_relu,),
        numpy=_helper("leaky_relu", "return numpy.where(x >= 0, x, a * x)", "x", "a=0.01"),
        python=_helper("leaky_relu", "return x if x >= 0 else a * x", "x", "a=0.01"),
        kink=_first, written=_default_second(LEAKY_SLOPE),
        latex_out=r"\operatorname{LeakyReLU}",
    ),
    Function(
        "elu", _elu, (1, 2), "x for x > 0, a*(e^x - 1) below; a = 1 by default",
        classes=(elu,),
        numpy=_helper("elu", _ELU_NP, "x", "a=1.0"), python=_helper("elu", _ELU_PY, "x", "a=1.0"),
        kink=_first, written=_default_second(sp.S.One), latex_out=r"\operatorname{ELU}",
    ),
    Function(
        "selu", selu, (1,), "scale*elu(x, alpha), PyTorch's constants alpha = 1.6732632423543772, "
        "scale = 1.0507009873554805",
        classes=(selu,), latex_out=r"\operatorname{SELU}",
        numpy=_helper("selu", _SELU + "return scale * " + _ELU_NP[7:].replace(" a *", " alpha *")),
        python=_helper("selu", _SELU + "return scale * (" + _ELU_PY[7:].replace(" a *", " alpha *")
                       + ")"),
        kink=_first,
    ),
    Function(
        "gelu", gelu, (1,), "x*(1 + erf(x/sqrt(2)))/2, the exact GELU (PyTorch's default)",
        classes=(gelu,), latex_out=r"\operatorname{GELU}",
        numpy=_helper("gelu", _GELU_NP),
        python=_helper("gelu", "return x * (1 + math.erf(x / math.sqrt(2))) / 2"),
    ),
    Function(
        "gelu_tanh", gelu_tanh, (1,),
        "x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))/2, GELU's tanh approximation",
        classes=(gelu_tanh,), latex_out=r"\operatorname{gelu\_tanh}",
        numpy=_helper("gelu_tanh", _GELU_TANH.format("numpy")),
        python=_helper("gelu_tanh", _GELU_TANH.format("math")),
    ),
    Function("silu", lambda x: x * sigmoid(x), (1,), "x*sigmoid(x)", ("swish",)),
    Function("mish", lambda x: x * sp.tanh(softplus(x)), (1,), "x*tanh(softplus(x))"),
    Function(
        "softsign", softsign, (1,), "x/(1 + abs(x)); derivative 1/(1 + abs(x))^2",
        classes=(softsign,), latex_out=r"\operatorname{softsign}",
        numpy=_helper("softsign", "return x / (1 + numpy.abs(x))"),
        python=_helper("softsign", "return x / (1 + abs(x))"),
    ),
    Function(
        "softmax", softmax, (1,),
        "vector exp(x_k)/sum(exp(x_j)); one output is softmax(a, b, c)[k], from 0",
        variadic=True, classes=(SoftmaxOutput,),
        numpy=_helper("softmax", _SOFTMAX_NP, "k", "*xs"),
        python=_helper("softmax", _SOFTMAX_PY, "k", "*xs"),
        text=_vector_text, latex_text=_vector_latex,
    ),
    Function(
        "log_softmax", log_softmax, (1,),
        "vector x_k - logsumexp(x); one output is log_softmax(a, b)[k]; derivative 1 - softmax",
        variadic=True, classes=(LogSoftmaxOutput,),
        numpy=_helper("log_softmax", _LOG_SOFTMAX_NP, "k", "*xs"),
        python=_helper("log_softmax", _LOG_SOFTMAX_PY, "k", "*xs"),
        text=_vector_text, latex_text=_vector_latex,
    ),
    Function(
        "logsumexp", logsumexp, (1,), "log(e^x0 + ... + e^xn); its partials are softmax outputs",
        variadic=True, classes=(logsumexp,), latex_out=r"\operatorname{logsumexp}",
        numpy=_helper("logsumexp", _LOGSUMEXP_NP, "*xs"),
        python=_helper("logsumexp", _LOGSUMEXP_PY, "*xs"),
    ),
    # ------------------------------------------------ of several arguments
    Function("sum", _sum_of, (1,), "x0 + ... + xn", variadic=True),
    Function("mean", _mean, (1,), "(x0 + ... + xn)/(n + 1)", variadic=True),
    Function("norm", _norm, (1,), "Euclidean norm sqrt(x0^2 + ... + xn^2)", variadic=True),
    Function("hypot", _norm, (2,), "sqrt(x^2 + y^2 + ...), as norm", variadic=True),
    Function(
        "max", _nary(sp.Max), (2,), "largest of the values", ("Max", "maximum"),
        variadic=True, classes=(sp.Max,), latex=("max",), latex_out=r"\max",
        numpy=_helper("Max", _MAX_NP.format("maximum"), "*xs"), python="max",
        kink=_difference,
    ),
    Function(
        "min", _nary(sp.Min), (2,), "smallest of the values", ("Min", "minimum"),
        variadic=True, classes=(sp.Min,), latex=("min",), latex_out=r"\min",
        numpy=_helper("Min", _MAX_NP.format("minimum"), "*xs"), python="min",
        kink=_difference,
    ),
    # ------------------------------------------------ steps
    Function(
        "Heaviside", sp.Heaviside, (1,), "unit step, 1/2 at 0 (relu's derivative)",
        ("heaviside", "step"), classes=(sp.Heaviside,), latex_out=r"\operatorname{Heaviside}",
        written=lambda node: ("Heaviside", (0,)),  # its value at 0 (1/2) is not typed
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


def _loose(name: str) -> str:
    return name.casefold().replace("_", "")


@lru_cache(maxsize=1)
def _loose_table() -> dict[str, Function]:
    table = function_table()
    return {_loose(name): entry for name, entry in reversed(table.items())}


def lookup(name: str, *, loose: bool = False) -> Function | None:
    """The entry called ``name``; with ``loose``, in any case and with or without underscores
    (``ReLU``, ``Softplus``, ``LeakyReLU``), as LaTeX writes function names.

    >>> lookup("LeakyReLU", loose=True).name
    'leaky_relu'
    """
    found = function_table().get(name)
    if found is None and loose:
        found = _loose_table().get(_loose(name))
    return found


PREFIXES = frozenset(
    "np numpy math cmath torch F jnp sp sympy tf tf.math tf.nn scipy.special special "
    "torch.nn.functional nn.functional torch.special jax.nn jax.numpy jax.scipy.special".split()
)
"""Module prefixes pasted from code that name symgrad's own functions and constants:
``np.log(x)``, ``torch.sigmoid(x)``, ``F.relu(x)``, ``math.pi``."""


def written(node: sp.Expr) -> tuple[str, tuple[int, ...]]:
    """The name and the arguments (their places) ``node`` is written with.

    >>> x = symbol("x")
    >>> written(root(x, 3)), written(elu(x, sp.S.One)), written(elu(x, sp.S(2)))
    (('cbrt', (0,)), ('elu', (0,)), ('elu', (0, 1)))
    """
    entry = entry_of(node)
    if entry is not None and entry.written is not None:
        return entry.written(node)
    return (entry.name if entry is not None else type(node).__name__), tuple(range(len(node.args)))
