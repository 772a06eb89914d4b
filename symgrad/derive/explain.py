"""How a partial derivative is obtained: the derivation a teacher writes, and the backward pass.

``explain(expr, wrt)`` writes each partial as a list of steps, each one rule (sum, constant
factor, product, quotient, power, a known derivative from the function table, chain) applied to
one expression. Inner functions get names (``u = w*x + b``) so that the chain rule reads as in
the notes it came from: ``d/dw sigmoid(u) = sigmoid(u)*(1 - sigmoid(u)) * du/dw``. The
derivative of each function comes from its own rule in the table (its sympy ``fdiff``, read
through ``symgrad.reverse``), so a new function explains itself. The last step is ``gradient``'s
partial, tidied as ``grad`` prints it.

With a point, ``explain`` also runs the backward pass of the computation graph as PyTorch's
autograd does: one node per distinct subexpression (a shared one is one node whose gradient sums
over its uses), its forward value, ``requires_grad``, the local derivative on each edge and each
node's accumulated gradient.

>>> e = explain("sigmoid(w*x + b)", "w")
>>> [(name.name, str(d)) for name, d in e.names]
[('u', 'b + w*x')]
>>> [(s.rule, str(s.of), s.wrt.name, str(s.derivative)) for s in e.steps]
[('known derivative', 'sigmoid(u)', 'u', '(1 - sigmoid(u))*sigmoid(u)'),
 ('sum', 'b + w*x', 'w', 'x'),
 ('chain', 'sigmoid(u)', 'w', 'x*(1 - sigmoid(u))*sigmoid(u)'),
 ('substitute', 'sigmoid(b + w*x)', 'w', 'x*(1 - sigmoid(b + w*x))*sigmoid(b + w*x)')]
"""

from __future__ import annotations

import sympy as sp

from symgrad.derive.partial import ExprLike, WrtLike, as_expr, gradient, require_scalar, variables
from symgrad.derive.reverse import (
    _local_derivative,
    _pattern,
    _rule,
    _with_args,
    topological,
)
from symgrad.errors import LimitError
from symgrad.functions import symbol
from symgrad.results import (
    Explanation,
    Step,
)

MAX_STEPS = 400
"""Steps of all the derivations of one ``explain``: past this a derivation helps nobody."""

MAX_NODES = 2_000
"""Distinct subexpressions of an expression ``explain`` takes (the graph has one node each)."""

MAX_DERIVATIVE_NODES = 5_000
"""Size of one step's derivative (the product rule on many factors grows fast)."""

# Inner names, in the order a teacher reaches for them; then u1, u2, ...
NAMES = ("u", "v", "s", "r", "q", "p", "g", "h")


def explain(expr: ExprLike, wrt: WrtLike = None, *, shorten: bool = False) -> Explanation:
    """The step-by-step derivation of each partial of ``expr`` (by ``wrt``, default all).

    A derivation too long to read is a LimitError, or with ``shorten`` no steps and a note
    (the backward pass at a point, ``symgrad.numeric.backward``, still answers then).

    >>> e = explain("w^2*x + b^2", "w")
    >>> [(s.rule, str(s.derivative)) for s in e.steps]
    [('power', '2*w'), ('sum', '2*w*x')]
    """
    expr = as_expr(expr)
    require_scalar(expr, "explain")
    check_size(expr)
    grad = gradient(expr, wrt)
    names, named = _names(expr, grad.wrt)
    steps: list[Step] = []
    notes: tuple[str, ...] = ()
    try:
        for var, partial in zip(grad.wrt, grad.partials):
            _Derivation(var, names, named, steps).run(expr, partial)
    except _TooLong as err:
        if not shorten:
            raise
        steps, notes = [], (f"{err.message.split(':')[0]}: only the backward pass is shown",)
    return Explanation(
        expression=expr,
        wrt=grad.wrt,
        names=tuple((name, names[name]) for name in names),
        steps=tuple(steps),
        partials=grad.partials,
        notes=notes,
    )


def check_size(expr: sp.Expr) -> None:
    count = 0
    for _ in topological([expr]):
        count += 1
        if count > MAX_NODES:
            raise LimitError(
                f"explain takes expressions of up to {MAX_NODES:,} distinct parts, and this one "
                "has more: a derivation that long helps nobody; symgrad grad (with --cse) "
                "gives the gradient"
            )


# ---------------------------------------------------------------- inner names


def _names(expr: sp.Expr, wrt: tuple[sp.Symbol, ...]) -> tuple[dict, dict]:
    """Name each compound input of a function (and base or exponent of a power) that depends
    on a variable of ``wrt``.

    Returns ``(names, named)``: name -> its definition (which may use later names), outermost
    first; and each subexpression -> its form written with the names.
    """
    targets = set(wrt)
    order = topological([expr])
    depends: set[sp.Expr] = set(targets)
    for node in order:
        if any(a in depends for a in node.args):
            depends.add(node)
    wanted: set[sp.Expr] = set()
    for node in order:
        if node.is_Add or node.is_Mul:
            continue
        for a in node.args:
            if a.args and a in depends:
                wanted.add(a)
    taken = {s.name for s in variables(expr)}
    fresh = _fresh_names(taken)
    # letters outermost first: a preorder walk from the root
    label: dict[sp.Expr, sp.Symbol] = {}
    stack, seen = [expr], {expr}
    while stack:
        node = stack.pop()
        if node in wanted and node not in label:
            label[node] = next(fresh)
        for a in reversed(node.args):
            if a.args and a not in seen:
                seen.add(a)
                stack.append(a)
    named: dict[sp.Expr, sp.Expr] = {}

    def ref(a: sp.Expr) -> sp.Expr:
        if a in label:
            return label[a]
        return named.get(a, a)

    for node in order:
        named[node] = _with_args(node, [ref(a) for a in node.args])
    names = {label[node]: named[node] for node in label}  # preorder: outermost first
    return names, named


def _fresh_names(taken: set[str]):
    for name in NAMES:
        if name not in taken:
            yield symbol(name)
    k = 1
    while True:
        for base in ("u", "v"):
            if f"{base}{k}" not in taken:
                yield symbol(f"{base}{k}")
        k += 1


# ---------------------------------------------------------------- one derivation


class _Derivation:
    """The steps of d expr / d var, appended to a shared list."""

    def __init__(self, var: sp.Symbol, names: dict, named: dict, steps: list[Step]):
        self.var = var
        self.names = names
        self.named = named
        self.steps = steps
        self.memo: dict[sp.Symbol, tuple[sp.Expr, int | None]] = {}
        # names whose definition depends on var, directly or through other names
        self.live: set[sp.Symbol] = set()
        changed = True
        while changed:
            changed = False
            for name, definition in names.items():
                if name not in self.live and (
                    definition.has(var) or any(n in self.live for n in definition.free_symbols)
                ):
                    self.live.add(name)
                    changed = True

    def run(self, expr: sp.Expr, partial: sp.Expr) -> None:
        start = len(self.steps)
        top = self.named.get(expr, expr)
        derivative, index = self.d(top)
        if index is None:  # f is the variable itself, or does not depend on it
            rule = "variable" if top == self.var else "constant"
            index = self.add(rule, top, self.var, derivative)
        last = self.steps[index]
        if last.of != expr or last.derivative != partial:
            rule = "substitute" if any(n in self.names for n in derivative.free_symbols) else "tidy"
            self.add(rule, expr, self.var, partial, (index,))
        assert len(self.steps) > start

    # -- helpers

    def depends(self, e: sp.Expr) -> bool:
        return e.has(self.var) or any(n in self.live for n in e.free_symbols)

    def add(self, rule, of, wrt, derivative, uses=(), local=False) -> int:
        if len(self.steps) >= MAX_STEPS:
            raise _TooLong(
                f"the derivation needs more than {MAX_STEPS} steps: explain is for expressions "
                "a person reads; name fewer variables with --wrt, or use symgrad grad"
            )
        if _larger_than(derivative, MAX_DERIVATIVE_NODES):
            raise self.too_big()
        step = Step(
            rule=rule,
            of=of,
            wrt=wrt,
            derivative=derivative,
            variable=self.var,
            uses=tuple(i for i in uses if i is not None),
            local=local,
        )
        self.steps.append(step)
        return len(self.steps) - 1

    def too_big(self) -> LimitError:
        return _TooLong(
            f"a step of the derivation of d/d{self.var.name} grows past "
            f"{MAX_DERIVATIVE_NODES:,} parts: explain is for expressions a person reads; "
            "use symgrad grad"
        )

    # -- the rules

    def d(self, e: sp.Expr) -> tuple[sp.Expr, int | None]:
        """(d e / d var, index of the step that says so, or None when no step was needed)."""
        if not self.depends(e):
            return sp.S.Zero, None
        if e == self.var:
            return sp.S.One, None
        if e in self.names:
            if e not in self.memo:
                self.memo[e] = self.d(self.names[e])
            return self.memo[e]
        if e.is_Add:
            return self.d_sum(e)
        if e.is_Mul:
            return self.d_mul(e)
        if e.is_Pow:
            return self.d_pow(e)
        return self.d_call(e)

    def split(self, e: sp.Expr) -> tuple[sp.Expr, list[sp.Expr]]:
        """A product as (its constant factor, its factors that depend on var)."""
        factors = sp.Mul.make_args(e)
        constant = sp.Mul(*[f for f in factors if not self.depends(f)])
        return constant, [f for f in factors if self.depends(f)]

    def d_sum(self, e: sp.Expr):
        # linearity: the constant factor of each term stays, constant terms vanish
        parts, uses = [], []
        for term in e.args:
            if not self.depends(term):
                continue
            constant, factors = self.split(term)
            dg, index = self.d_factors(factors)
            parts.append(constant * dg)
            uses.append(index)
        derivative = sp.Add(*parts)
        return derivative, self.add("sum", e, self.var, derivative, uses)

    def d_mul(self, e: sp.Expr):
        constant, factors = self.split(e)
        dg, index = self.d_factors(factors)
        if constant == 1:
            return dg, index
        derivative = constant * dg
        return derivative, self.add("constant factor", e, self.var, derivative, (index,))

    def d_factors(self, factors: list[sp.Expr]):
        """d/dvar of the product of ``factors``, each of which depends on var."""
        if len(factors) == 1:
            return self.d(factors[0])
        if len(factors) ** 2 > MAX_DERIVATIVE_NODES:  # the product rule's n terms of n factors
            raise self.too_big()
        top = [f for f in factors if not _reciprocal(f)]
        bottom = [1 / f for f in factors if _reciprocal(f)]
        if top and bottom:
            num, den = sp.Mul(*top), sp.Mul(*bottom)
            dnum, i = self.d_factors(top)
            dden, j = self.d_factors(bottom)
            derivative = (dnum * den - num * dden) / den**2
            return derivative, self.add("quotient", num / den, self.var, derivative, (i, j))
        parts, uses = [], []
        for k, f in enumerate(factors):
            df, index = self.d(f)
            rest = sp.Mul(*(g for j, g in enumerate(factors) if j != k))
            parts.append(df * rest)
            uses.append(index)
        derivative = sp.Add(*parts)
        return derivative, self.add("product", sp.Mul(*factors), self.var, derivative, uses)

    def d_pow(self, e: sp.Expr):
        base, exponent = e.args
        if not self.depends(exponent):
            local = exponent * base ** (exponent - 1)
            return self.chain(e, "power", [(base, local)])
        if not self.depends(base):
            return self.chain(e, "exponential", [(exponent, e * sp.log(base))])
        db, i = self.d(base)
        dx, j = self.d(exponent)
        derivative = e * (dx * sp.log(base) + exponent * db / base)
        return derivative, self.add("general power", e, self.var, derivative, (i, j))

    def d_call(self, e: sp.Expr):
        inputs = []
        for k, a in enumerate(e.args):
            if a.is_Number or not self.depends(a):
                continue
            inputs.append((a, function_rule(e, k)))
        return self.chain(e, "known derivative", inputs)

    def chain(self, e: sp.Expr, rule: str, inputs: list[tuple[sp.Expr, sp.Expr]]):
        """``rule`` gives d e / d input for each input; the chain rule joins them."""
        if len(inputs) == 1 and inputs[0][0] == self.var:
            local = inputs[0][1]
            return local, self.add(rule, e, self.var, local)
        parts, uses = [], []
        for a, local in inputs:
            uses.append(self.add(rule, e, a, local, local=True))
            da, index = self.d(a)
            parts.append(local * da)
            uses.append(index)
        derivative = sp.Add(*parts)
        return derivative, self.add("chain", e, self.var, derivative, uses)


def function_rule(node: sp.Expr, k: int) -> sp.Expr:
    """d node / d node.args[k] for a function call, from the function's own rule (fdiff),
    written with the node and its arguments: sigmoid(u)*(1 - sigmoid(u))."""
    local, generic, dummies = _rule(node.func, _pattern(node.args), k)
    back = {d: a for d, a in zip(dummies, node.args) if not d.is_Number}
    return local.xreplace({generic: node, **back})


def _local(node: sp.Expr, k: int, ref, itself: sp.Expr) -> sp.Expr:
    """d node / d node.args[k], written with ``ref`` of each argument and ``itself``."""
    if node.is_Add or node.is_Mul or node.is_Pow:
        return _local_derivative(node, k, ref, itself)
    mapping = {node: itself, **{a: ref(a) for a in node.args if ref(a) is not a}}
    return function_rule(node, k).xreplace(mapping)


class _TooLong(LimitError):
    """A derivation past MAX_STEPS or MAX_DERIVATIVE_NODES."""


def _reciprocal(factor: sp.Expr) -> bool:
    """1/g or g^-k: a factor the quotient rule puts in the denominator."""
    return factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative


def _larger_than(expr: sp.Expr, limit: int) -> bool:
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count > limit:
            return True
    return False


# ---------------------------------------------------------------- the backward pass
