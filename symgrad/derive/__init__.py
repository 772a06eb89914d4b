"""Derivatives: the gradient (per variable, or one reverse sweep for big inputs), the Hessian,
the Jacobian and higher partials, each tidied into the form a person writes."""

from symgrad.derive.forms import tidy
from symgrad.derive.higher import derivative, hessian, jacobian
from symgrad.derive.partial import gradient, resolve_wrt, variables

__all__ = ["gradient", "hessian", "jacobian", "derivative", "variables", "resolve_wrt", "tidy"]
