"""Numerically stable forms: one rewrite pass before any expression becomes numbers.

Written as a person writes them, the losses of machine learning overflow or cancel in floats:
``log(1 - sigmoid(z))`` is ``log(0)`` from z = 37, ``log(1 + exp(z))`` is ``inf`` from z =
710, ``exp(a)/(exp(a) + exp(b))`` is ``inf/inf``, sigmoid's derivative ``s*(1 - s)`` loses
every digit for large x. Each pattern has an exact rewrite that floats evaluate to full
precision (softplus, log-sigmoid, shifted log-sum-exp), and every consumer of compiled numbers
(``--at``, ``check``, ``codegen``, plots) gets them through ``symgrad.numeric.compile``:

========================================  ==========================================
written                                   evaluated as
========================================  ==========================================
``1 - sigmoid(u)``                        ``sigmoid(-u)``
``1 - tanh(u)^2``                         ``1/cosh(u)^2``
``log(sigmoid(u))``                       ``-softplus(-u)``
``log(c0 + c1*exp(u1) + ...)``            ``logsumexp(log(c0), u1 + log(c1), ...)``
``log(softmax(x0, ..., xn)[k])``          ``xk - logsumexp(x0, ..., xn)``
``exp(a)*(c0 + c1*exp(u1) + ...)^-k``     ``(c0*exp(-a/k) + c1*exp(u1 - a/k) + ...)^-k``
``exp(a)*(p + q)``                        ``exp(a)*p + exp(a)*q`` (when that cancels exps)
========================================  ==========================================

The rewritten trees are internal: they are compiled, never shown. ``logsumexp`` (the table's
function, of any number of arguments) is computed with its largest argument shifted out.
"""

from __future__ import annotations

import sympy as sp

from symgrad.functions import SoftmaxOutput, logsumexp, sigmoid, softplus

_INTERESTING = (sp.log, sp.exp, sigmoid, sp.tanh, SoftmaxOutput)


def stable(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every pattern of the module's table rewritten to its stable form.

    >>> from symgrad import parse
    >>> stable(parse("-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"))
    y*softplus(-z) + (1 - y)*softplus(z)
    """
    from symgrad.derive.reverse import topological

    order = topological([expr])
    if not any(isinstance(node, _INTERESTING) for node in order):
        return expr
    done: dict[sp.Expr, sp.Expr] = {}
    for node in order:
        args = [done.get(a, a) for a in node.args]
        new = node if all(n is a for n, a in zip(args, node.args)) else node.func(*args)
        done[node] = _rewrite(new)
    return done.get(expr, expr)


def _rewrite(node: sp.Expr) -> sp.Expr:
    if node.is_Add:
        return _add(node)
    if node.is_Mul:
        return _mul(node)
    if isinstance(node, sp.log):
        return _log(node.args[0])
    return node


# ---------------------------------------------------------------- sums of exponentials


def _exp_terms(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Expr]] | None:
    """``expr`` as ``[(c, u), ...]`` for ``c*exp(u) + ...`` with every c a positive number (a
    constant term c is c*exp(0)), at least one exp; else None."""
    if not expr.is_Add:
        return None
    terms = []
    has_exp = False
    for term in expr.args:
        if term.is_Number:
            if not term.is_positive:
                return None
            terms.append((term, sp.S.Zero))
            continue
        c, rest = term.as_coeff_Mul()
        if not (isinstance(rest, sp.exp) and c.is_positive):
            return None
        terms.append((c, rest.args[0]))
        has_exp = True
    return terms if has_exp else None


def _shifted(terms: list[tuple[sp.Expr, sp.Expr]], shift: sp.Expr) -> sp.Expr:
    """``sum(c*exp(u - shift))``: the sum divided by ``exp(shift)``."""
    return sp.Add(*[c * sp.exp(u - shift) for c, u in terms])


def _logsumexp(terms: list[tuple[sp.Expr, sp.Expr]]) -> sp.Expr:
    if len(terms) == 2:
        (c0, u0), (c1, u1) = terms
        if c0 == 1 and u0 == 0 and c1 == 1:
            return softplus(u1)
        if c1 == 1 and u1 == 0 and c0 == 1:
            return softplus(u0)
    return logsumexp(*[u + sp.log(c) if c != 1 else u for c, u in terms])


# ---------------------------------------------------------------- the rules


def _log(arg: sp.Expr) -> sp.Expr:
    if isinstance(arg, sigmoid):
        return -softplus(-arg.args[0])
    if isinstance(arg, SoftmaxOutput):
        inputs = arg.inputs
        return inputs[arg.index] - logsumexp(*inputs)
    terms = _exp_terms(arg)
    if terms is not None:
        return _logsumexp(terms)
    if arg.is_Pow and arg.exp.is_Number:
        terms = _exp_terms(arg.base)
        if terms is not None:
            return arg.exp * _logsumexp(terms)
    return sp.log(arg)


def _add(node: sp.Expr) -> sp.Expr:
    """``c - c*sigmoid(u)`` is ``c*sigmoid(-u)``, ``c - c*tanh(u)^2`` is ``c/cosh(u)^2``,
    ``c - c*softmax(x)[k]`` the sum of the other outputs, ``c - c/(1 + R)`` is
    ``c*R/(1 + R)``: no cancellation where the subtracted value is close to 1."""
    constant = next((t for t in node.args if t.is_Number), None)
    if constant is None or constant == 0:
        return node
    for term in node.args:
        c, rest = term.as_coeff_Mul()
        if c != -constant:
            continue
        if isinstance(rest, sigmoid):
            stable_form = constant * sigmoid(-rest.args[0])
        elif rest.is_Pow and rest.exp == 2 and isinstance(rest.base, sp.tanh):
            stable_form = constant / sp.cosh(rest.base.args[0]) ** 2
        elif isinstance(rest, SoftmaxOutput):
            k, inputs = rest.index, rest.inputs
            outputs = [SoftmaxOutput(j, *inputs) for j in range(len(inputs)) if j != k]
            stable_form = constant * sp.Add(*outputs)
        elif rest.is_Pow and rest.exp == -1 and _exp_terms(rest.base) is not None:
            remainder = [t for t in rest.base.args if t != 1]
            if len(remainder) == len(rest.base.args):
                continue  # no 1 in the sum: nothing cancels
            stable_form = constant * _mul_or(sp.Mul(sp.Add(*remainder), rest))
        else:
            continue
        others = [t for t in node.args if t is not constant and t is not term]
        return sp.Add(*others, stable_form)
    return node


def _mul(node: sp.Expr) -> sp.Expr:
    factors = list(node.args)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    a = sp.Add(*[e.args[0] for e in exps]) if exps else sp.S.Zero
    others = [f for f in factors if not isinstance(f, sp.exp)]
    sums = [f for f in others if _is_exp_power(f)]
    if sums:
        denominator = sums[0]
        others = [f for f in others if f is not denominator]
        numerator = next(
            (f for f in others if f.is_Add and len(f.args) <= 16 and any(map(_has_exp, f.args))),
            None,
        )
        if numerator is not None:
            # exp(a)*(p + q)*S^-k: each term over S^-k on its own, its exps merged
            others = [f for f in others if f is not numerator]
            terms = [_mul_or(sp.Mul(_times_exp(t, a), denominator)) for t in numerator.args]
            return sp.Mul(*others, _sum(terms))
        if exps:
            # exp(a)*S^-k = (S*exp(-a/k))^-k
            return sp.Mul(*others, _divided(denominator, a))
        return node
    if exps:
        # exp(a)*(p + q) where p or q has an exp or a sum of exps to cancel against
        for f in others:
            if f.is_Add and len(f.args) <= 8 and any(map(_cancels, f.args)):
                rest = [g for g in others if g is not f]
                terms = [_mul_or(_times_exp(t, a)) for t in f.args]
                return sp.Mul(*rest, _sum(terms))
    return node


def _sum(terms: list[sp.Expr]) -> sp.Expr:
    total = sp.Add(*terms)
    return _add(total) if total.is_Add else total


def _mul_or(expr: sp.Expr) -> sp.Expr:
    return _mul(expr) if expr.is_Mul else expr


def _is_exp_power(f: sp.Expr) -> bool:
    """``S^-k``, k > 0, S a sum of positive multiples of exps."""
    return f.is_Pow and f.exp.is_Number and f.exp.is_negative and _exp_terms(f.base) is not None


def _has_exp(term: sp.Expr) -> bool:
    return isinstance(term, sp.exp) or (
        term.is_Mul and any(isinstance(f, sp.exp) for f in term.args)
    )


def _cancels(term: sp.Expr) -> bool:
    factors = term.args if term.is_Mul else (term,)
    return any(isinstance(f, sp.exp) for f in factors) or any(
        f.is_Pow and f.exp.is_negative and _exp_terms(f.base) is not None for f in factors
    )


def _times_exp(term: sp.Expr, a: sp.Expr) -> sp.Expr:
    """``term*exp(a)`` with the exponentials merged into one."""
    factors = list(term.args) if term.is_Mul else [term]
    exponent = sp.Add(a, *[f.args[0] for f in factors if isinstance(f, sp.exp)])
    others = [f for f in factors if not isinstance(f, sp.exp)]
    return sp.Mul(*others, sp.exp(exponent))


def _divided(power: sp.Expr, a: sp.Expr) -> sp.Expr:
    """``exp(a) * S^-k`` for ``power = S^-k``: ``(S*exp(-a/k))^-k``, each exp shifted."""
    k = -power.exp
    return sp.Pow(_shifted(_exp_terms(power.base), a / k), -k)
