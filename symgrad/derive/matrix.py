"""Derivatives in matrix notation: reverse mode over the shaped tree, then a tidy-up.

One backward sweep visits each distinct node once, children after parents, and pushes its
adjoint to its operands with the node's VJP rule (``rules.RULES``). The constructors keep
the results canonical (``2*norm2(r)*r/norm2(r)`` is ``2*r``); ``tidy`` factors what the
sweep adds up (``A*x + A'*x`` is ``(A + A')*x``). So

    d/dw norm2(X*w - y)^2 = 2*X'*(X*w - y)
    d/dX log(det(X))      = inv(X)'
    d/dX tr(A*X*B)        = A'*B'

The Jacobian of a vector-valued expression is built forwards (``diag(f'(u))*J(u)``,
``A*J(u)``), with the reverse sweep for its scalar parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from symgrad.derive.matrix_rules import RULES
from symgrad.errors import InputError, VariableError
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_shapes import SCALAR, Shape, parse_shapes, shape_text
from symgrad.parsing.matrix_tree import Node
from symgrad.results import MatrixGradient, MatrixJacobian

ExprLike = str | Node
ShapesLike = Mapping[str, object] | str | Sequence[str] | None
WrtLike = None | str | Iterable[str]


# ---------------------------------------------------------------- the reverse sweep


def adjoints(root: Node, wrt: Sequence[Node]) -> list[Node]:
    """d root / d v for each variable ``v`` of ``wrt`` (a scalar ``root``), tidied."""
    order = E.walk(root)
    pending: dict[Node, list[Node]] = {root: [E.ONE]}
    wanted = set(wrt)
    done: dict[Node, Node] = {}
    for node in reversed(order):  # parents before children
        parts = pending.pop(node, None)
        if parts is None:
            continue
        g = tidy(E.add(*reversed(parts)))  # parents met last were written first
        if node in wanted:
            done[node] = g
        rule = RULES[node.op].vjp
        if rule is None or E.is_zero(g):
            continue
        for child, part in zip(node.args, rule(node, g)):
            if part.shape != child.shape:
                if not child.is_scalar:
                    raise AssertionError(f"adjoint of shape {part.shape} for {child}")
                part = E.sum_(part)  # a scalar broadcast over the node: its adjoint adds up
            pending.setdefault(child, []).append(part)
    return [done.get(v, E.zeros(v.shape)) for v in wrt]


# ---------------------------------------------------------------- tidying


def tidy(node: Node) -> Node:
    """The shortest of a few equivalent forms: products of sums multiplied out where that
    is shorter (``s .* (1 - s) .* ((1 - y) ./ (1 - s) - y ./ s)`` is ``s - y``), then sums of
    matrix products that share a first or last factor factored: ``A*x + A'*x`` is
    ``(A + A')*x``, ``X'*u + X'*v`` is ``X'*(u + v)``."""
    if _worth_expanding(node):
        expanded = expand(node)
        if expanded is not None and expanded != node and _length(expanded) < _length(node):
            node = expanded
    for _ in range(8):  # each pass merges at least two terms; a few passes suffice
        if node.op != "add":
            return node
        merged = _factor_once(node)
        if merged is None:
            return node
        node = merged
    return node


MAX_EXPANDED_TERMS = 64
MAX_EXPANDED_SUMS = 4  # sums multiplied together in one product: more is not worth a try
MAX_EXPANDED_LENGTH = 400


def _worth_expanding(node: Node) -> bool:
    """A product (or a sum of products) of a few sums, small enough to try multiplying out."""
    products = [node] if node.op == "mul" else [t for t in node.args if t.op == "mul"]
    if node.op not in ("mul", "add") or not products:
        return False
    for p in products:
        sums = sum(1 for b in p.args if b.op == "add")
        if sums > MAX_EXPANDED_SUMS:
            return False
    return any(b.op == "add" for p in products for b in p.args) and (
        _length(node) <= MAX_EXPANDED_LENGTH
    )


def _length(node: Node) -> int:
    """Size of the tree as written: every node of every repeat, and every coefficient that
    is not 1 or -1 (so that ``-2*(y - V*h)`` is not traded for ``2*V*h - 2*y``)."""
    size: dict[Node, int] = {}
    for n in E.walk(node):
        own = 1
        if n.op == "add":
            own += sum(1 for c in n.data if abs(c) != 1)
        elif n.op == "mul" and abs(n.data[0]) != 1:
            own += 1
        size[n] = own + sum(size[a] for a in n.args)
    return size[node]


def expand(node: Node) -> Node | None:
    """``node`` with elementwise products of sums multiplied out (matrix products, function
    arguments and reductions are left as they are); None past ``MAX_EXPANDED_TERMS``."""
    found = _expand_terms(node)
    return None if found is None else E.add(*found)


def _expand_terms(node: Node, budget: list[int] | None = None) -> list[Node] | None:
    budget = budget if budget is not None else [MAX_EXPANDED_TERMS]
    if node.op == "add":
        out: list[Node] = []
        for c, t in zip(node.data, node.args):
            part = _expand_terms(t, budget)
            if part is None:
                return None
            out += [E.mul(c, p) for p in part]
        return out
    if node.op != "mul":
        return [node]
    sums = [b for b, e in zip(node.args, node.data[1]) if b.op == "add" and e.is_Integer and e > 0]
    if not sums:
        return [node]
    # distribute one sum over the rest of the product, so that each of its terms can cancel
    # with the rest ((1 - s) .* (y ./ (1 - s)) is y); the sum whose terms cancel most first
    best = None
    for b in sums:
        rest = E.mul(node, E.pow_(b, -1))
        spread = [E.mul(rest, c, t) for c, t in zip(b.data, b.args)]
        size = sum(_length(t) for t in spread)
        if best is None or size < best[0]:
            best = (size, spread)
    budget[0] -= len(best[1])
    if budget[0] < 0:
        return None
    out = []
    for t in best[1]:
        part = _expand_terms(t, budget)
        if part is None:
            return None
        out += part
    return out


MAX_DISTRIBUTED_TERMS = 256


def distributed(node: Node) -> Node | None:
    """A normal form for comparing two expressions: every product (matrix or elementwise)
    multiplied out over sums and every transpose pushed down to the variables, so that
    ``2*X'*(X*w - y)`` and ``2*X'*X*w - 2*X'*y`` become the same node. None past
    ``MAX_DISTRIBUTED_TERMS`` terms."""
    try:
        return E.add(*_distribute(node))
    except _TooLarge:
        return None


class _TooLarge(Exception):
    pass


def _distribute(node: Node) -> list[Node]:
    op = node.op
    if op == "add":
        out = [E.mul(c, t) for c, term in zip(node.data, node.args) for t in _distribute(term)]
    elif op == "matmul":
        out = [E.ONE]
        for operand in node.args:
            out = [E.product(a, b) for a in out for b in _distribute(operand)]
            if len(out) > MAX_DISTRIBUTED_TERMS:
                raise _TooLarge
        out = [E.matmul(t) if not t.is_scalar else t for t in out]
    elif op == "mul":
        coef, exps = node.data
        out = [E.mul(coef, E.ones(node.shape)) if not node.is_scalar else E.num(coef)]
        for base, e in zip(node.args, exps):
            if e.is_Integer and 0 < e <= 3:
                parts = _distribute(base)
                for _ in range(int(e)):
                    out = [E.mul(a, b) for a in out for b in parts]
            else:
                out = [E.mul(a, E.pow_(base, e)) for a in out]
            if len(out) > MAX_DISTRIBUTED_TERMS:
                raise _TooLarge
    elif op == "T":
        out = [_transposed_down(t) for t in _distribute(node.args[0])]
    else:
        return [node]
    if len(out) > MAX_DISTRIBUTED_TERMS:
        raise _TooLarge
    return out


def _transposed_down(node: Node) -> Node:
    """The transpose of a distributed term, pushed down to its factors."""
    if node.op == "matmul":
        return E.matmul(*(_transposed_down(o) for o in reversed(node.args)))
    if node.op == "mul":
        coef, exps = node.data
        return E.mul(coef, *(E.pow_(_transposed_down(b), e) for b, e in zip(node.args, exps)))
    return E.transpose(node)


def _factor_once(node: Node) -> Node | None:
    items = list(zip(node.data, node.args))
    for side in (-1, 0):
        groups: dict[Node, list[int]] = {}
        for k, (_, term) in enumerate(items):
            if term.op == "matmul":
                groups.setdefault(term.args[side], []).append(k)
        for factor, members in groups.items():
            if len(members) < 2:
                continue
            rest = []
            for k in members:
                coef, term = items[k]
                others = term.args[:-1] if side == -1 else term.args[1:]
                rest.append((coef, E.matmul(*others)))
            # plain before transposed: (A + A')*x, as a person writes it
            rest.sort(key=lambda ct: (bool(ct[0].is_negative), E.transposes(ct[1])))
            inner = tidy(E.add(*(E.mul(c, t) for c, t in rest)))
            joined = E.matmul(inner, factor) if side == -1 else E.matmul(factor, inner)
            kept = [E.mul(c, t) for k, (c, t) in enumerate(items) if k not in members]
            first = members[0]
            before = sum(1 for k in range(first) if k not in members)
            kept.insert(before, joined)
            return E.add(*kept)
    return None


# ---------------------------------------------------------------- shared subexpressions


_NOT_SHARED = ("sym", "num", "ones", "zeros", "eye", "onehot", "ref")


def name_shared(
    outputs: Sequence[Node], taken: Iterable[str] = ()
) -> tuple[tuple[tuple[str, Node], ...], tuple[Node, ...]]:
    """Name every subexpression used more than once in ``outputs`` (``t0``, ``t1``, ...,
    as ``--cse`` does): the definitions in evaluation order, and ``outputs`` in their terms.

    >>> from symgrad.parsing.matrix import parse_matrix
    >>> u = parse_matrix("tanh(W*x)", "W=m,n; x=n")
    >>> defs, (out,) = name_shared([E.mul(u, E.call("exp", u))])
    >>> defs, out
    ((('t0', tanh(W*x)),), t0 .* exp(t0))
    """
    from symgrad.derive.reverse import name_prefix
    from symgrad.functions import symbol

    order = E.walk(*outputs)
    uses: dict[Node, int] = {}
    present = set(order)
    for node in order:
        for child in dict.fromkeys(node.args):
            uses[child] = uses.get(child, 0) + 1
        unit = _unscaled(node)
        if unit is not None and unit in present:  # -2*t .* u uses t .* u
            uses[unit] = uses.get(unit, 0) + 1
    for out in outputs:
        uses[out] = uses.get(out, 0) + 1
    prefix = name_prefix([symbol(t) for t in taken])
    renamed: dict[Node, Node] = {}
    definitions: list[tuple[str, Node]] = []

    def visit(node: Node) -> None:
        if node in renamed:
            return
        args = tuple(renamed.get(a, a) for a in node.args)
        new = node if args == node.args else _with_args(node, args)
        unit = _unscaled(node)
        if unit is not None and uses.get(unit, 0) >= 2 and _worth_naming(unit):
            visit(unit)  # its factors are this node's: already visited
            if renamed.get(unit, unit).op == "ref":
                renamed[node] = E.mul(node.data[0], renamed[unit])
                return
        if uses.get(node, 0) >= 2 and _worth_naming(node):
            name = f"{prefix}{len(definitions)}"
            definitions.append((name, new))
            renamed[node] = Node("ref", (), name, node.shape)
        elif new is not node:
            renamed[node] = new

    for node in order:
        visit(node)
    return _inline_single_uses(definitions, [renamed.get(o, o) for o in outputs], prefix)


def _inline_single_uses(
    definitions: list[tuple[str, Node]], outputs: list[Node], prefix: str
) -> tuple[tuple[tuple[str, Node], ...], tuple[Node, ...]]:
    """Put back the names used only once (inside another name, once the scaled products
    share one), and number the others again from 0."""
    uses: dict[str, int] = {}
    for node in E.walk(*(d for _, d in definitions), *outputs):
        for a in dict.fromkeys(node.args):
            if a.op == "ref":
                uses[a.data] = uses.get(a.data, 0) + 1
    for out in outputs:
        if out.op == "ref":
            uses[out.data] = uses.get(out.data, 0) + 2
    table: dict[str, Node] = {}
    kept: list[tuple[str, Node]] = []
    for name, body in definitions:
        body = _substitute(body, table)
        if uses.get(name, 0) >= 2:
            new_name = f"{prefix}{len(kept)}"
            kept.append((new_name, body))
            table[name] = Node("ref", (), new_name, body.shape)
        else:
            table[name] = body
    return tuple(kept), tuple(_substitute(o, table) for o in outputs)


def _unscaled(node: Node) -> Node | None:
    """``t .* u`` for ``-2*t .* u``; None unless ``node`` is a product with a coefficient."""
    if node.op == "mul" and node.data[0] != 1 and len(node.args) > 1:
        return E.split_coefficient(node)[1]
    return None


def _worth_naming(node: Node) -> bool:
    if node.op in _NOT_SHARED:
        return False
    if node.op == "T" and node.args[0].op in _NOT_SHARED:
        return False
    if node.op == "mul" and len(node.args) == 1 and node.args[0].op in _NOT_SHARED:
        return node.data[1][0] != 1  # 2*x is not worth a name; x.^2 is
    return True


def _with_args(node: Node, args: tuple[Node, ...]) -> Node:
    """``node`` with its operands replaced by names of the same shapes, structure kept."""
    if node.op == "add":
        key = ("add", node.shape, frozenset((a.key, c) for c, a in zip(node.data, args)))
    elif node.op == "mul":
        coef, exps = node.data
        key = ("mul", node.shape, coef, frozenset((a.key, e) for a, e in zip(args, exps)))
    else:
        key = None
    return Node(node.op, args, node.data, node.shape, key)


def expand_refs(node: Node, definitions: Sequence[tuple[str, Node]]) -> Node:
    """``node`` with every name of ``definitions`` replaced by what it stands for, in
    canonical form again."""
    table: dict[str, Node] = {}
    for name, body in definitions:
        table[name] = _substitute(body, table, E.rebuild)
    return _substitute(node, table, E.rebuild)


def _substitute(node: Node, table: Mapping[str, Node], build=None) -> Node:
    build = build or _with_args
    memo: dict[Node, Node] = {}
    for n in E.walk(node):
        if n.op == "ref":
            memo[n] = table.get(n.data, n)
            continue
        args = tuple(memo.get(a, a) for a in n.args)
        memo[n] = n if args == n.args else build(n, args)
    return memo[node]


# ---------------------------------------------------------------- the library


def as_node(expr: ExprLike, shapes: ShapesLike) -> tuple[Node, dict[str, Shape]]:
    """Parse text with ``shapes``; pass a node through. Returns the node and the shapes."""
    table = parse_shapes(shapes) if shapes is not None else {}
    if isinstance(expr, Node):
        return expr, table
    if not isinstance(expr, str):
        raise InputError(f"expected an expression or text, got {type(expr).__name__}")
    from symgrad.parsing.matrix import parse_matrix

    return parse_matrix(expr, table), table


def variable_shapes(node: Node, declared: Mapping[str, Shape] = {}) -> dict[str, Shape]:
    """The shape of every variable in ``node``, in natural order of their names."""
    from symgrad.derive.partial import natural_key

    found = {v.name: v.shape for v in E.variables(node)}
    return {k: found[k] for k in sorted(found, key=natural_key)}


def resolve_wrt(
    node: Node, wrt: WrtLike, declared: Mapping[str, Shape]
) -> tuple[list[Node], list[str]]:
    """The variables to differentiate by (default: every variable, in natural order), and
    notes for names that do not appear."""
    from symgrad.functions import normalize_name

    have = variable_shapes(node)
    if wrt is None:
        if not have:
            raise VariableError("the expression is a constant: it has no variables")
        return [E.sym(n, s) for n, s in have.items()], []
    names = wrt.split(",") if isinstance(wrt, str) else list(wrt)
    chosen: list[Node] = []
    notes: list[str] = []
    for item in names:
        name = normalize_name(str(item).strip())
        if not name:
            raise VariableError("empty variable name in --wrt: give names such as --wrt W,b")
        if any(c.name == name for c in chosen):
            raise VariableError(f"'{name}' is named twice in --wrt")
        shape = have.get(name, declared.get(name, SCALAR))
        if name not in have:
            listed = ", ".join(have) or "none"
            notes.append(f"{name} does not appear in the expression (its variables are {listed})")
        chosen.append(E.sym(name, shape))
    return chosen, notes


def matrix_gradient(
    expr: ExprLike, shapes: ShapesLike = None, wrt: WrtLike = None, *, cse: bool = False
) -> MatrixGradient:
    """The gradient of a scalar expression of vectors and matrices, in matrix notation.

    Each partial has the shape of its variable; ``cse=True`` names shared subexpressions
    (``t0``, ``t1``, ...) in ``.cse``.

    >>> g = matrix_gradient("x'*A*x", "A=n,n; x=n", wrt="x")
    >>> g.partials
    ((A + A')*x,)
    >>> matrix_gradient("log(det(X))", "X=n,n").partials
    (inv(X)',)
    """
    node, declared = as_node(expr, shapes)
    if not node.is_scalar:
        raise InputError(
            f"the expression is {E._shape_words(node.shape)}: a gradient needs a scalar "
            "(a loss); use jacobian for a vector-valued expression, or reduce it with "
            "sum(...) or norm2(...)^2"
        )
    variables, notes = resolve_wrt(node, wrt, declared)
    partials = adjoints(node, variables)
    all_shapes = variable_shapes(node)
    for v in variables:
        all_shapes.setdefault(v.name, v.shape)
    names = tuple(v.name for v in variables)
    definitions = None
    if cse:
        definitions, partials = name_shared(partials, all_shapes)
    return MatrixGradient(
        expression=node,
        shapes=all_shapes,
        wrt=names,
        partials=tuple(partials),
        cse=definitions,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- Jacobians, forwards


def matrix_jacobian(
    expr: ExprLike, shapes: ShapesLike = None, wrt: WrtLike = None, *, cse: bool = False
) -> MatrixJacobian:
    """The Jacobian of a vector-valued expression with respect to vectors (or scalars).

    >>> matrix_jacobian("tanh(W*x + b)", "W=m,n; x=n; b=m", wrt="x").blocks
    (diag(1 - tanh(W*x + b).^2)*W,)
    >>> matrix_jacobian("softmax(z)", "z=n").blocks
    (diag(softmax(z)) - softmax(z)*softmax(z)',)

    Without ``wrt``, by every vector and scalar variable (a matrix's Jacobian would be a
    tensor).
    """
    node, declared = as_node(expr, shapes)
    if node.shape[0] != 1 and node.shape[1] != 1:
        raise InputError(
            f"the expression is {E._shape_words(node.shape)}: a Jacobian needs a scalar or a "
            "vector-valued expression (take one column, or differentiate an entry)"
        )
    variables, notes = resolve_wrt(node, wrt, declared)
    if wrt is None:  # by default, every variable a Jacobian can be taken by
        variables = [v for v in variables if v.shape[0] == 1 or v.shape[1] == 1]
        if not variables:
            raise VariableError(
                "the expression has no vector or scalar variable to take a Jacobian by; name "
                "one with --wrt, or use grad on a scalar"
            )
    blocks = []
    rows = node.shape[1] if node.shape[0] == 1 and node.shape[1] != 1 else node.shape[0]
    for v in variables:
        if v.shape[0] != 1 and v.shape[1] != 1:
            raise InputError(
                f"jacobian with respect to the matrix {v.name} ({shape_text(v.shape)}): "
                "differentiate by vectors or scalars, or use grad on a scalar"
            )
        size = v.shape[1] if v.shape[0] == 1 else v.shape[0]
        found = _Forward(v).jac(node)
        blocks.append(found if found is not None else E.zeros((rows, size)))
    all_shapes = variable_shapes(node)
    for v in variables:
        all_shapes.setdefault(v.name, v.shape)
    blocks = [tidy(b) for b in blocks]
    definitions = None
    if cse:
        definitions, blocks = name_shared(blocks, all_shapes)
    return MatrixJacobian(
        expression=node,
        shapes=all_shapes,
        wrt=tuple(v.name for v in variables),
        blocks=tuple(blocks),
        cse=definitions,
        notes=tuple(notes),
    )


class _Forward:
    """d node / d v as a matrix (rows: entries of the node, columns: entries of ``v``)."""

    def __init__(self, v: Node):
        self.v = v
        self.size = v.shape[1] if v.shape[0] == 1 else v.shape[0]
        self.memo: dict[Node, Node | None] = {}

    def jac(self, node: Node) -> Node | None:
        for n in E.walk(node):
            if n not in self.memo:
                self.memo[n] = self._jac(n)
        return self.memo[node]

    def depends(self, node: Node) -> bool:
        return self.memo.get(node) is not None

    def _jac(self, n: Node) -> Node | None:
        if n == self.v:
            return E.eye(self.size) if not n.is_scalar else E.ONE
        if not any(self.depends(a) for a in n.args):
            return None
        if n.is_scalar:
            (g,) = adjoints(n, [self.v])  # a scalar's Jacobian is its gradient, as a row
            return E.transpose(g)
        if n.shape[0] == 1:  # a row vector: the same entries as its column
            return self.memo[n.args[0]] if n.op == "T" else self.jac(E.transpose(n))
        return self._column(n)

    def _column(self, n: Node) -> Node:
        op = n.op
        if op == "T":
            return self.memo[n.args[0]]
        if op == "add":
            parts = []
            for c, t in zip(n.data, n.args):
                j = self.memo.get(t)
                if j is None:
                    continue
                if t.is_scalar:  # a scalar added to every entry
                    j = E.matmul(E.ones(n.shape), j)
                parts.append(E.mul(c, j))
            return E.add(*parts)
        if op in ("mul", "fn", "pow"):
            return self._elementwise(n)
        if op == "matmul":
            ops = n.args
            parts = []
            for i, o in enumerate(ops):
                j = self.memo.get(o)
                if j is None:
                    continue
                if i == len(ops) - 1 and o.shape[1] == 1:
                    parts.append(E.matmul(*ops[:-1], j))
                    continue
                raise self._unsupported(n, o)
            return E.add(*parts)
        if op == "softmax":
            j = self.memo[n.args[0]]
            return E.matmul(E.sub(E.diag(n), E.matmul(n, E.transpose(n))), j)
        raise self._unsupported(n, n.args[0])

    def _elementwise(self, n: Node) -> Node:
        """Each operand's elementwise partial, as a diagonal matrix (or a column for a
        scalar operand broadcast over the entries) times the operand's Jacobian."""
        if n.op == "mul":
            partials = [E.mul(e, n, E.pow_(b, -1)) for b, e in zip(n.args, n.data[1])]
        else:
            ones = E.ones(n.shape)
            partials = [E.mul(p, ones) for p in RULES[n.op].vjp(n, ones)]
        parts = []
        for a, d in zip(n.args, partials):
            j = self.memo.get(a)
            if j is None:
                continue
            parts.append(E.matmul(d, j) if a.is_scalar else E.matmul(E.diag(d), j))
        return E.add(*parts)

    def _unsupported(self, n: Node, part: Node) -> InputError:
        return InputError(
            f"jacobian: {n} depends on {self.v.name} through {part} "
            f"({E._shape_words(part.shape)}), which has no Jacobian in matrix form here; "
            "differentiate one entry with grad instead"
        )
