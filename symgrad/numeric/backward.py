"""The backward pass of an expression's computation graph at a point, as PyTorch runs it.

One node per distinct subexpression (a shared one is one node whose gradient sums over its
uses), its forward value, ``requires_grad`` (it depends on a ``--wrt`` variable), the local
derivative on each edge (each function's own rule, as in ``symgrad.derive.explain``) and each
node's gradient, accumulated edge by edge from the output back to the leaves.

>>> e = explain_at("w*x + b", "w,b", at="w=2,x=3,b=1")
>>> [(n.id, str(n.expression), n.value, n.grad, n.requires_grad) for n in e.graph.nodes]
[('b', 'b', 1.0, 1.0, True), ('w', 'w', 2.0, 3.0, True), ('x', 'x', 3.0, None, False), \
('t0', 'w*x', 6.0, 1.0, True), ('t1', 'b + t0', 7.0, 1.0, True)]
>>> e.gradient_value
(3.0, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import sympy as sp

from symgrad.derive.explain import _local, explain
from symgrad.derive.partial import ExprLike, WrtLike, gradient, variables
from symgrad.derive.reverse import _with_args, name_prefix, topological
from symgrad.functions import symbol
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.evaluate import gradient_at
from symgrad.results import Edge, Explanation, Graph, Node


def explain_at(
    expr: ExprLike, wrt: WrtLike = None, at: Mapping[str, float] | str | None = None
) -> Explanation:
    """``explain``'s derivation and, at the point ``at``, the backward pass of the graph; a
    derivation too long to read is left out (with a note) while the graph still answers."""
    result = explain(expr, wrt, shorten=True)
    if at is None:
        return result
    grad = gradient(result.expression, result.wrt)
    values = gradient_at(grad, at)
    graph = backward_graph(result.expression, result.wrt, values.at)
    return replace(
        result,
        at=values.at,
        graph=graph,
        value=values.value,
        gradient_value=values.gradient_value,
        notes=values.notes + result.notes,
        exit_code=values.exit_code,
    )


def _op(node: sp.Expr) -> str:
    if node.is_Add:
        return "add"
    if node.is_Mul:
        return "mul"
    if node.is_Pow:
        return "pow"
    name = type(node).__name__
    return {"Abs": "abs", "Max": "max", "Min": "min", "SoftmaxOutput": "softmax"}.get(
        name, name.lower() if name in ("Heaviside", "DiracDelta") else name
    )


def backward_graph(expr: sp.Expr, wrt: tuple[sp.Symbol, ...], at: Mapping[str, float]) -> Graph:
    """The computation graph of ``expr`` at ``at`` after ``backward()``: forward values, local
    derivatives on the edges, and gradients accumulated from the output back to the leaves.

    Leaves are the variables (``requires_grad`` for those in ``wrt``); every other node is one
    distinct subexpression. Gradients are accumulated in floating point, edge by edge, as
    autograd does; a node used twice receives the sum of both contributions.
    """
    leaves = variables(expr)
    order = [n for n in topological([expr]) if n.free_symbols]
    prefix = name_prefix([*leaves])
    ids: dict[sp.Expr, sp.Symbol] = {v: v for v in leaves}
    for k, node in enumerate(order):
        ids[node] = symbol(f"{prefix}{k}")

    def ref(a: sp.Expr) -> sp.Expr:
        return ids.get(a, a)

    point = [float(at[v.name]) for v in leaves]
    locals_: list[list[tuple[int, sp.Expr]]] = []
    written: list[sp.Expr] = []
    for node in order:
        edges = [(k, _local(node, k, ref, ids[node])) for k, a in enumerate(node.args)
                 if a.free_symbols]  # fmt: skip
        written += [w for _, w in edges]
        locals_.append(edges)
    # forward: every node's value (shared parts once); then the local derivatives, written
    # with the ids, from the values of the leaves and the nodes
    values = compile_exprs(order, list(leaves))(*point) if order else []
    node_values = {node: _finite(v) for node, v in zip(order, values)}
    node_values.update({v: float(x) for v, x in zip(leaves, point)})
    id_args = [*leaves, *(ids[n] for n in order)]
    id_point = [*point, *(float(v) for v in values)]
    edge_values = iter(compile_exprs(written, id_args)(*id_point) if written else [])
    targets = set(wrt)
    requires = {v: v in targets for v in leaves}
    for node in order:
        requires[node] = any(requires.get(a, False) for a in node.args)

    edge_table: dict[sp.Expr, list[tuple[sp.Expr, sp.Expr, float | None]]] = {}
    for node, edges in zip(order, locals_):
        edge_table[node] = [(node.args[k], w, _finite(next(edge_values))) for k, w in edges]

    # backward: each node's gradient is complete before it is passed on (reverse topological)
    grads: dict[sp.Expr, float | None] = {expr: 1.0} if requires.get(expr) else {}
    for node in reversed(order):
        g = grads.get(node)
        if not requires[node]:
            continue
        for a, _, local in edge_table[node]:
            if not requires.get(a, False):
                continue
            contribution = None if g is None or local is None else g * local
            if a in grads and grads[a] is None:
                continue
            grads[a] = None if contribution is None else grads.get(a, 0.0) + contribution
    nodes = []
    for v in leaves:
        nodes.append(
            Node(
                id=v.name,
                op="leaf",
                expression=v,
                inputs=(),
                value=node_values[v],
                grad=grads.get(v, 0.0) if requires[v] else None,
                leaf=True,
                requires_grad=requires[v],
            )
        )
    for node in order:
        inputs = tuple(str(ref(a)) for a in node.args if a.free_symbols)
        nodes.append(
            Node(
                id=ids[node].name,
                op=_op(node),
                expression=_with_args(node, [ref(a) for a in node.args]),
                inputs=inputs,
                value=node_values[node],
                grad=grads.get(node, 0.0) if requires[node] else None,
                leaf=False,
                requires_grad=requires[node],
                local=tuple(
                    Edge(str(ref(a)), written, value) for a, written, value in edge_table[node]
                ),
            )
        )
    output = ids[expr].name if expr in ids else str(expr)
    return Graph(nodes=tuple(nodes), output=output)


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
