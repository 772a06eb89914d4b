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
    "parse": "symgrad.parser",
    "gradient": "symgrad.differentiate",
    "Gradient": "symgrad.differentiate",
    "hessian": "symgrad.differentiate",
    "Hessian": "symgrad.differentiate",
    "jacobian": "symgrad.differentiate",
    "Jacobian": "symgrad.differentiate",
    "derivative": "symgrad.differentiate",
    "Derivative": "symgrad.differentiate",
    "parse_latex": "symgrad.latex",
    "variables": "symgrad.differentiate",
    "tidy": "symgrad.differentiate",
    "symbol": "symgrad.functions",
    "FUNCTIONS": "symgrad.functions",
    "Limits": "symgrad.limits",
    "expr_text": "symgrad.render",
    "expr_latex": "symgrad.render",
    "SymgradError": "symgrad.errors",
    "ParseError": "symgrad.errors",
    "VariableError": "symgrad.errors",
    "InputError": "symgrad.errors",
    "LimitError": "symgrad.errors",
    "UnverifiableError": "symgrad.errors",
    "evaluate_gradient": "symgrad.numeric",
    "check_gradient": "symgrad.check",
    "check_claim": "symgrad.check",
    "GradientAt": "symgrad.verdicts",
    "CheckResult": "symgrad.verdicts",
    "ClaimVerdict": "symgrad.verdicts",
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
