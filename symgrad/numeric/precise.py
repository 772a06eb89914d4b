"""Values at high precision (mpmath), where a float cannot decide.

Floats decide almost every point; a few they cannot: a value that rounded to 0 or overflowed
(is ``1 - sigmoid(40)`` zero?), two formulas that differ by less than their rounding error, a
point that may sit exactly on a pole or a kink. Those few are decided here, with real
semantics: a value is a finite real number or undefined (``None``): the logarithm of a
negative, a root of a negative, a pole. mpmath numbers have an unbounded exponent, so
``exp(800)`` is a number here, not an overflow.

The tree is walked in topological order (no recursion per level); nothing is parsed and no
user text is evaluated. Functions of the table that this module does not spell are evaluated
by sympy's own ``evalf`` on their numeric arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import mpmath
import sympy as sp

from symgrad.functions import SoftmaxOutput, relu, sigmoid, softplus

DPS = 50
"""Decimal digits of the usual precise evaluation: far more than any cancellation a float
point of symgrad's sampling can produce."""


class _Undefined(Exception):
    """Not a finite real number here."""


def _real(ctx, value):
    """``value`` as a finite real mpf, or _Undefined."""
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise _Undefined
        value = value.real
    if not ctx.isfinite(value):
        raise _Undefined
    return value


def _log(ctx, x):
    if x <= 0:
        raise _Undefined
    return ctx.log(x)


def _pow(ctx, node, base, exponent):
    if node.exp.is_Integer:
        n = int(node.exp)
        if base == 0 and n < 0:
            raise _Undefined
        return ctx.power(base, n)
    if base > 0:
        return ctx.power(base, exponent)
    if base == 0:
        if exponent > 0:
            return ctx.zero
        raise _Undefined
    if not node.exp.is_Number and exponent == ctx.floor(exponent):
        return ctx.power(base, int(exponent))  # x^y with y a whole number here
    raise _Undefined  # a root of a negative number is not real


def _unit(ctx, x, closed=True):
    if abs(x) > 1 or (not closed and abs(x) == 1):
        raise _Undefined
    return x


def _nonzero(x):
    if x == 0:
        raise _Undefined
    return x


def _heaviside(ctx, x, at0=None):
    if x > 0:
        return ctx.one
    if x < 0:
        return ctx.zero
    if at0 is None:
        raise _Undefined
    return at0


def _atan2(ctx, y, x):
    if x == 0 and y == 0:
        raise _Undefined
    return ctx.atan2(y, x)


def _sigmoid(ctx, x):
    return 1 / (1 + ctx.exp(-x))


def _softmax(ctx, k, *xs):
    k = int(k)
    return 1 / ctx.fsum(ctx.exp(x - xs[k]) for x in xs)


def _dirac(ctx, x, k=None):
    if x == 0:
        raise _Undefined
    return ctx.zero


# sympy class -> how to compute it from the mpf values of its arguments
_OPS: dict[type, Callable] = {
    sp.exp: lambda ctx, x: ctx.exp(x),
    sp.log: _log,
    sp.sin: lambda ctx, x: ctx.sin(x),
    sp.cos: lambda ctx, x: ctx.cos(x),
    sp.tan: lambda ctx, x: ctx.sin(x) / _nonzero(ctx.cos(x)),
    sp.cot: lambda ctx, x: ctx.cos(x) / _nonzero(ctx.sin(x)),
    sp.sec: lambda ctx, x: 1 / _nonzero(ctx.cos(x)),
    sp.csc: lambda ctx, x: 1 / _nonzero(ctx.sin(x)),
    sp.asin: lambda ctx, x: ctx.asin(_unit(ctx, x)),
    sp.acos: lambda ctx, x: ctx.acos(_unit(ctx, x)),
    sp.atan: lambda ctx, x: ctx.atan(x),
    sp.atan2: _atan2,
    sp.sinh: lambda ctx, x: ctx.sinh(x),
    sp.cosh: lambda ctx, x: ctx.cosh(x),
    sp.tanh: lambda ctx, x: ctx.tanh(x),
    sp.asinh: lambda ctx, x: ctx.asinh(x),
    sp.acosh: lambda ctx, x: ctx.acosh(x) if x >= 1 else _raise(),
    sp.atanh: lambda ctx, x: ctx.atanh(_unit(ctx, x, closed=False)),
    sp.Abs: lambda ctx, x: abs(x),
    sp.sign: lambda ctx, x: ctx.sign(x),
    sp.Heaviside: _heaviside,
    sp.DiracDelta: _dirac,
    sp.Max: lambda ctx, *xs: max(xs),
    sp.Min: lambda ctx, *xs: min(xs),
    sp.erf: lambda ctx, x: ctx.erf(x),
    sigmoid: _sigmoid,
    relu: lambda ctx, x: max(x, ctx.zero),
    softplus: lambda ctx, x: ctx.log1p(ctx.exp(x)) if x < 0 else x + ctx.log1p(ctx.exp(-x)),
    SoftmaxOutput: _softmax,
}


def _raise():
    raise _Undefined


def _op(node: sp.Expr) -> Callable | None:
    kind = type(node)
    for cls in kind.__mro__:
        op = _OPS.get(cls)
        if op is not None:
            return op
    return None


def _atom(ctx, node: sp.Expr, point: Mapping[sp.Symbol, object]):
    if node.is_Symbol:
        if node not in point:
            raise _Undefined
        return ctx.mpf(point[node])
    if node.is_Integer:
        return _exact(ctx, int(node))
    if node.is_Rational:
        return _exact(ctx, int(node.p)) / _exact(ctx, int(node.q))
    if node.is_Float:
        return ctx.mpf(node._mpf_)
    if node is sp.pi:
        return +ctx.pi
    if node is sp.E:
        return +ctx.e
    if node.is_Number or node.is_NumberSymbol:
        return _by_evalf(ctx, node)
    raise _Undefined  # zoo, nan, an unevaluated object


def _exact(ctx, n: int):
    """``n`` as an mpf, or undefined where the precision cannot hold it exactly: 10^3000
    rounded to 50 digits has lost its last ones, and sin of it could be any number."""
    odd = abs(n) >> max(0, (abs(n) & -abs(n)).bit_length() - 1)
    if odd.bit_length() > ctx.prec:
        raise _Undefined
    return ctx.mpf(n)


def _by_evalf(ctx, node: sp.Expr, args=()):
    """A node sympy knows how to evaluate but this module does not spell: sympy's evalf on
    numeric arguments (never on text)."""
    if args:
        numbers = [a if a.is_Number else sp.Float(v, ctx.dps) for a, v in zip(node.args, args)]
        node = node.func(*numbers)
    value = node.evalf(ctx.dps)
    if not value.is_Number:
        raise _Undefined
    if not value.is_real:
        raise _Undefined
    return _real(ctx, ctx.mpf(sp.Float(value, ctx.dps)._mpf_))


def context(dps: int) -> mpmath.ctx_mp.MPContext:
    """A private mpmath context with ``dps`` digits: mpmath's global one is shared by every
    thread of the process."""
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


def evaluate(
    exprs: Sequence[sp.Expr], point: Mapping[sp.Symbol, object], dps: int = DPS
) -> list[mpmath.mpf | None]:
    """Each expression at ``point`` (symbol -> float, mpf or int) with ``dps`` digits: an mpf,
    or None where it is not a finite real number.

    >>> from symgrad import parse
    >>> from symgrad.functions import symbol
    >>> z = symbol("z")
    >>> [float(v) for v in evaluate([parse("1 - sigmoid(z)")], {z: 40.0})]
    [4.248354255291589e-18]
    >>> evaluate([parse("log(z)")], {z: -1.0})
    [None]
    """
    from symgrad.derive.reverse import topological

    ctx = context(dps)
    values: dict[sp.Expr, object] = {}

    def value_of(node):
        if node.args:
            return values[node]
        found = values.get(node)
        if found is None:
            try:
                found = _atom(ctx, node, point)
            except _Undefined:
                found = _UNDEFINED
            values[node] = found
        return found

    for node in topological(list(exprs)):
        args = [value_of(a) for a in node.args]
        if any(a is _UNDEFINED for a in args):
            values[node] = _UNDEFINED
            continue
        try:
            values[node] = _node_value(ctx, node, args)
        except (_Undefined, ZeroDivisionError, ValueError, OverflowError, TypeError):
            values[node] = _UNDEFINED
    out = []
    for expr in exprs:
        found = value_of(expr)
        out.append(None if found is _UNDEFINED else found)
    return out


_UNDEFINED = object()


def _node_value(ctx, node, args):
    if node.is_Add:
        return _real(ctx, ctx.fsum(args))
    if node.is_Mul:
        return _real(ctx, ctx.fprod(args))
    if node.is_Pow:
        return _real(ctx, _pow(ctx, node, *args))
    op = _op(node)
    if op is not None:
        return _real(ctx, op(ctx, *args))
    return _by_evalf(ctx, node, args)


def values(exprs: Sequence[sp.Expr], point: Mapping[sp.Symbol, object], dps: int = DPS):
    """``evaluate`` as floats: None where undefined, and ``inf`` with the right sign where
    the value is a real number too large for a float."""
    return [None if v is None else _as_float(v) for v in evaluate(exprs, point, dps)]


def _as_float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, float(mpmath.sign(value)))


def sign_at(expr: sp.Expr, exact: Mapping[sp.Symbol, sp.Expr]) -> int | None:
    """The sign of ``expr`` at a point given exactly (``x = pi/2``): -1, 0 or 1, and None
    where it is undefined. Zero is decided exactly where sympy can (``cos(pi/2)`` is 0),
    else by agreement of two precisions."""
    value = expr.xreplace(dict(exact))
    if value.is_zero is True:
        return 0
    if value.free_symbols:
        return None
    found = []
    for dps in (DPS, 2 * DPS):
        v = evaluate([value], {}, dps)[0]
        if v is None:
            return None
        found.append(v)
    low, high = found
    if high == 0 or abs(high - low) > abs(high) * mpmath.mpf(10) ** (-DPS // 2):
        # twice the digits and the value is not the same number: what is left is the
        # rounding of a cancellation to nothing (cos(pi/2) computed with 50 and 100 digits)
        return 0
    return int(mpmath.sign(high))
