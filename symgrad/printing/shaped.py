"""What the formats share for vectors and matrices: the shapes line, nested numbers, entries.

The renderers themselves are in each format's module (text, json, latex, pretty), next to
the scalar ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from symgrad.notation import fmt_number


def dims_text(shape) -> str:
    """A shape as ``--shape`` writes it: ``m,n``, ``n`` (a vector), ``1,n`` (a row)."""
    rows, cols = shape
    return f"{rows}" if cols == 1 else f"{rows},{cols}"


def shape_json(shape) -> list:
    """``[]`` a scalar, ``["n"]`` a vector, ``["m", "n"]`` a matrix, ``[1, "n"]`` a row."""
    from symgrad.parsing.matrix_shapes import shape_json as as_json

    return as_json(tuple(shape))


def shape_label(shape) -> str:
    """``m×n``, ``n`` (a vector), ``1×n``, ``scalar``."""
    from symgrad.parsing.matrix_shapes import shape_text

    return shape_text(tuple(shape))


def shapes_spec(shapes: Mapping) -> str:
    """The ``--shape`` value that gives these shapes: ``X=m,n; w=n`` (scalars left out)."""
    return "; ".join(f"{name}={dims_text(s)}" for name, s in shapes.items() if tuple(s) != (1, 1))


def nested_text(value) -> str:
    """Numbers in a variable's shape: ``2``, ``[1, 2]``, ``[[1, 0], [0, 1]]``; undefined ones
    as ``undefined``."""
    if isinstance(value, list):
        return "[" + ", ".join(nested_text(v) for v in value) + "]"
    return fmt_number(value)


def point_text(point: Mapping) -> str:
    """``X=[[1, 0], [0, 1]], w=[1, 2]``."""
    return ", ".join(f"{name}={nested_text(v)}" for name, v in point.items())


def dims_note(dims: Mapping) -> str:
    """`` (m=5, n=3)``, or nothing without named sizes."""
    return f" ({', '.join(f'{d}={n}' for d, n in dims.items())})" if dims else ""


def entry_label(entry, shape) -> str:
    """An entry of a variable: ``[2]`` of a vector, ``[1, 2]`` of a matrix (from 0)."""
    i, j = entry
    rows, cols = shape
    if cols == 1:
        return f"[{i}]"
    if rows == 1:
        return f"[{j}]"
    return f"[{i}, {j}]"


def small(point: Mapping, limit: int = 12) -> bool:
    """A point small enough to print in a line of text (the full point is in the JSON)."""

    def count(v) -> int:
        return sum(count(x) for x in v) if isinstance(v, list) else 1

    return sum(count(v) for v in point.values()) <= limit
