"""symgrad: symbolic derivatives for people who work with gradients.

>>> from symgrad import parse, gradient
>>> gradient(parse("y*log(w*x+b)"), "w,b").partials
(x*y/(b + w*x), y/(b + w*x))

The public names load on first use, so that ``import symgrad`` (and ``symgrad --help``)
does not import sympy.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "parse": "symgrad.parsing.plain",
    "parse_latex": "symgrad.parsing.latex",
    "gradient": "symgrad.derive.partial",
    "variables": "symgrad.derive.partial",
    "hessian": "symgrad.derive.higher",
    "jacobian": "symgrad.derive.higher",
    "derivative": "symgrad.derive.higher",
    "tidy": "symgrad.derive.forms",
    "Gradient": "symgrad.results",
    "Hessian": "symgrad.results",
    "Jacobian": "symgrad.results",
    "Derivative": "symgrad.results",
    "GradientAt": "symgrad.results",
    "ValuesAt": "symgrad.results",
    "CheckResult": "symgrad.results",
    "ClaimVerdict": "symgrad.results",
    "Code": "symgrad.results",
    "symbol": "symgrad.functions",
    "FUNCTIONS": "symgrad.functions",
    "Limits": "symgrad.limits",
    "expr_text": "symgrad.notation",
    "expr_latex": "symgrad.notation",
    "SymgradError": "symgrad.errors",
    "ParseError": "symgrad.errors",
    "VariableError": "symgrad.errors",
    "InputError": "symgrad.errors",
    "LimitError": "symgrad.errors",
    "UnverifiableError": "symgrad.errors",
    "evaluate_gradient": "symgrad.numeric.evaluate",
    "values_at": "symgrad.numeric.evaluate",
    "check_gradient": "symgrad.numeric.check",
    "check_claim": "symgrad.numeric.check",
    "codegen": "symgrad.numeric.code",
    "batch": "symgrad.cli.loop",
    # vectors and matrices
    "parse_shapes": "symgrad.parsing.matrix_shapes",
    "parse_dims": "symgrad.parsing.matrix_shapes",
    "parse_matrix": "symgrad.parsing.matrix",
    "matrix_text": "symgrad.parsing.matrix_text",
    "matrix_latex": "symgrad.parsing.matrix_text",
    "matrix_gradient": "symgrad.derive.matrix",
    "matrix_jacobian": "symgrad.derive.matrix",
    "evaluate_matrix_gradient": "symgrad.numeric.matrix",
    "evaluate_matrix_jacobian": "symgrad.numeric.matrix",
    "check_matrix_gradient": "symgrad.numeric.matrix_check",
    "matrix_codegen": "symgrad.numeric.matrix_code",
    "MatrixGradient": "symgrad.results",
    "MatrixJacobian": "symgrad.results",
    "MatrixGradientAt": "symgrad.results",
    "MatrixJacobianAt": "symgrad.results",
    "MatrixCheckResult": "symgrad.results",
    "MatrixClaimVerdict": "symgrad.results",
    "MatrixCode": "symgrad.results",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symgrad' has no attribute {name!r}")


def __dir__():
    return __all__
