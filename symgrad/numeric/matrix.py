"""Numbers for shaped expressions: points given as nested lists (``--at @point.json``),
compiled numpy functions, and a gradient evaluated at a point.

>>> from symgrad.derive.matrix import matrix_gradient
>>> g = matrix_gradient("norm2(X*w - y)^2", "X=m,n; w=n; y=m", wrt="w")
>>> r = evaluate_matrix_gradient(g, {"X": [[1, 0], [0, 1], [1, 1]], "w": [1, 2], "y": [0, 0, 0]})
>>> r.value, r.gradient_value, r.dims
(14.0, ([8.0, 10.0],), {'m': 3, 'n': 2})
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from symgrad.derive.matrix import expand_refs
from symgrad.errors import InputError, VariableError
from symgrad.functions import normalize_name
from symgrad.numeric.matrix_code import body_lines, module_source
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_shapes import MAX_DIM, Shape, shape_text
from symgrad.parsing.matrix_tree import Node
from symgrad.results import (
    MatrixGradient,
    MatrixGradientAt,
    MatrixJacobian,
    MatrixJacobianAt,
    Nested,
)

MAX_POINT_CHARS = 50_000_000
MAX_ENTRIES = 10_000_000  # numbers in one point file


# ---------------------------------------------------------------- compiled functions


class Compiled:
    """``outputs`` as one numpy function of the ``variables``' arrays (``(..., rows,
    cols)``; a leading stack of points broadcasts), every shared node computed once.

    Calling it returns one array per output, broadcast to the stack's shape, ``nan`` where
    a value is not real.
    """

    def __init__(self, outputs: Sequence[Node], variables: Sequence[Node], dims: Mapping):
        self.outputs = list(outputs)
        self.variables = list(variables)
        self.dims = dict(dims)
        params = {v: f"a{i}" for i, v in enumerate(self.variables)}
        lines, codes, helpers = body_lines(self.outputs, params, self.dims)
        result = "(" + "".join(f"{c}, " for c in codes) + ")"
        self.source = module_source("compiled", list(params.values()), lines, result, helpers)
        namespace: dict = {}
        # the source is generated from the tree (fixed templates, names a0, a1, ...): no
        # user text reaches it
        exec(compile(self.source, "<symgrad.matrix>", "exec"), namespace)  # noqa: S102
        self.function = namespace["compiled"]

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        stack = np.broadcast_shapes(*(a.shape[:-2] for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            try:
                raw = self.function(*arrays)
            except (OverflowError, ZeroDivisionError, ValueError, FloatingPointError):
                raw = [np.nan] * len(self.outputs)
        out = []
        for node, value in zip(self.outputs, raw):
            value = np.asarray(value)
            if np.iscomplexobj(value):
                value = np.where(value.imag == 0, value.real, np.nan)
            shape = (*stack, *(self.dims.get(d, d) for d in node.shape))
            out.append(np.broadcast_to(value.astype(float, copy=False), shape))
        return out


# ---------------------------------------------------------------- points


def load_point(source: str | Mapping) -> dict[str, Nested]:
    """A point from ``@file.json`` (or a path ending in .json, JSON text, ``name=value`` pairs
    whose values are numbers, constants or JSON lists, or a mapping): each variable's value, a
    number or nested lists in its shape.

    >>> load_point('{"w": [1, 2], "s": 0.5}')
    {'w': [1, 2], 's': 0.5}
    >>> load_point("w=[1, 2], A=[[1, 0], [0, 1]], s=pi/4")
    {'w': [1, 2], 'A': [[1, 0], [0, 1]], 's': 0.7853981633974483}
    """
    if isinstance(source, Mapping):
        data = dict(source)
    elif _pairs(source):
        data = _pairs(source)
    else:
        text = source.strip()
        if text.startswith("@") or (text.endswith(".json") and not text.startswith("{")):
            path = Path(text[1:] if text.startswith("@") else text)
            try:
                if path.stat().st_size > MAX_POINT_CHARS:
                    raise InputError(f"{path} is larger than {MAX_POINT_CHARS:,} bytes")
                text = path.read_text(encoding="utf-8")
            except OSError as err:
                raise InputError(f"cannot read the point file {path}: {err.strerror}") from None
            except UnicodeDecodeError:
                raise InputError(f"{path} is not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(
                f"the point is not JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
                'give an object such as {"X": [[1, 2], [3, 4]], "w": [1, 0]}'
            ) from None
    if not isinstance(data, dict):
        raise InputError('a point is a JSON object of values, such as {"w": [1, 0], "s": 2}')
    return {normalize_name(str(k)): v for k, v in data.items()}


def _pairs(text: str) -> dict[str, Nested] | None:
    """``w=[1, 2], s=0.5`` as a mapping; None for text that is not name=value pairs."""
    text = text.strip()
    if not text or text[0] in "{@[" or "=" not in text or text.endswith(".json"):
        return None
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    point: dict[str, Nested] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = normalize_name(name.strip())
        if not eq or not name or not value.strip():
            raise InputError(
                f"expected name=value in --at, got {item.strip()!r} (e.g. --at 'w=[1, 2], s=0.5' "
                "or --at @point.json)"
            )
        if name in point:
            raise InputError(f"'{name}' is given twice in --at")
        value = value.strip()
        if value.startswith("["):
            try:
                point[name] = json.loads(value)
            except json.JSONDecodeError:
                raise InputError(
                    f"the value of {name} in --at, {value}, is not a list of numbers (JSON, as "
                    "in [1, 2.5]; nan and inf are not numbers)"
                ) from None
        else:
            from symgrad.errors import ParseError
            from symgrad.numeric.points import constant_value

            try:
                point[name] = constant_value(value)
            except ParseError as err:
                raise InputError(
                    f"the value of {name} in --at is not a number: {err.message}"
                ) from None
    return point


def _array(name: str, value: Nested) -> np.ndarray:
    """A JSON value as a float array of 0, 1 or 2 dimensions, checked."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, dict)):
        raise InputError(f"the value of {name} must be a number or nested lists of numbers")
    try:
        array = np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        raise InputError(
            f"the value of {name} is not a number or a rectangular list of lists of numbers"
        ) from None
    if array.size > MAX_ENTRIES or any(s > MAX_DIM for s in array.shape):
        raise InputError(f"the value of {name} is too large ({array.size:,} numbers)")
    if array.ndim > 2:
        raise InputError(f"the value of {name} has {array.ndim} dimensions; give 1 or 2")
    if not np.all(np.isfinite(array)):
        raise InputError(f"the value of {name} has a number that is not finite")
    return array


def point_arrays(
    variables: Sequence[Node], point: Mapping[str, Nested], dims: Mapping[str, int] = {}
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Each variable's value as a ``(rows, cols)`` array, and the sizes they give the named
    dimensions; a missing value, an unknown name or a size that disagrees is an error."""
    names = [v.name for v in variables]
    unknown = [k for k in point if k not in names]
    if unknown:
        raise VariableError(
            f"'{unknown[0]}' in --at is not a variable of the expression; its variables are "
            f"{', '.join(names) or 'none'}"
        )
    missing = [n for n in names if n not in point]
    if missing:
        raise VariableError(
            f"no value for {', '.join(missing)} in --at: give every variable of the expression "
            "a value (a number, a list for a vector, a list of lists for a matrix)"
        )
    bound: dict[str, int] = dict(dims)
    where: dict[str, str] = {}
    arrays: dict[str, np.ndarray] = {}
    for v in variables:
        array = _array(v.name, point[v.name])
        arrays[v.name] = _shaped(v, array, bound, where)
    return arrays, bound


def _shaped(v: Node, array: np.ndarray, bound: dict, where: dict) -> np.ndarray:
    rows, cols = v.shape
    if v.is_scalar:
        if array.size != 1:
            raise InputError(
                f"{v.name} is a scalar, but its value in --at has {array.size} numbers"
            )
        return array.reshape(1, 1)
    if cols == 1 or rows == 1:
        if array.ndim == 2 and 1 not in array.shape:
            raise InputError(
                f"{v.name} is {E._shape_words(v.shape)}, but its value in --at is a "
                f"{array.shape[0]}×{array.shape[1]} matrix"
            )
        flat = array.reshape(-1)
        sizes = (flat.size, 1) if cols == 1 else (1, flat.size)
        array = flat.reshape(sizes)
    elif array.ndim != 2:
        raise InputError(
            f"{v.name} is a {shape_text(v.shape)} matrix: give its value as a list of rows"
        )
    for d, size in zip(v.shape, array.shape):
        if isinstance(d, int):
            if d != size:
                raise InputError(
                    f"{v.name} is {shape_text(v.shape)}, but its value in --at is "
                    f"{array.shape[0]}×{array.shape[1]}"
                )
        elif d in bound and bound[d] != size:
            first = where.get(d, "--dims")
            raise InputError(
                f"the size {d} is {bound[d]} by {first} but {size} by {v.name} "
                f"({shape_text(v.shape)}) in --at"
            )
        else:
            bound[d] = size
            where[d] = v.name
    return array


def nested(array: np.ndarray, shape: Shape) -> Nested:
    """An array in a variable's shape as JSON-ready values: a float for a scalar, a list for
    a vector (row or column), lists of rows for a matrix; None where not finite."""

    def clean(x: float):
        x = float(x)
        return x if math.isfinite(x) else None

    array = np.asarray(array, dtype=float)
    if shape == (1, 1):
        return clean(array.reshape(-1)[0])
    if shape[0] == 1 or shape[1] == 1:
        return [clean(x) for x in array.reshape(-1)]
    return [[clean(x) for x in row] for row in array.reshape(array.shape[-2], array.shape[-1])]


def has_none(value: Nested) -> bool:
    if isinstance(value, list):
        return any(has_none(v) for v in value)
    return value is None


# ---------------------------------------------------------------- a gradient at a point


def evaluate_matrix_gradient(
    grad: MatrixGradient, at: str | Mapping[str, Nested], dims: Mapping[str, int] | None = None
) -> MatrixGradientAt:
    """The value and every partial of ``grad`` at ``at`` (``@point.json``, JSON text or a
    mapping of names to numbers and nested lists); ``dims`` gives the sizes no array gives
    (``n`` in ``sum(ones(n))``)."""
    point = load_point(at)
    # every variable of the expression, and a --wrt name that is not in it (its partial is
    # zero, in a shape its value gives)
    variables = [E.sym(n, s) for n, s in grad.shapes.items()]
    arrays, dims = point_arrays(variables, point, dims or {})
    partials = [expand_refs(p, grad.cse or ()) for p in grad.partials]
    compiled = Compiled([grad.expression, *partials], variables, dims)
    out = compiled(*(arrays[v.name] for v in variables))
    value = nested(out[0], (1, 1))
    values = tuple(
        nested(o, tuple(dims.get(d, d) for d in shape))
        for o, shape in zip(out[1:], grad.partial_shapes)
    )
    notes = []
    if value is None or any(has_none(v) for v in values):
        notes.append(
            "some values are not finite real numbers here (null): the point is outside the "
            "domain or at a singular matrix"
        )
    return MatrixGradientAt(
        gradient=grad,
        at={v.name: point[v.name] for v in variables},
        dims=dims,
        value=value,
        gradient_value=values,
        notes=tuple(notes),
        exit_code=0 if not notes else 4,
    )


def evaluate_matrix_jacobian(
    jac: MatrixJacobian, at: str | Mapping[str, Nested], dims: Mapping[str, int] | None = None
) -> MatrixJacobianAt:
    """The value and every block of ``jac`` at ``at`` (see ``evaluate_matrix_gradient``)."""
    point = load_point(at)
    variables = [E.sym(n, s) for n, s in jac.shapes.items()]
    arrays, dims = point_arrays(variables, point, dims or {})
    blocks = [expand_refs(b, jac.cse or ()) for b in jac.blocks]
    compiled = Compiled([jac.expression, *blocks], variables, dims)
    out = compiled(*(arrays[v.name] for v in variables))
    sized = [tuple(dims.get(d, d) for d in n.shape) for n in (jac.expression, *blocks)]
    value = nested(out[0], sized[0])
    values = tuple(_rows(o) for o in out[1:])
    notes = []
    if has_none(value) or any(has_none(v) for v in values):
        notes.append(
            "some values are not finite real numbers here (null): the point is outside the "
            "domain or at a singular matrix"
        )
    return MatrixJacobianAt(
        jacobian=jac,
        at={v.name: point[v.name] for v in variables},
        dims=dims,
        value=value,
        jacobian_value=values,
        notes=tuple(notes),
        exit_code=0 if not notes else 4,
    )


def _rows(array: np.ndarray) -> Nested:
    """A Jacobian block as a list of rows, always (a 1×n block is one row)."""
    array = np.asarray(array, dtype=float)
    return [[x if math.isfinite(x) else None for x in map(float, row)] for row in array]


def evaluator(outputs: Sequence[Node], variables: Sequence[Node], dims) -> Callable:
    """A compiled function of the variables' arrays (see ``Compiled``)."""
    return Compiled(outputs, variables, dims)
