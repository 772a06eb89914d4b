"""Points typed by a user (``--at w=1,x=2``) and the values they give each variable."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import sympy as sp

from symgrad.derive.partial import variables
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import normalize_name
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
    expr = parse(text)
    if expr.free_symbols:
        names = ", ".join(sorted(s.name for s in expr.free_symbols))
        raise InputError(f"a value must be a number, but {text.strip()!r} contains {names}")
    value = float(compile_exprs([expr], [])()[0])
    if not math.isfinite(value):
        raise InputError(f"{text.strip()!r} is not a finite real number")
    return value


def parse_point(text: str) -> Point:
    """``w=1,x=2`` as ``{"w": 1.0, "x": 2.0}``; values may be constants such as ``pi/4``.

    >>> parse_point("w=1, x=-0.5, θ=pi")
    {'w': 1.0, 'x': -0.5, 'theta': 3.141592653589793}
    """
    point: Point = {}
    for item in split_top_level(text):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        name = normalize_name(name.strip())
        if not eq or not name or not value.strip():
            raise InputError(
                f"expected name=value in --at, got {item.strip()!r} (e.g. --at w=1,x=2)"
            )
        if name in point:
            raise InputError(f"'{name}' is given twice in --at")
        try:
            point[name] = constant_value(value)
        except ParseError as err:
            raise InputError(
                f"the value of {name} in --at is not a number: {err.message}"
            ) from None
    if not point:
        raise InputError("--at needs values, e.g. --at w=1,x=2")
    return point


def point_values(
    expr: sp.Expr, at: Mapping[str, float] | str, optional: Sequence[sp.Symbol] = ()
) -> dict[sp.Symbol, float]:
    """Bind each variable of ``expr`` to its value in ``at``; a missing or unknown name is an
    error naming it. ``optional`` variables (a --wrt name that does not appear in ``expr``)
    may be given too: ``expr`` does not depend on them."""
    point = (
        parse_point(at)
        if isinstance(at, str)
        else {normalize_name(k): float(v) for k, v in at.items()}
    )
    have = variables(expr)
    extra = [s for s in dict.fromkeys(optional) if s not in have]
    names = {s.name for s in have} | {s.name for s in extra}
    unknown = [n for n in point if n not in names]
    if unknown:
        listed = ", ".join(s.name for s in have) or "none"
        raise VariableError(f"'{unknown[0]}' is not in {expr}; its variables are {listed}")
    missing = [s.name for s in have if s.name not in point]
    if missing:
        which = ", ".join(missing)
        raise VariableError(
            f"no value for {which} in --at: give every variable of {expr} a value "
            f"(e.g. --at {','.join(f'{s.name}=1' for s in have)})"
        )
    return {
        **{s: point[s.name] for s in have},
        **{s: point[s.name] for s in extra if s.name in point},
    }


def finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
