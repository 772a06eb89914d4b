"""Reverse-mode symbolic differentiation: one backward sweep gives every partial derivative.

Per-variable ``diff`` walks the whole expression once per variable, and each result repeats
the subexpressions it shares with the others (a loss with 1,000 parameters gives 1,000 copies
of the network). Here the expression is read as a graph: a forward pass visits each distinct
subexpression once (sympy's hash-consing makes equal subtrees one node), a backward pass
accumulates each node's adjoint ``dL/dnode`` from its parents with the node's local derivative
rule, and every shared value and adjoint gets a name. The result is a short list of
definitions ``t0 = ...`` plus gradient entries in terms of them; its operation count is a small
multiple of the loss's (Baur-Strassen; Griewank-Walther).

>>> from symgrad import parse
>>> from symgrad.functions import symbol
>>> sweep = reverse_gradient(parse("y*log(w*x + b)"), [symbol("w"), symbol("b")])
>>> [f"{name} = {expr}" for name, expr in sweep.definitions]
['t0 = b + w*x', 't1 = y/t0']
>>> sweep.gradient
(t1*x, t1)

Traversals are loops over a topological order, never recursion per tree level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import sympy as sp

from symgrad.functions import symbol
from symgrad.parsing.build import no_gc, raw_add, raw_mul

Definitions = tuple[tuple[sp.Symbol, sp.Expr], ...]


@dataclass(frozen=True)
class Sweep:
    """Definitions in evaluation order, then the value and the gradient in terms of them."""

    definitions: Definitions
    value: sp.Expr
    wrt: tuple[sp.Symbol, ...]
    gradient: tuple[sp.Expr, ...]

    def expanded(self) -> tuple[sp.Expr, ...]:
        """The gradient with every name replaced by its definition (may be large)."""
        return expand_names(self.definitions, self.gradient)


def name_prefix(taken: Iterable[sp.Symbol]) -> str:
    """``t`` unless a variable is already called ``t<digits>``; then ``u``, ``s``, ``r``,
    ``q``, ``tt``, ``ttt``, ...

    Names made from the prefix are valid symgrad names (a letter first) and never equal a
    user's variable.
    """
    names = {s.name for s in taken}
    for prefix in _prefixes():
        if not any(re.fullmatch(rf"{prefix}\d+", n) for n in names):
            return prefix
    raise AssertionError("unreachable: the prefixes never run out")


def _prefixes():
    yield from ("t", "u", "s", "r", "q")
    k = 2
    while True:
        yield "t" * k
        k += 1


def topological(roots: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Every distinct non-atomic subexpression of ``roots``, each after its arguments."""
    order: list[sp.Expr] = []
    seen: set[sp.Expr] = set()
    for root in roots:
        if not root.args or root in seen:
            continue
        stack = [(root, iter(root.args))]
        seen.add(root)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child.args and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.args)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _references(node: sp.Expr, active: set) -> tuple[bool, list[sp.Expr]]:
    """Whether the backward rule of ``node`` uses its own value, and which arguments.

    Naming more than needed costs a line of output, never an operation.
    """
    args = node.args
    if node.is_Add:
        return False, []
    if node.is_Mul:
        live = [a for a in args if not a.is_Number and a in active]
        if not live:
            return False, []
        return False, [a for a in args if len(live) > 1 or a is not live[0]]
    if node.is_Pow:
        base, exponent = args
        return exponent in active, [base]
    itself, used = False, set()
    for k, a in enumerate(args):
        if not a.is_Number and a in active:
            local, generic, dummies = _rule(node.func, _pattern(args), k)
            itself = itself or local.has(generic)
            used.update(j for j, d in enumerate(dummies) if local.has(d))
    return itself, [args[j] for j in sorted(used)]


def reverse_gradient(
    expr: sp.Expr,
    wrt: Sequence[sp.Symbol],
    taken: Iterable[sp.Symbol] = (),
    rules: Callable[[sp.Expr], sp.Expr] | None = None,
) -> Sweep:
    """The gradient of ``expr`` by ``wrt`` in one reverse sweep, with named intermediates.

    ``taken`` lists further names the generated ones must avoid (the expression's own
    variables are always avoided). ``rules``, where given, rewrites each function's local
    derivative rule before it is used (code generation asks for numerically stable forms:
    sigmoid' as ``sigmoid(x)*sigmoid(-x)``, not ``s*(1 - s)`` of a named ``s``).
    """
    with no_gc():
        return _sweep(expr, wrt, taken, rules)


def _sweep(
    expr: sp.Expr, wrt: Sequence[sp.Symbol], taken: Iterable[sp.Symbol], rules=None
) -> Sweep:
    wrt = tuple(wrt)
    order = topological([expr])
    symbols = {a for node in order for a in node.args if a.is_Symbol}
    prefix = name_prefix([*symbols, *taken] if order else [expr, *taken])

    # which nodes depend on a wrt variable, and how often each node is used
    targets = set(wrt)
    active: set[sp.Expr] = {v for v in wrt}
    uses: dict[sp.Expr, int] = {}
    referenced: set[sp.Expr] = set()
    for node in order:
        if any(not a.is_Number and a in active for a in node.args):
            active.add(node)
        for a in node.args:
            if a.args:  # only non-atomic nodes are ever named; hashing a Float is slow
                uses[a] = uses.get(a, 0) + 1
    for node in order:
        if node in active:
            itself, args = _references(node, active)
            if itself:
                referenced.add(node)
            referenced.update(args)

    names = _Names(prefix)
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    ref: dict[sp.Expr, sp.Expr] = {}  # node -> its name, or its (inlined) form

    def arg_ref(a: sp.Expr) -> sp.Expr:
        return ref[a] if a.args else a

    for node in order:
        form = _with_args(node, [arg_ref(a) for a in node.args])
        if uses.get(node, 0) > 1 or node in referenced:
            name = names.new()
            definitions.append((name, form))
            ref[node] = name
        else:
            ref[node] = form
    value = arg_ref(expr)

    # backward: adjoint of each active node = sum of (parent adjoint) * (local derivative)
    contributions: dict[sp.Expr, list[sp.Expr]] = {expr: [sp.S.One]}
    for node in reversed(order):
        if node not in active or node not in contributions:
            continue
        adjoint = _adjoint(contributions.pop(node), names, definitions)
        if adjoint.is_Number and adjoint == 0:
            continue
        for k, a in enumerate(node.args):
            if a.is_Number or a not in active:
                continue
            local = _local_derivative(node, k, arg_ref, ref.get(node, node), rules)
            contributions.setdefault(a, []).append(raw_mul([adjoint, local]))
    gradient = tuple(raw_add(contributions.get(v, [sp.S.Zero])) for v in wrt)
    if expr in targets:  # the expression is one of the variables
        gradient = tuple(sp.S.One if v == expr else sp.S.Zero for v in wrt)
    return Sweep(tuple(definitions), value, wrt, gradient)


class _Names:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.count = 0

    def new(self) -> sp.Symbol:
        name = symbol(f"{self.prefix}{self.count}")
        self.count += 1
        return name


def _with_args(node: sp.Expr, args: list[sp.Expr]) -> sp.Expr:
    """``node`` with its arguments replaced, as is: the values are equal, so sympy's
    canonicalisation (slow: it asks the assumption system about each new node) has nothing
    to do."""
    if all(new is old for new, old in zip(args, node.args)):
        return node
    if node.is_Add or node.is_Mul:
        return node.func._from_args(args)
    try:
        return node.func(*args, evaluate=False)
    except TypeError:
        return node.func(*args)


def _substitute(expr: sp.Expr, mapping: dict) -> sp.Expr:
    """``expr.xreplace(mapping)`` without re-evaluating (for small rule expressions)."""
    done: dict[sp.Expr, sp.Expr] = {}
    for node in topological([expr]):
        if node in mapping:
            done[node] = mapping[node]
        else:
            done[node] = _with_args(node, [mapping.get(a, done.get(a, a)) for a in node.args])
    return mapping.get(expr, done.get(expr, expr))


def _adjoint(terms: list[sp.Expr], names: _Names, definitions: list) -> sp.Expr:
    total = raw_add(terms)
    if total.is_Atom or _trivial(total):
        return total
    name = names.new()
    definitions.append((name, total))
    return name


def _local_derivative(node: sp.Expr, k: int, arg_ref, itself: sp.Expr, rules=None) -> sp.Expr:
    """d node / d node.args[k], written with the names of the node and of its arguments."""
    args = node.args
    if node.is_Add:
        return sp.S.One
    if node.is_Mul:
        return raw_mul([arg_ref(a) for j, a in enumerate(args) if j != k])
    if node.is_Pow:
        base, exponent = (arg_ref(a) for a in args)
        if k == 0:
            lower = exponent - 1
            if lower == 0:
                return exponent
            power = base if lower == 1 else sp.Pow(base, lower, evaluate=False)
            return raw_mul([exponent, power])
        return raw_mul([itself, sp.log(base, evaluate=False)])
    # a function: its own rule (fdiff), so sigmoid' stays sigmoid*(1 - sigmoid)
    local, generic, dummies = _rule(node.func, _pattern(args), k)
    if rules is not None:
        local = _rewritten(rules, local)
    back = {d: arg_ref(a) for d, a in zip(dummies, args) if not d.is_Number}
    return _substitute(local, {generic: itself, **back})


@cache
def _rewritten(rules: Callable[[sp.Expr], sp.Expr], local: sp.Expr) -> sp.Expr:
    return rules(local)


def _pattern(args: tuple) -> tuple:
    """The arguments a rule is made for: numbers as they are (softmax's output index), None
    for each argument that varies."""
    return tuple(a if a.is_Number else None for a in args)


@cache
def _rule(func, pattern: tuple, k: int) -> tuple[sp.Expr, sp.Expr, tuple]:
    """d func(a0, a1, ...) / d a_k in terms of real placeholders a_j and func(a0, ...) itself;
    a number in ``pattern`` stays that number (it is never differentiated)."""
    dummies = tuple(sp.Dummy(f"a{j}", real=True) if p is None else p for j, p in enumerate(pattern))
    generic = func(*dummies)
    local = generic.fdiff(k + 1) if hasattr(generic, "fdiff") else None
    if local is None or local.has(sp.Derivative, sp.Subs):
        # sign.fdiff is an unevaluated Derivative where diff knows 2*DiracDelta; diff's
        # first call also imports a third of a second of sympy, so only when needed
        local = sp.diff(generic, dummies[k])
    return local, generic, dummies


def expand_names(definitions: Definitions, exprs: Sequence[sp.Expr]) -> tuple[sp.Expr, ...]:
    """``exprs`` with every defined name replaced by its (expanded) definition.

    Shared values stay shared objects in memory, so this is linear in the definitions even
    when the printed result is not.
    """
    full: dict[sp.Expr, sp.Expr] = {}
    for name, form in definitions:
        full[name] = _substitute(form, full)
    return tuple(_substitute(e, full) for e in exprs)


def share(exprs: Sequence[sp.Expr], taken: Iterable[sp.Symbol] = ()) -> tuple[Definitions, tuple]:
    """Name every non-atomic subexpression used more than once across ``exprs``.

    The hook for ``--cse`` on any list of results (a gradient, a Hessian, a Jacobian):
    returns ``(definitions, reduced)`` where ``reduced[i]`` equals ``exprs[i]`` once the names
    are replaced by their definitions. Linear in the size of the graph.

    >>> from symgrad import parse
    >>> share([parse("sin(x*y) + x*y"), parse("cos(x*y)")])
    (((t0, x*y),), (t0 + sin(t0), cos(t0)))
    """
    exprs = tuple(exprs)
    prefix = name_prefix(
        [*set().union(*(e.free_symbols for e in exprs)), *taken] if exprs else list(taken)
    )
    order = topological(exprs)
    uses: dict[sp.Expr, int] = {}
    for node in order:
        for a in node.args:
            if a.args:
                uses[a] = uses.get(a, 0) + 1
    for e in exprs:
        uses[e] = uses.get(e, 0) + 1
    names = _Names(prefix)
    definitions: list[tuple[sp.Symbol, sp.Expr]] = []
    ref: dict[sp.Expr, sp.Expr] = {}
    for node in order:
        new_args = [ref[a] if a.args else a for a in node.args]
        form = node if all(n is a for n, a in zip(new_args, node.args)) else node.func(*new_args)
        if uses.get(node, 0) > 1 and not _trivial(node) and not _reciprocal(node):
            name = names.new()
            definitions.append((name, form))
            ref[node] = name
        else:
            ref[node] = form
    return tuple(definitions), tuple(ref.get(e, e) for e in exprs)


def _trivial(node: sp.Expr) -> bool:
    # -x or 2*x: naming it saves nothing
    return node.is_Mul and len(node.args) == 2 and node.args[0].is_Number and node.args[1].is_Atom


def _reciprocal(node: sp.Expr) -> bool:
    # 1/t0 is written t0 in a denominator: naming it would turn x/t0 into x*t1, which rounds
    return node.is_Pow and node.exp is sp.S.NegativeOne


def count_ops(exprs: Iterable[sp.Expr]) -> int:
    """Arithmetic operations and function calls in ``exprs``, each distinct node once."""
    total = 0
    for node in topological(list(exprs)):
        if node.is_Add or node.is_Mul:
            total += len(node.args) - 1
        else:
            total += 1
    return total
