"""Shapes: ``--shape X=m,n --shape w=n`` (or ``'X=m,n; w=n'``) and ``--dims m=5,n=3``.

A shape is ``(rows, cols)``; a dimension is a name (``n``) or a whole number. A vector of
``n`` is the column ``(n, 1)``, its transpose the row ``(1, n)``, and a scalar is ``(1, 1)``:
``x'*A*x`` is a scalar because its shape is ``(1, 1)``. A name without a shape is a scalar.

>>> parse_shapes(["X=m,n", "w=n"])
{'X': ('m', 'n'), 'w': ('n', 1)}
>>> parse_dims("m=5, n=3")
{'m': 5, 'n': 3}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from symgrad.errors import InputError
from symgrad.functions import normalize_name

Dim = int | str
Shape = tuple[Dim, Dim]
SCALAR: Shape = (1, 1)
MAX_DIM = 100_000  # one side of a numeric array; --dims and point files are checked against it

_NAME = re.compile(r"[^\W\d_]\w*")


def vector(n: Dim) -> Shape:
    """The shape of a (column) vector of ``n`` entries."""
    return (n, 1)


def is_scalar(shape: Shape) -> bool:
    return shape == SCALAR


def is_vector(shape: Shape) -> bool:
    """A column ``(n, 1)`` or a row ``(1, n)``, not a scalar."""
    return not is_scalar(shape) and 1 in shape


def is_square(shape: Shape) -> bool:
    return shape[0] == shape[1]


def transposed(shape: Shape) -> Shape:
    return (shape[1], shape[0])


def shape_text(shape: Shape) -> str:
    """How a person reads a shape: ``scalar``, ``n`` (a vector), ``1×n`` (a row), ``m×n``.

    >>> shape_text(("n", 1)), shape_text((1, "n")), shape_text(("m", 3))
    ('n', '1×n', 'm×3')
    """
    if is_scalar(shape):
        return "scalar"
    if shape[1] == 1:
        return str(shape[0])
    return f"{shape[0]}×{shape[1]}"


def shape_json(shape: Shape) -> list:
    """A shape as JSON: ``[]`` a scalar, ``["n"]`` a vector, ``["m", "n"]`` a matrix (a row
    vector is ``[1, "n"]``)."""
    if is_scalar(shape):
        return []
    if shape[1] == 1:
        return [shape[0]]
    return [shape[0], shape[1]]


def _dim(text: str, where: str) -> Dim:
    text = normalize_name(text.strip())
    if text.isdigit():
        value = int(text)
        if not 1 <= value <= MAX_DIM:
            raise InputError(f"a size in {where} must be between 1 and {MAX_DIM:,}, not {value}")
        return value
    if _NAME.fullmatch(text):
        return text
    raise InputError(
        f"{text!r} in {where} is not a size: give a name (n) or a whole number (3), "
        "as in --shape X=m,n"
    )


def parse_shape(text: str, where: str = "--shape") -> Shape:
    """``m,n`` as ``('m', 'n')``, ``n`` as the vector ``('n', 1)``; ``(m, n)`` and ``m×n`` too."""
    body = text.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    parts = [p for p in re.split(r"[,×]", body)] if body else []
    if not parts or any(not p.strip() for p in parts):
        raise InputError(f"{where} is not a shape; write n for a vector, m,n for a matrix")
    if len(parts) > 2:
        raise InputError(
            f"{where}: {len(parts)} dimensions; symgrad handles vectors (n) and matrices (m,n)"
        )
    dims = [_dim(p, where) for p in parts]
    return vector(dims[0]) if len(dims) == 1 else (dims[0], dims[1])


def parse_shapes(specs: str | Iterable[str] | Mapping[str, object]) -> dict[str, Shape]:
    """Shapes of named variables from ``--shape`` values (each ``X=m,n``, or several
    separated by ``;`` or spaces), or from a mapping of names to shapes.

    >>> parse_shapes("X=m,n; w=n y=m")
    {'X': ('m', 'n'), 'w': ('n', 1), 'y': ('m', 1)}
    >>> parse_shapes({"A": (3, 3), "x": 3})
    {'A': (3, 3), 'x': (3, 1)}
    """
    if isinstance(specs, Mapping):
        return {_name(k): _as_shape(v, k) for k, v in specs.items()}
    if isinstance(specs, str):
        specs = [specs]
    shapes: dict[str, Shape] = {}
    for spec in specs:
        for name, shape_text_ in _entries(spec):
            name = _name(name)
            if name in shapes:
                raise InputError(f"--shape gives {name} twice")
            shapes[name] = parse_shape(shape_text_, f"--shape {name}={shape_text_.strip()}")
    return shapes


def _entries(spec: str) -> list[tuple[str, str]]:
    """``X=m,n; w=n`` and ``X=m,n w=n`` as ``[("X", "m,n"), ("w", "n")]``."""
    found = []
    for piece in spec.split(";"):
        for item in re.split(r"\s+(?=[^\s=;,()]+\s*=)", piece.strip()):
            if not item.strip():
                continue
            name, eq, shape = item.partition("=")
            if not eq or not name.strip():
                raise InputError(
                    f"--shape {item.strip()!r}: expected name=shape, as in --shape X=m,n "
                    "or 'X=m,n; w=n'"
                )
            found.append((name, shape))
    if not found:
        raise InputError("--shape needs name=shape, as in --shape X=m,n")
    return found


def _name(name: str) -> str:
    name = normalize_name(str(name).strip())
    if not _NAME.fullmatch(name):
        raise InputError(f"{name!r} in --shape is not a variable name")
    return name


def _as_shape(value: object, name: str) -> Shape:
    if isinstance(value, str):
        return parse_shape(value, f"the shape of {name}, {value.strip()!r}")
    if isinstance(value, int):
        return vector(_dim(str(value), f"the shape of {name}"))
    dims = tuple(value)  # type: ignore[arg-type]
    if len(dims) == 0:
        return SCALAR
    if len(dims) == 1:
        return vector(_dim(str(dims[0]), f"the shape of {name}"))
    if len(dims) == 2:
        return (_dim(str(dims[0]), f"the shape of {name}"), _dim(str(dims[1]), name))
    raise InputError(f"the shape of {name} has {len(dims)} dimensions; give 1 or 2")


def parse_dims(spec: str | Iterable[str] | Mapping[str, int] | None) -> dict[str, int]:
    """Sizes of named dimensions, ``m=5,n=3`` (``--dims``), for random matrices in a check.

    >>> parse_dims(["m=5", "n=3"])
    {'m': 5, 'n': 3}
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        items = [(str(k), str(v)) for k, v in spec.items()]
    else:
        if isinstance(spec, str):
            spec = [spec]
        items = []
        for part in spec:
            for item in re.split(r"[,;\s]+", part.strip()):
                if not item:
                    continue
                name, eq, value = item.partition("=")
                if not eq:
                    raise InputError(f"--dims: expected name=size, got {item!r} (e.g. m=5,n=3)")
                items.append((name, value))
    dims: dict[str, int] = {}
    for name, value in items:
        name = normalize_name(name.strip())
        if not _NAME.fullmatch(name):
            raise InputError(f"--dims: {name!r} is not a dimension name")
        size = _dim(value, f"--dims {name}=")
        if not isinstance(size, int):
            raise InputError(f"--dims {name}= needs a whole number, not {value.strip()!r}")
        if name in dims:
            raise InputError(f"--dims gives {name} twice")
        dims[name] = size
    return dims


def dim_names(shapes: Iterable[Shape]) -> list[str]:
    """The named dimensions in ``shapes``, in order of first appearance."""
    names: dict[str, None] = {}
    for shape in shapes:
        for d in shape:
            if isinstance(d, str):
                names[d] = None
    return list(names)
