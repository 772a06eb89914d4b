"""--shape and --dims: the commands' vectors and matrices.

With ``--shape X=m,n --shape w=n`` an expression command reads EXPR with the shaped parser
(``symgrad.parsing.matrix``) and makes one call of the matrix library instead of the scalar
one; the run loop, the budget and the printers are the same. Nothing heavy is imported at
module level.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from symgrad.errors import InputError

ShapeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--shape",
        "-s",
        metavar="NAME=DIMS",
        help="Make a name a matrix (X=m,n) or a vector (w=n); repeat it, or give several as "
        "'X=m,n; w=n'. Sizes are names or numbers; other names are scalars. Then * between "
        "matrices is the matrix product, .* elementwise, ' the transpose (docs/matrices.md).",
        show_default=False,
    ),
]
DimsOpt = Annotated[
    Optional[str],
    typer.Option(
        "--dims",
        metavar="SIZES",
        help="Sizes of the named dimensions of --shape, e.g. m=5,n=3 (check: of its random "
        "matrices) [default: small and distinct].",
        show_default=False,
    ),
]


class Shapes:
    """The parsed ``--shape`` and ``--dims`` of one command."""

    def __init__(self, shape: list[str] | None, dims: str | None):
        from symgrad.parsing.matrix_shapes import parse_dims, parse_shapes

        if dims is not None and not shape:
            raise InputError("--dims gives the sizes of the names of --shape: give --shape too")
        self.shapes = parse_shapes(shape or [])
        self.dims = parse_dims(dims)

    def read(self, text: str):
        """The shaped expression of ``text``."""
        from symgrad.cli.loop import _settings
        from symgrad.parsing.matrix import parse_matrix

        if _settings.get().latex:
            raise InputError("--shape reads plain notation, not LaTeX: write X'*w, not X^\\top w")
        return parse_matrix(text, self.shapes)


def shaped(shape: list[str] | None, dims: str | None) -> Shapes | None:
    """The shapes of a command, or None without ``--shape`` (the scalar path)."""
    if not shape:
        if dims is not None:
            raise InputError("--dims gives the sizes of the names of --shape: give --shape too")
        return None
    return Shapes(shape, dims)


# ---------------------------------------------------------------- one compute per command


def grad(s: Shapes, wrt: str | None, at: str | None, cse: bool):
    from symgrad.derive.matrix import matrix_gradient

    def compute(text: str):
        result = matrix_gradient(s.read(text), s.shapes, wrt, cse=cse)
        if at is None:
            return result
        from symgrad.numeric.matrix import evaluate_matrix_gradient

        return evaluate_matrix_gradient(result, at, s.dims)

    return compute


def jacobian(s: Shapes, wrt: str | None, at: str | None, cse: bool):
    from symgrad.derive.matrix import matrix_jacobian

    def compute(text: str):
        result = matrix_jacobian(s.read(text), s.shapes, wrt, cse=cse)
        if at is None:
            return result
        from symgrad.numeric.matrix import evaluate_matrix_jacobian

        return evaluate_matrix_jacobian(result, at, s.dims)

    return compute


def check(s: Shapes, wrt, at, points, seed, claims, rtol, atol):
    from symgrad.numeric.matrix_check import DEFAULT_POINTS, check_matrix_gradient

    def compute(text: str):
        return check_matrix_gradient(
            s.read(text),
            s.shapes,
            wrt,
            claims=claims,
            at=at,
            dims=s.dims,
            points=DEFAULT_POINTS if points is None else points,
            seed=seed,
            rtol=rtol,
            atol=atol,
        )

    return compute


def codegen(s: Shapes, wrt: str | None, target: str, name: str):
    from symgrad.numeric.matrix_code import matrix_codegen

    return lambda text: matrix_codegen(s.read(text), s.shapes, wrt, target, name)
