"""Verdicts on matrix gradients: every entry against central finite differences, on random
matrices of small sizes (``--dims m=5,n=3``) or at a given point, and claimed matrix
formulas (``--claim``) against the symbolic gradient.

At each point, f and every partial come from one compiled numpy function; then f is
evaluated at ``x +- h`` for every entry of every variable in one stacked call (``2 *
entries`` points), with the step and tolerances of ``symgrad.check``
(``h = 6e-6*max(1, |x|)``, ``atol=1e-5, rtol=1e-3`` plus the rounding in f). Entries that
disagree are retried with other steps and Richardson's extrapolation before they count as a
mismatch; a difference quotient that straddles a kink (relu, abs at 0) is not used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from symgrad.derive.matrix import (
    ExprLike,
    ShapesLike,
    WrtLike,
    as_node,
    distributed,
    matrix_gradient,
    tidy,
    variable_shapes,
)
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import function_table
from symgrad.notation import counted
from symgrad.numeric.check import CLAIM_ATOL, CLAIM_RTOL, DEFAULT_ATOL, DEFAULT_RTOL, STEP
from symgrad.numeric.hints import constant_shift, factor_hint
from symgrad.numeric.matrix import Compiled, load_point, nested, point_arrays
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_shapes import Shape, dim_names, parse_dims, shape_text, transposed
from symgrad.parsing.matrix_tree import Node
from symgrad.results import (
    MISMATCH,
    PASS,
    UNVERIFIABLE,
    MatrixCheckResult,
    MatrixClaimVerdict,
    MatrixGradient,
)

DEFAULT_POINTS = 10
MAX_POINTS = 10_000
DEFAULT_SIZES = (3, 4, 2, 5, 6, 7, 8, 9)  # distinct sizes: a transposed result cannot fit
MAX_CHECK_ENTRIES = 100_000  # entries of the variables checked at one point
TRIES_PER_POINT = 40
_EPS = np.finfo(float).eps
CONDITION_LIMIT = 1e4  # a random square matrix worse than this is drawn again for inv/det
SINGULAR = 1e10  # condition number past which a matrix counts as singular
CHUNK_FLOATS = 4_000_000  # numbers in the stacked arrays of one call of the stencil (32 MB)


# ---------------------------------------------------------------- the library


def check_matrix_gradient(
    expr: ExprLike,
    shapes: ShapesLike = None,
    wrt: WrtLike = None,
    *,
    claims: Sequence[ExprLike] = (),
    at: str | Mapping | None = None,
    dims: str | Sequence[str] | Mapping[str, int] | None = None,
    points: int = DEFAULT_POINTS,
    seed: int = 0,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> MatrixCheckResult:
    """The matrix gradient of ``expr`` against central finite differences, entry by entry.

    At ``at`` (``@point.json``, JSON text or a mapping of nested lists), or at ``points``
    random points whose matrices have the sizes ``dims`` (default: small distinct sizes).
    ``claims`` are matrix formulas, one per variable of ``wrt``, compared with the gradient.

    >>> r = check_matrix_gradient("norm2(X*w - y)^2", "X=m,n; w=n; y=m", "w",
    ...                           claims=["2*X'*(X*w - y)"], dims="m=5,n=3")
    >>> r.status, r.claims[0].proof, r.dims
    ('pass', 'symbolic', {'m': 5, 'n': 3})
    """
    if not 1 <= points <= MAX_POINTS:
        raise InputError(f"--points must be between 1 and {MAX_POINTS:,}, not {points}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"--{name} must be a finite number >= 0, not {value}")
    node, declared = as_node(expr, shapes)
    grad = matrix_gradient(node, declared, wrt)
    variables = [E.sym(n, s) for n, s in variable_shapes(node).items()]
    claimed = _claims(grad, claims, declared, variables)
    checker = _Checker(grad, claimed, variables, rtol, atol)
    if at is not None:
        point = load_point(at)
        arrays, sizes = point_arrays(variables, point, parse_dims(dims))
        return checker.at_point(arrays, sizes)
    given = parse_dims(dims)
    every = E.walk(grad.expression, *grad.partials, *claimed)  # ones(n) may name a size too
    sizes = default_dims([n.shape for n in every], given)
    unused = [d for d in given if d not in sizes]
    notes = [f"--dims {', '.join(unused)}: not a size of any variable here"] if unused else []
    return checker.at_random(points, seed, sizes, notes)


def default_dims(shapes: Sequence[Shape], given: Mapping[str, int]) -> dict[str, int]:
    """Sizes for every named dimension: those given, the rest small and distinct."""
    names = dim_names(shapes)
    sizes = {d: s for d, s in given.items() if d in names}
    free = [s for s in DEFAULT_SIZES if s not in sizes.values()]
    for d in names:
        if d not in sizes:
            sizes[d] = free.pop(0) if free else 3
    return {d: sizes[d] for d in names}


def _claims(
    grad: MatrixGradient,
    claims: Sequence[ExprLike],
    declared: Mapping[str, Shape],
    variables: Sequence[Node],
) -> tuple[Node, ...]:
    from symgrad.parsing.matrix import parse_matrix

    if claims and len(claims) != len(grad.wrt):
        raise InputError(
            f"got {counted(len(claims), 'claim')} for {counted(len(grad.wrt), 'variable')} "
            f"({', '.join(grad.wrt)}): give one --claim per --wrt variable, in the same order"
        )
    have = {v.name for v in variables}
    out = []
    for claim, var, shape in zip(claims, grad.wrt, grad.partial_shapes):
        if isinstance(claim, Node):
            node = claim
        else:
            try:
                node = parse_matrix(claim, dict(declared))
            except (ParseError, InputError) as err:
                raise type(err)(
                    f"in --claim {str(claim)!r}: {err.message}",
                    column=err.column,
                    source=err.source,
                ) from None
        extra = sorted(v.name for v in E.variables(node) if v.name not in have)
        if extra:
            raise VariableError(
                f"the claim {node} uses {', '.join(extra)}, which is not in "
                f"{grad.expression}; its variables are {', '.join(sorted(have))}"
            )
        if node.shape != shape and not node.is_scalar:  # a scalar: the same in every entry
            hint = ""
            if node.shape == transposed(shape):
                hint = f"; the claim is transposed: try {E.transpose(node)}"
            raise InputError(
                f"the claim {node} for d/d{var} is {shape_text(node.shape)}, but {var} is "
                f"{shape_text(shape)}: a gradient has the shape of its variable{hint}"
            )
        out.append(E.mul(node, E.ones(shape)) if node.shape != shape else node)
    return tuple(out)


# ---------------------------------------------------------------- the work


@dataclass
class _Point:
    arrays: dict[str, np.ndarray]
    value: float
    partials: list[np.ndarray]  # one per wrt, in the variable's shape
    claims: list[np.ndarray]
    fd: list[np.ndarray]  # central differences, nan where unusable
    err: list[np.ndarray]
    tol: list[np.ndarray]


class _Checker:
    def __init__(self, grad, claims, variables, rtol, atol):
        self.grad = grad
        self.claims = claims
        self.variables = list(variables)
        self.rtol = rtol
        self.atol = atol
        self.wrt = [E.sym(n, s) for n, s in zip(grad.wrt, grad.partial_shapes)]
        self.kinks = _kink_subjects(grad.expression)
        self.inverted = [
            n.args[0] for n in E.walk(grad.expression, *grad.partials) if n.op in ("inv", "det")
        ]
        self.needs_conditioning = bool(self.inverted)

    def compile(self, sizes):
        # the largest matrix any node makes at these sizes: it sets the stencil's chunks
        self.largest = max(_size(n.shape, sizes) for n in E.walk(self.grad.expression, *self.kinks))
        main = Compiled(
            [self.grad.expression, *self.grad.partials, *self.claims, *self.inverted],
            self.variables,
            sizes,
        )
        value = Compiled([self.grad.expression, *self.kinks], self.variables, sizes)
        return main, value

    # ------------------------------------------------------------ one point

    def evaluate(self, arrays, main, value_fn) -> _Point | str:
        """Everything at one point, or why the point cannot be used."""
        args = [arrays[v.name][None] for v in self.variables]
        out = main(*args)
        m, c = len(self.wrt), len(self.claims)
        value = float(out[0][0, 0, 0])
        partials = [o[0] for o in out[1 : m + 1]]
        claims = [o[0] for o in out[m + 1 : m + 1 + c]]
        for node, matrix in zip(self.inverted, out[m + 1 + c :]):
            # a singular matrix has no inverse, and near one no difference quotient is exact
            if not np.all(np.isfinite(matrix[0])) or np.linalg.cond(matrix[0]) > SINGULAR:
                return f"{node} is singular or nearly so here"
        if not math.isfinite(value):
            return "f is not a finite real number here"
        if not all(np.all(np.isfinite(p)) for p in partials):
            return "the gradient is not finite here"
        base = value_fn(*args)
        fd, err, tol = [], [], []
        for k, var in enumerate(self.wrt):
            if var.name not in arrays:  # not in the expression: its partial is 0
                fd.append(np.zeros_like(partials[k]))
                err.append(np.abs(partials[k]))
                tol.append(self.atol + self.rtol * np.abs(partials[k]))
                continue
            d, e, t = self.central(arrays, var, partials[k], value, base, value_fn)
            fd.append(d)
            err.append(e)
            tol.append(t)
        return _Point(arrays, value, partials, claims, fd, err, tol)

    def central(self, arrays, var, partial, value, base, value_fn, step=STEP, retry=True):
        """Central differences for every entry of ``var`` at once, the error against
        ``partial`` and the tolerance (with the rounding in f); nan where unusable."""
        x = arrays[var.name]
        rows, cols = x.shape
        n = rows * cols
        flat = x.reshape(-1)
        h = step * np.maximum(1.0, np.abs(flat))
        width = (flat + h) - (flat - h)  # the step actually taken, after rounding
        f_up, f_down, ok = np.empty(n), np.empty(n), np.ones(n, dtype=bool)
        # the stencil in chunks, so that the stacked matrices stay small whatever the sizes
        chunk = max(1, CHUNK_FLOATS // (2 * max(n, self.largest)))
        for start in range(0, n, chunk):
            k = np.arange(start, min(start + chunk, n))
            up = np.repeat(flat[None], len(k), axis=0)
            down = up.copy()
            up[np.arange(len(k)), k] += h[k]
            down[np.arange(len(k)), k] -= h[k]
            stack = np.concatenate([up, down]).reshape(2 * len(k), rows, cols)
            args = [stack if v.name == var.name else arrays[v.name][None] for v in self.variables]
            out = value_fn(*args)
            f = out[0][:, 0, 0]
            f_up[k], f_down[k] = f[: len(k)], f[len(k) :]
            part = np.isfinite(f[: len(k)]) & np.isfinite(f[len(k) :])
            for subject, at_base in zip(out[1:], base[1:]):
                same = np.sign(subject) == np.sign(at_base)
                part &= same.reshape(2 * len(k), -1).all(axis=1).reshape(2, len(k)).all(axis=0)
            ok[k] = part
        with np.errstate(all="ignore"):
            fd = (f_up - f_down) / width
            rounding = 64 * _EPS * (np.abs(f_up) + np.abs(f_down) + abs(value)) / width
        g = partial.reshape(-1)
        err = np.where(ok, np.abs(fd - g), np.nan)
        tol = self.atol + self.rtol * np.abs(g) + np.nan_to_num(rounding)
        bad = ok & (err > tol)
        if retry and np.any(bad):
            # near a pole truncation dominates, near cancellation rounding does: other steps,
            # each with Richardson's extrapolation (4 D(h/2) - D(h)) / 3; the best agreement
            for factor in (1 / 8, 8.0, 1 / 64, 64.0, 1 / 512):
                wide = self.central(
                    arrays, var, partial, value, base, value_fn, step * factor, False
                )
                half = self.central(
                    arrays, var, partial, value, base, value_fn, step * factor / 2, False
                )
                with np.errstate(all="ignore"):
                    richardson = (4 * half[0].reshape(-1) - wide[0].reshape(-1)) / 3
                for cand in (half[0].reshape(-1), richardson):
                    with np.errstate(all="ignore"):
                        better = np.abs(cand - g)
                    err = np.where(bad & np.isfinite(better), np.fmin(err, better), err)
                bad = ok & (err > tol)
                if not np.any(bad):
                    break
        shape = (rows, cols)
        return fd.reshape(shape), err.reshape(shape), tol.reshape(shape)

    # ------------------------------------------------------------ points

    def at_point(self, arrays, sizes) -> MatrixCheckResult:
        main, value_fn = self.compile(sizes)
        at = {name: nested(a, a.shape) for name, a in arrays.items()}
        found = self.evaluate(arrays, main, value_fn)
        if isinstance(found, str):
            claims = tuple(self._unverifiable(i) for i in range(len(self.claims)))
            return self._result(UNVERIFIABLE, [], sizes, at=at, claims=claims, notes=[found])
        return self._finish([found], sizes, at=at)

    def at_random(self, count: int, seed: int, sizes, notes=()) -> MatrixCheckResult:
        rng = np.random.default_rng(seed)
        entries = sum(_size(v.shape, sizes) for v in self.wrt)
        if entries > MAX_CHECK_ENTRIES:
            raise InputError(
                f"the variables have {entries:,} entries at these sizes; check with smaller "
                f"--dims (up to {MAX_CHECK_ENTRIES:,} entries)"
            )
        main, value_fn = self.compile(sizes)
        found: list[_Point] = []
        reasons: dict[str, None] = {}
        tries = 0
        while len(found) < count and tries < count * TRIES_PER_POINT:
            arrays = self.draw(rng, sizes, tries)
            tries += 1
            if arrays is None:
                continue
            point = self.evaluate(arrays, main, value_fn)
            if isinstance(point, str):
                reasons[point] = None
                continue
            found.append(point)
        notes = list(notes)
        if not found:
            claims = tuple(self._unverifiable(i) for i in range(len(self.claims)))
            why = "; ".join(list(reasons)[:2])
            notes.append(
                f"found no point where f and its gradient are finite real numbers (tried "
                f"{tries} random points{': ' + why if why else ''}); check at a point with "
                "--at @point.json, or with other sizes (--dims)"
            )
            return self._result(UNVERIFIABLE, [], sizes, claims=claims, notes=notes)
        if len(found) < count:
            notes.append(f"only {len(found)} of {tries} random points were inside the domain")
        return self._finish(found, sizes, notes=notes)

    def draw(self, rng, sizes, attempt: int) -> dict[str, np.ndarray] | None:
        """Random values for every variable: normal entries first; then, per variable, a
        mix of normal, positive (for log and sqrt) and well-conditioned positive definite
        matrices (for log(det(X)))."""
        arrays = {}
        for v in self.variables:
            shape = tuple(sizes.get(d, d) for d in v.shape)
            kind = "normal" if attempt < 4 else rng.choice(["normal", "positive", "spd"])
            if kind == "spd" and shape[0] == shape[1] and shape[0] > 1:
                b = rng.standard_normal(shape)
                a = b @ b.T / shape[0] + np.eye(shape[0])
            elif kind == "positive":
                a = rng.uniform(0.5, 2.0, size=shape)
            else:
                a = rng.standard_normal(shape)
            if self.needs_conditioning and shape[0] == shape[1] and shape[0] > 1:
                if np.linalg.cond(a) > CONDITION_LIMIT:
                    return None
            arrays[v.name] = a
        return arrays

    # ------------------------------------------------------------ verdicts

    def _finish(self, found: list[_Point], sizes, at=None, notes=()) -> MatrixCheckResult:
        notes = list(notes)
        worst = None  # (ratio, variable, entry, point)
        max_abs = max_rel = 0.0
        entries = skipped = 0
        for p in found:
            for var, err, tol, g in zip(self.grad.wrt, p.err, p.tol, p.partials):
                usable = np.isfinite(err)
                skipped += int(np.count_nonzero(~usable))
                entries += int(np.count_nonzero(usable))
                if not np.any(usable):
                    continue
                e = np.where(usable, err, 0.0)
                max_abs = max(max_abs, float(np.max(e)))
                denom = np.maximum(np.abs(g), self.atol if self.atol > 0 else 1e-300)
                max_rel = max(max_rel, float(np.max(e / denom)))
                ratio = np.where(usable, err / tol, -1.0)
                k = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
                if worst is None or ratio[k] > worst[0]:
                    worst = (float(ratio[k]), var, (int(k[0]), int(k[1])), p)
        if skipped:
            notes.append(
                f"{skipped} entries were not compared: their finite difference straddles a kink "
                "or leaves the domain"
            )
        if worst is None:
            claims = tuple(self._unverifiable(i) for i in range(len(self.claims)))
            return self._result(UNVERIFIABLE, found, sizes, at=at, claims=claims, notes=notes)
        gradient_status = MISMATCH if worst[0] > 1 else PASS
        claims = tuple(self._decide(i, found) for i in range(len(self.claims)))
        statuses = {c.status for c in claims}
        status = gradient_status
        if MISMATCH in statuses:
            status = MISMATCH
        elif UNVERIFIABLE in statuses and status == PASS:
            status = UNVERIFIABLE
        if gradient_status == MISMATCH:
            notes.insert(
                0,
                "the symbolic gradient disagrees with finite differences: this is a bug in "
                "symgrad, please report it with the input",
            )
        point = worst[3]
        return self._result(
            status,
            found,
            sizes,
            gradient_status=gradient_status,
            entries=entries,
            max_abs_error=max_abs,
            max_rel_error=max_rel,
            worst=(worst[1], worst[2]),
            worst_point={n: nested(a, a.shape) for n, a in point.arrays.items()},
            at=at,
            claims=claims,
            notes=notes,
        )

    def _result(self, status, found, sizes, **fields) -> MatrixCheckResult:
        notes = tuple(dict.fromkeys(fields.pop("notes", ())))
        return MatrixCheckResult(
            gradient=self.grad,
            status=status,
            points=len(found),
            rtol=self.rtol,
            atol=self.atol,
            dims=dict(sizes),
            notes=notes,
            **fields,
        )

    def _unverifiable(self, i: int) -> MatrixClaimVerdict:
        return MatrixClaimVerdict(
            self.grad.wrt[i], self.claims[i], self.grad.partials[i], UNVERIFIABLE
        )

    def _decide(self, i: int, found: list[_Point]) -> MatrixClaimVerdict:
        var, claim, true = self.grad.wrt[i], self.claims[i], self.grad.partials[i]
        for p in found:
            c, t = p.claims[i], p.partials[i]
            with np.errstate(invalid="ignore"):
                wrong = ~(
                    np.abs(c - t) <= CLAIM_ATOL + CLAIM_RTOL * np.maximum(np.abs(c), np.abs(t))
                )
            if np.any(wrong):
                diff = np.where(wrong, np.nan_to_num(np.abs(c - t), nan=np.inf), -1.0)
                k = np.unravel_index(int(np.argmax(diff)), diff.shape)
                claimed = float(c[k]) if math.isfinite(c[k]) else None
                truth = float(t[k])
                fd = float(p.fd[i][k]) if math.isfinite(p.fd[i][k]) else None
                return MatrixClaimVerdict(
                    var,
                    claim,
                    true,
                    MISMATCH,
                    points=len(found),
                    counterexample={n: nested(a, a.shape) for n, a in p.arrays.items()},
                    entry=(int(k[0]), int(k[1])),
                    claimed_value=claimed,
                    true_value=truth,
                    difference=None if claimed is None else claimed - truth,
                    finite_difference=fd,
                    hint=_hint(
                        claim, true, [q.claims[i] for q in found], [q.partials[i] for q in found]
                    ),
                )
        proof = "symbolic" if _same(claim, true) else "numeric"
        return MatrixClaimVerdict(var, claim, true, PASS, proof=proof, points=len(found))


def _size(shape: Shape, sizes: Mapping[str, int]) -> int:
    rows, cols = (sizes.get(d, d) for d in shape)
    return int(rows) * int(cols)


def _kink_subjects(node: Node) -> list[Node]:
    """Where a function of ``node`` has a kink or a jump (the table's ``kink`` and ``step``):
    the expressions whose sign decides the branch (``relu(u)``: u; ``max(a, b)``: a - b)."""
    found: dict[Node, None] = {}
    for n in E.walk(node):
        if n.op != "fn":
            continue
        entry = function_table()[n.data]
        xs = E._dummies(len(n.args))
        binding = dict(zip(xs, n.args))
        for where in (entry.kink, entry.step):
            for subject in where(xs) if where else ():
                found[E.from_sympy(subject, binding)] = None
    return list(found)


def _same(claim: Node, true: Node) -> bool:
    """Equal once both are in canonical form, tidied or multiplied out (cheap; no search)."""
    if claim == true or tidy(claim) == tidy(true):
        return True
    a, b = distributed(claim), distributed(true)
    return a is not None and a == b


def _hint(claim: Node, true: Node, cs: list[np.ndarray], ts: list[np.ndarray]) -> str | None:
    """What differs, where that is cheap to see: a constant factor (a sign error), a
    transpose, a constant term."""
    c = np.concatenate([a.reshape(-1) for a in cs])
    t = np.concatenate([a.reshape(-1) for a in ts])
    found = factor_hint(c, t)
    if found is not None:
        return found
    if all(a.shape[0] == a.shape[1] and a.shape[0] > 1 for a in cs):
        transposed_ = np.concatenate([a.T.reshape(-1) for a in cs])
        with np.errstate(all="ignore"):
            if np.all(np.abs(transposed_ - t) <= CLAIM_ATOL + CLAIM_RTOL * np.abs(t)):
                return f"the claim is the transpose of the derivative: try {E.transpose(claim)}"
    shifted = constant_shift(c, t)
    if shifted is not None:
        return f"off by a constant in every entry: the derivative is {shifted}"
    return None
