"""Vectors and matrices: gradients in matrix notation, checked like the rest of symgrad.

>>> from symgrad.matrix import matrix_gradient
>>> g = matrix_gradient("norm2(X*w - y)^2", "X=m,n; w=n; y=m", wrt="w")
>>> g.partials
(2*X'*(X*w - y),)

The public names load on first use (the package imports sympy and, for numbers, numpy).
"""

from __future__ import annotations

from importlib import import_module

# public name -> module that defines it
_EXPORTS = {
    "parse_shapes": "symgrad.matrix.shapes",
    "parse_dims": "symgrad.matrix.shapes",
    "parse_matrix": "symgrad.matrix.parse",
    "text": "symgrad.matrix.notation",
    "latex": "symgrad.matrix.notation",
    "matrix_gradient": "symgrad.matrix.derive",
    "matrix_jacobian": "symgrad.matrix.derive",
    "evaluate_matrix_gradient": "symgrad.matrix.numeric",
    "load_point": "symgrad.matrix.numeric",
    "check_matrix_gradient": "symgrad.matrix.check",
    "matrix_codegen": "symgrad.matrix.codegen",
    "MatrixGradient": "symgrad.matrix.results",
    "MatrixJacobian": "symgrad.matrix.results",
    "MatrixGradientAt": "symgrad.matrix.results",
    "MatrixCheckResult": "symgrad.matrix.results",
    "MatrixClaimVerdict": "symgrad.matrix.results",
    "MatrixCode": "symgrad.matrix.results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symgrad.matrix' has no attribute {name!r}")


def __dir__():
    return __all__
