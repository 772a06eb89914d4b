"""What a plot shows, as numbers: f and its partial sampled over a range, never bridging a pole.

``sample(expr, wrt, range)`` evaluates f and df/dx at evenly spaced points through the same
generated code as ``grad --at`` (so each sample equals ``grad --at`` there), finds where a line
between two neighbouring samples would cross a pole, a gap of the domain or a jump (``breaks``),
and locates the kinks (abs, relu, max, min) in the range. ``field(expr, (x, y), ...)`` samples
f and its gradient over a grid for contour and arrow pictures. Drawing is printing's job.

>>> d = sample("1/x", "x", (-1, 1), points=5)
>>> d.x, d.curves[0].values, d.curves[0].breaks
((-1.0, -0.5, 0.0, 0.5, 1.0), (-1.0, -2.0, None, 2.0, 1.0), ())
>>> sample("1/x", "x", (-1, 1), points=4).curves[0].breaks
(1,)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from symgrad.derive.partial import ExprLike, as_expr, gradient, require_scalar, variables
from symgrad.errors import InputError, VariableError
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.domain import domain_conditions, kinks
from symgrad.numeric.points import parse_point
from symgrad.results import Curve, FieldData, Kink, PlotData

DEFAULT_RANGE = (-5.0, 5.0)
POINTS = 401
"""Samples of a 1-D plot: odd, so that the middle of a symmetric range (often 0) is one."""
GRID = 41
"""Samples per axis of a 2-D field."""
MAX_POINTS = 100_001

VANISHING = 1e-3
"""|df/dx| below this counts as a vanishing gradient in a plot's notes."""


def parse_range(text: str) -> tuple[float, float]:
    """``-5:5`` as ``(-5.0, 5.0)``; the ends may be constants such as ``-pi:pi``.

    >>> parse_range("-pi:2")
    (-3.141592653589793, 2.0)
    """
    from symgrad.numeric.points import constant_value

    lo, sep, hi = text.partition(":")
    if not sep or not lo.strip() or not hi.strip():
        raise InputError(f"a range is low:high, such as -5:5, got {text.strip()!r}")
    try:
        a, b = constant_value(lo), constant_value(hi)
    except InputError as err:
        raise InputError(f"in the range {text.strip()!r}: {err.message}") from None
    except Exception as err:  # a ParseError of a bound
        raise InputError(f"in the range {text.strip()!r}: {getattr(err, 'message', err)}") from None
    return _checked_range((a, b))


def _checked_range(bounds: Sequence[float]) -> tuple[float, float]:
    a, b = (float(v) for v in bounds)
    if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
        raise InputError(f"a range needs finite low < high, got {a:g}:{b:g}")
    return a, b


def _other_values(expr: sp.Expr, plotted: Sequence[sp.Symbol], at) -> dict[sp.Symbol, float]:
    """Values of the variables that are not plotted, from ``at``."""
    given = {} if at is None else (parse_point(at) if isinstance(at, str) else dict(at))
    names = {s.name: s for s in variables(expr)}
    for name in given:
        if name not in names:
            listed = ", ".join(names) or "none"
            raise VariableError(f"'{name}' is not in {expr}; its variables are {listed}")
        if names[name] in plotted:
            raise VariableError(f"'{name}' is plotted, so it takes no value in --at")
    missing = [n for n, s in names.items() if s not in plotted and n not in given]
    if missing:
        raise VariableError(
            f"no value for {', '.join(missing)}: the plot varies only "
            f"{', '.join(v.name for v in plotted)}; fix the others with --at "
            f"(e.g. --at {','.join(f'{n}=1' for n in missing)})"
        )
    return {names[n]: float(v) for n, v in given.items()}


def _wrt(expr: sp.Expr, wrt, most: int) -> tuple[sp.Symbol, ...]:
    have = variables(expr)
    if wrt is None:
        if not have:
            raise VariableError(f"{expr} is a constant: it has no variable to plot against")
        if len(have) > most:
            listed = ", ".join(s.name for s in have)
            raise VariableError(
                f"{expr} has variables {listed}: say which to plot against, as in "
                f"--wrt {have[0].name}, and fix the others with --at"
            )
        return have
    names = wrt.split(",") if isinstance(wrt, str) else list(wrt)
    by_name = {s.name: s for s in have}
    chosen = []
    for item in names:
        name = getattr(item, "name", str(item)).strip()
        if name not in by_name:
            listed = ", ".join(by_name) or "none"
            raise VariableError(f"'{name}' is not in {expr}; its variables are {listed}")
        chosen.append(by_name[name])
    if len(set(chosen)) != len(chosen):
        raise VariableError("a variable is named twice in --wrt")
    return tuple(chosen)


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def sample(
    expr: ExprLike,
    wrt=None,
    range: Sequence[float] | str = DEFAULT_RANGE,  # noqa: A002 - the CLI's --range
    at: Mapping[str, float] | str | None = None,
    points: int = POINTS,
) -> PlotData:
    """f and df/d``wrt`` at ``points`` evenly spaced values over ``range``, the other
    variables fixed by ``at``; where a line would bridge a pole or jump, a break.

    >>> d = sample("abs(x)", "x", (-1, 1), points=3)
    >>> d.curves[1].label, d.curves[1].values, [(k.x, k.value) for k in d.kinks]
    ('df/dx', (-1.0, None, 1.0), [(0.0, 0.0)])
    """
    expr = as_expr(expr)
    require_scalar(expr, "a plot")
    chosen = _wrt(expr, [wrt] if isinstance(wrt, sp.Symbol) else wrt, 1)
    if len(chosen) != 1:
        raise VariableError("a curve plots against one variable; --wrt x,y draws a field")
    (var,) = chosen
    lo, hi = parse_range(range) if isinstance(range, str) else _checked_range(range)
    if not 2 <= points <= MAX_POINTS:
        raise InputError(f"points must be between 2 and {MAX_POINTS:,}, got {points}")
    fixed = _other_values(expr, (var,), at)
    expr_at = expr.xreplace({s: sp.Float(v) for s, v in fixed.items()}) if fixed else expr
    partial = gradient(expr, [var]).partials[0]
    xs = np.linspace(lo, hi, points)
    args = [var, *fixed]
    fn = compile_exprs([expr, partial], args)
    raw = fn(xs, *[np.full_like(xs, v) for v in fixed.values()])
    f_values, d_values = (np.array(np.broadcast_to(v, xs.shape), dtype=float) for v in raw[:2])
    outside = np.isnan(f_values)  # outside f's domain: no f, so no derivative either
    # where grad --at has no derivative (a kink whose sides differ), neither has the plot
    found = kinks(expr_at, [partial.xreplace({s: sp.Float(v) for s, v in fixed.items()})])
    on_kink = np.zeros(points, dtype=bool)
    kink_list: list[Kink] = []
    if found:
        subjects = compile_exprs([k.subject for k in found], [var])(xs)
        for k, u in zip(found, np.atleast_2d(subjects)):
            on_kink |= np.abs(u) <= 1e-12 * np.maximum(1.0, np.abs(xs))
            for x0 in _roots(compile_exprs([k.subject], [var]), xs, u):
                value = _finite(fn(x0, *fixed.values())[0])
                kink_list.append(Kink(x=x0, value=value, jump=k.step))
    d_list = [_finite(v) for v in d_values]
    if on_kink.any():
        from symgrad.numeric.evaluate import gradient_at

        grad = gradient(expr, list(variables(expr)))
        index = list(grad.wrt).index(var)
        for i in np.flatnonzero(on_kink):
            point = {var.name: float(xs[i]), **{s.name: v for s, v in fixed.items()}}
            d_list[i] = gradient_at(grad, point).gradient_value[index]
    conditions = domain_conditions(expr_at)
    # exactly on a pole a float may still come out finite (tanh(y/x) at x = 0 is tanh(inf),
    # 1): there neither f nor its derivative is drawn, as grad --at gives none
    d_conditions = domain_conditions(expr_at, partial)
    for i in _on_poles(xs, var, conditions):
        f_values[i] = d_values[i] = d_list[i] = np.nan
    for i in _on_poles(xs, var, d_conditions):
        d_values[i] = d_list[i] = np.nan
    d_values[outside] = np.nan
    for i in np.flatnonzero(outside):
        d_list[i] = None
    d_list = [None if v is None or not math.isfinite(v) else v for v in d_list]
    f_list = [_finite(v) for v in f_values]
    jumps_f = [k for k in found if k.step]
    jumps_d = list(found)  # a kink of f is a jump of df/dx
    breaks_f = _breaks(xs, f_values, var, conditions, jumps_f)
    breaks_d = _breaks(xs, d_values, var, d_conditions, jumps_d)
    label = f"df/d{var.name}"
    curves = (
        Curve("f", expr, tuple(f_list), breaks_f),
        Curve(label, partial, tuple(d_list), breaks_d),
    )
    notes = _domain_notes(outside, lo, hi)
    notes += () if outside.all() else _notes(label, d_values, lo, hi)
    return PlotData(
        expression=expr,
        wrt=(var,),
        at={s.name: v for s, v in fixed.items()},
        x=tuple(float(x) for x in xs),
        curves=curves,
        kinks=tuple(sorted(set(kink_list), key=lambda k: k.x)),
        notes=notes,
    )


def _on_poles(xs: np.ndarray, var: sp.Symbol, conditions) -> list[int]:
    """The samples exactly on a pole: where the subject of a ``!= 0`` condition is 0."""
    subjects = [
        c.subject
        for c in conditions
        if c.relation == "!= 0" and c.subject.free_symbols <= {var}
    ]
    if not subjects:
        return []
    with np.errstate(all="ignore"):
        u = np.atleast_2d(compile_exprs(subjects, [var])(xs))
    return [int(i) for i in np.flatnonzero(np.any(u == 0, axis=0))]


def _roots(fn, xs: np.ndarray, u: np.ndarray) -> list[float]:
    """Where ``u`` (sampled over ``xs``) is 0 or changes sign, refined by bisection."""
    found = []
    u = np.asarray(u, dtype=float)
    for i in range(len(xs)):
        if u[i] == 0:
            found.append(float(xs[i]))
        elif i + 1 < len(xs) and u[i] * u[i + 1] < 0:
            a, b, ua = float(xs[i]), float(xs[i + 1]), u[i]
            for _ in range(60):
                m = 0.5 * (a + b)
                um = float(fn(m)[0])
                if not math.isfinite(um) or um == 0:
                    a = b = m
                    break
                if (um < 0) == (ua < 0):
                    a, ua = m, um
                else:
                    b = m
            found.append(0.5 * (a + b))
    return found


def _breaks(xs, values, var, conditions, jumps) -> tuple[int, ...]:
    """Indices i where the segment from sample i to i + 1 must not be drawn."""
    values = np.asarray(values, dtype=float)
    cut = np.zeros(len(xs) - 1, dtype=bool)
    subjects = [c.subject for c in conditions if c.relation in ("!= 0", "> 0", ">= 0")]
    subjects += [k.subject for k in jumps]
    subjects = [s for s in subjects if var in s.free_symbols and s.free_symbols <= {var}]
    if subjects:
        # a pole or a jump sits where such a subject changes sign between two samples
        u = np.atleast_2d(compile_exprs(subjects, [var])(xs))
        with np.errstate(invalid="ignore"):
            cut |= np.any(np.sign(u[:, :-1]) * np.sign(u[:, 1:]) < 0, axis=0)
    finite = np.isfinite(values)
    both = finite[:-1] & finite[1:]
    if both.any():
        # a sign change through infinity: both sides far beyond the curve's typical size
        typical = float(np.median(np.abs(values[finite]))) if finite.any() else 1.0
        big = max(1.0, 10 * typical)
        a, b = values[:-1], values[1:]
        with np.errstate(invalid="ignore"):
            cut |= both & (a * b < 0) & (np.abs(a) > big) & (np.abs(b) > big)
    return tuple(int(i) for i in np.flatnonzero(cut & both))


def _domain_notes(outside: np.ndarray, lo: float, hi: float) -> tuple[str, ...]:
    """Where f is undefined (log(x) for x <= 0), neither f nor its derivative is drawn."""
    if outside.all():
        return (f"f is undefined everywhere in [{lo:g}, {hi:g}]: choose a --range in its domain",)
    if outside.any():
        share = outside.sum() / len(outside)
        return (f"f is undefined on {share:.0%} of [{lo:g}, {hi:g}]: nothing is drawn there",)
    return ()


def _notes(label: str, d_values: np.ndarray, lo: float, hi: float) -> tuple[str, ...]:
    finite = np.isfinite(d_values)
    if not finite.any():
        return (f"{label} is nowhere a finite real number in [{lo:g}, {hi:g}]",)
    small = finite & (np.abs(d_values) < VANISHING)
    share = small.sum() / len(d_values)
    largest = float(np.max(np.abs(d_values[finite])))
    if largest >= VANISHING and share >= 0.5:
        return (
            f"|{label}| < {VANISHING:g} on {share:.0%} of [{lo:g}, {hi:g}]: the gradient "
            f"vanishes there (at most {largest:.3g})",
        )
    return ()


def field(
    expr: ExprLike,
    wrt=None,
    range: Sequence | str = DEFAULT_RANGE,  # noqa: A002 - the CLI's --range
    at: Mapping[str, float] | str | None = None,
    points: int = GRID,
) -> FieldData:
    """f and its gradient on a ``points`` x ``points`` grid over ``range`` (one range for both
    variables, or ``"-2:2,-1:3"``), the other variables fixed by ``at``.

    >>> d = field("x^2 + y^2", "x,y", (-1, 1), points=3)
    >>> d.f[0], d.gradient[0][1], d.gradient[1][0]
    ((2.0, 1.0, 2.0), (-2.0, 0.0, 2.0), (-2.0, -2.0, -2.0))
    """
    expr = as_expr(expr)
    require_scalar(expr, "a plot")
    chosen = _wrt(expr, [wrt] if isinstance(wrt, sp.Symbol) else wrt, 2)
    if len(chosen) != 2:
        raise VariableError("a field needs two variables, as in --wrt x,y")
    xr, yr = _two_ranges(range)
    if not 2 <= points <= 1001:
        raise InputError(f"points must be between 2 and 1,001, got {points}")
    fixed = _other_values(expr, chosen, at)
    grad = gradient(expr, chosen)
    xs, ys = np.linspace(*xr, points), np.linspace(*yr, points)
    gx, gy = np.meshgrid(xs, ys)
    fn = compile_exprs([expr, *grad.partials], [*chosen, *fixed])
    raw = fn(gx, gy, *[np.full_like(gx, v) for v in fixed.values()])

    def grid(a: np.ndarray) -> tuple:
        return tuple(tuple(_finite(v) for v in row) for row in a)

    return FieldData(
        expression=expr,
        wrt=chosen,
        at={s.name: v for s, v in fixed.items()},
        x=tuple(float(v) for v in xs),
        y=tuple(float(v) for v in ys),
        f=grid(raw[0]),
        gradient=(grid(raw[1]), grid(raw[2])),
        partials=grad.partials,
    )


def _two_ranges(range) -> tuple[tuple[float, float], tuple[float, float]]:  # noqa: A002
    if isinstance(range, str):
        from symgrad.numeric.points import split_top_level

        parts = split_top_level(range)
        if len(parts) == 1:
            r = parse_range(parts[0])
            return r, r
        if len(parts) == 2:
            return parse_range(parts[0]), parse_range(parts[1])
        raise InputError(f"a field takes one range or two (x then y), got {range!r}")
    if len(range) == 2 and not isinstance(range[0], (tuple, list)):
        r = _checked_range(range)
        return r, r
    return _checked_range(range[0]), _checked_range(range[1])


def around_path(result, points: int | None = None) -> PlotData | FieldData | None:
    """The data to draw a descent path over: f over the path's range (one variable), or its
    contours over the path's box (two); None for more variables (the picture is f by step).

    >>> from symgrad.numeric.descend import descend
    >>> data = around_path(descend("(x - 1)^2", "x=3", lr=0.1))
    >>> round(data.x[0], 2), round(data.x[-1], 2)
    (0.6, 3.4)
    """
    if len(result.wrt) > 2:
        return None
    fixed: dict = {}
    spans = []
    for k in range(len(result.wrt)):
        values = [s.point[k] for s in result.path if math.isfinite(s.point[k])]
        lo, hi = min(values), max(values)
        margin = 0.2 * (hi - lo) or 1.0  # a path that never moved still gets a window
        spans.append((lo - margin, hi + margin))
    if len(result.wrt) == 1:
        return sample(result.expression, result.wrt, spans[0], fixed, points or POINTS)
    return field(result.expression, result.wrt, spans, fixed, points or GRID)
