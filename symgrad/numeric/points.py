"""Points typed by a user (``--at w=1,x=2``) and the values they give each variable.

A value is kept exactly as well as as a float: ``x=pi/2`` is a pole of ``tan(x)`` exactly,
though its float is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import sympy as sp

from symgrad.derive.partial import variables
from symgrad.errors import InputError, LimitError, ParseError, VariableError
from symgrad.functions import constants, normalize_name
from symgrad.numeric.compile import compile_exprs
from symgrad.parsing import parse

Point = dict[str, float]


def split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: ``x=atan2(1,2),y=3`` has two items."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


def constant_value(text: str) -> float:
    """The value of a constant typed by a user (``0.5``, ``-pi/2``, ``e^2``)."""
    return constant(text)[1]


def constant(text: str) -> tuple[sp.Expr, float]:
    """A constant typed by a user, exactly (``pi/2``) and as a float."""
    expr = parse(text)
    if expr.free_symbols:
        names = ", ".join(sorted(s.name for s in expr.free_symbols))
        raise InputError(f"{text.strip()!r} is not a number: it holds the name {names}")
    value = float(compile_exprs([expr], [])()[0])
    if math.isinf(value):
        raise InputError(f"{text.strip()!r} is beyond the range of a double (about ±1.8e308)")
    if not math.isfinite(value):
        raise InputError(f"{text.strip()!r} is not a finite real number")
    return expr, value


def parse_point(text: str) -> Point:
    """``w=1,x=2`` as ``{"w": 1.0, "x": 2.0}``; values may be constants such as ``pi/4``.

    >>> parse_point("w=1, x=-0.5, θ=pi")
    {'w': 1.0, 'x': -0.5, 'theta': 3.141592653589793}
    """
    return {name: value for name, (_, value) in _parse_exact(text).items()}


def _parse_exact(text: str, option: str = "--at") -> dict[str, tuple[sp.Expr, float]]:
    point: dict[str, tuple[sp.Expr, float]] = {}
    for item in split_top_level(text):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        name = normalize_name(name.strip())
        if not eq or not name or not value.strip():
            raise InputError(
                f"expected name=value in {option}, got {item.strip()!r} (e.g. {option} w=1,x=2)"
            )
        _not_a_constant(name, option)
        if name in point:
            raise InputError(f"'{name}' is given twice in {option}")
        try:
            point[name] = constant(value)
        except ParseError as err:
            raise InputError(
                f"the value of {name} in {option} is not a number: {err.message}"
            ) from None
        except InputError as err:
            raise InputError(f"the value of {name} in {option}: {err.message}") from None
        except LimitError as err:
            if _magnitude(value) == math.inf:  # 1e400: as 10^400 too, no double holds it
                raise InputError(
                    f"the value of {name} in {option}, {value.strip()!r}, is beyond the range "
                    "of a double (about ±1.8e308)"
                ) from None
            raise LimitError(f"the value of {name} in {option}: {err.message}") from None
    if not point:
        raise InputError(f"{option} needs values, e.g. {option} w=1,x=2")
    return point


def _magnitude(text: str) -> float | None:
    try:
        return abs(float(text))
    except ValueError:
        return None


def _not_a_constant(name: str, option: str = "--at") -> None:
    if name in constants():
        what = "the number 3.14159..." if name == "pi" else "Euler's number 2.71828..."
        raise InputError(
            f"{name} is {what}, not a variable: it takes no value in {option}; give values "
            "to the variables only"
        )


def point_values(
    expr: sp.Expr,
    at: Mapping[str, float] | str,
    optional: Sequence[sp.Symbol] = (),
    option: str = "--at",
) -> dict[sp.Symbol, float]:
    """Bind each variable of ``expr`` to its value in ``at``; a missing or unknown name is an
    error naming it (and the option, ``--at`` or ``--from``, that gives the values).
    ``optional`` variables (a --wrt name that does not appear in ``expr``) may be given too:
    ``expr`` does not depend on them."""
    return exact_point(expr, at, optional, option)[0]


def exact_point(
    expr: sp.Expr,
    at: Mapping[str, float] | str,
    optional: Sequence[sp.Symbol] = (),
    option: str = "--at",
) -> tuple[dict[sp.Symbol, float], dict[sp.Symbol, sp.Expr]]:
    """``point_values``, and the same values exactly as typed (``pi/2``, not 1.5707963...)."""
    if isinstance(at, str):
        typed = _parse_exact(at, option)
    else:
        typed = {}
        for k, v in at.items():
            name = normalize_name(k)
            _not_a_constant(name, option)
            if isinstance(v, str):  # as typed in the option: "pi/2"
                typed[name] = _parse_exact(f"{name}={v}", option)[name]
            else:
                number = _as_float(name, v, option)
                typed[name] = (v if isinstance(v, sp.Expr) else sp.Float(number), number)
    have = variables(expr)
    extra = [s for s in dict.fromkeys(optional) if s not in have]
    names = {s.name for s in have} | {s.name for s in extra}
    unknown = [n for n in typed if n not in names]
    if unknown:
        listed = ", ".join(s.name for s in have) or "none"
        raise VariableError(f"'{unknown[0]}' is not in {expr}; its variables are {listed}")
    missing = [s.name for s in have if s.name not in typed]
    if missing:
        which = ", ".join(missing)
        raise VariableError(
            f"no value for {which} in {option}: give every variable of {expr} a value "
            f"(e.g. {option} {','.join(f'{s.name}=1' for s in have)})"
        )
    given = [*have, *(s for s in extra if s.name in typed)]
    return {s: typed[s.name][1] for s in given}, {s: typed[s.name][0] for s in given}


def _as_float(name: str, value, option: str) -> float:
    """A number passed from Python (``g.at(x=2)``) as a float, or an InputError saying why not."""
    try:
        number = float(value)
    except OverflowError:
        raise InputError(
            f"the value of {name} in {option} is beyond the range of a double (about ±1.8e308)"
        ) from None
    except (TypeError, ValueError):
        raise InputError(
            f"the value of {name} in {option} must be a number, got {value!r}"
        ) from None
    if not math.isfinite(number):
        raise InputError(f"the value of {name} in {option} is not a finite real number")
    return number


def finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
