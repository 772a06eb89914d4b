"""Numbers: points typed by a user, generated numpy code, domains and kinks.

Evaluation goes through sympy's ``lambdify`` with shared subexpressions (one generated numpy
function computes f and every partial at once), never through ``evalf`` on user input. The
generated code is built from the sympy tree, never from the user's text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symgrad.differentiate import ExprLike, Gradient, WrtLike, as_expr, gradient, variables
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.functions import Abs, normalize_name, relu
from symgrad.functions import sign as real_sign
from symgrad.parser import parse
from symgrad.verdicts import GradientAt, fmt_number

Point = dict[str, float]

# Functions whose derivative jumps (kinks) or which jump themselves (steps): the argument
# whose sign decides the branch, per function.
KINKS: dict[type, Callable[[sp.Expr], sp.Expr]] = {
    sp.Abs: lambda e: e.args[0],
    Abs: lambda e: e.args[0],  # symgrad's abs (real derivative rule)
    relu: lambda e: e.args[0],
    sp.Max: lambda e: e.args[0] - e.args[1],
    sp.Min: lambda e: e.args[0] - e.args[1],
}
STEPS: dict[type, Callable[[sp.Expr], sp.Expr]] = {
    sp.Heaviside: lambda e: e.args[0],
    sp.sign: lambda e: e.args[0],
    real_sign: lambda e: e.args[0],
    sp.DiracDelta: lambda e: e.args[0],
}


# ---------------------------------------------------------------- generated numpy code


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


def _dirac(x):
    return np.where(np.asarray(x) == 0, np.inf, 0.0)


class _Printer(NumPyPrinter):
    """numpy code for symgrad's vocabulary; what numpy lacks comes from ``_NAMESPACE``."""

    def _print_erf(self, expr):
        return f"_erf({self._print(expr.args[0])})"

    def _print_DiracDelta(self, expr):
        if len(expr.args) > 1:  # derivatives of the delta: zero away from 0, undefined at 0
            return f"(0*_dirac({self._print(expr.args[0])}))"
        return f"_dirac({self._print(expr.args[0])})"

    def _print_ComplexInfinity(self, expr):
        return "numpy.nan"

    def _print_Heaviside(self, expr):
        # Heaviside(x, H0): _h0 is 1/2 (sympy's value at 0) unless a caller asks otherwise
        default = len(expr.args) < 2 or expr.args[1] == sp.S.Half
        h0 = "_h0" if default else self._print(expr.args[1])
        return f"{self._module_format('numpy.heaviside')}({self._print(expr.args[0])}, {h0})"


_NAMESPACE = {"_erf": _erf, "_dirac": _dirac}


def compile_exprs(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> Callable:
    """One numpy function computing every expression in ``exprs`` (shared subexpressions once).

    The function takes one array per symbol in ``args`` (and an optional ``h0``, the step's
    value at 0) and returns a float array of shape ``(len(exprs), *shape)``; a value that is
    not real and finite there is ``nan`` or ``inf``.
    """
    return _compile(tuple(exprs), tuple(args))


@lru_cache(maxsize=64)
def _compile(exprs: tuple, args: tuple) -> Callable:
    printer = _Printer(
        {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": False}
    )
    raw = sp.lambdify(
        args, list(exprs), modules=[_NAMESPACE, "numpy"], printer=printer, cse=True, dummify=False
    )

    def call(*values, h0: float = 0.5):
        arrays = [np.asarray(v, dtype=float) for v in values]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        raw.__globals__["_h0"] = h0
        with np.errstate(all="ignore"):
            try:
                out = raw(*arrays)
            except (OverflowError, ZeroDivisionError):
                # a literal too large for a float: nothing here is finite
                return np.full((len(exprs), *shape), np.nan)
        rows = []
        for item in out:
            item = np.asarray(item)
            if np.iscomplexobj(item):
                item = np.where(item.imag == 0, item.real, np.nan)
            rows.append(np.broadcast_to(item.astype(float, copy=False), shape))
        return np.array(rows, dtype=float).reshape((len(exprs), *shape))

    call.generated = raw  # the generated function itself, for a loop of scalar calls (descend)
    return call


# ---------------------------------------------------------------- points


def split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses: ``x=atan2(1,2),y=3`` has two items."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


def constant_value(text: str) -> float:
    """The value of a constant typed by a user (``0.5``, ``-pi/2``, ``e^2``)."""
    expr = parse(text)
    if expr.free_symbols:
        names = ", ".join(sorted(s.name for s in expr.free_symbols))
        raise InputError(f"a value must be a number, but {text.strip()!r} contains {names}")
    value = float(compile_exprs([expr], [])()[0])
    if not math.isfinite(value):
        raise InputError(f"{text.strip()!r} is not a finite real number")
    return value


def parse_point(text: str) -> Point:
    """``w=1,x=2`` as ``{"w": 1.0, "x": 2.0}``; values may be constants such as ``pi/4``.

    >>> parse_point("w=1, x=-0.5, θ=pi")
    {'w': 1.0, 'x': -0.5, 'theta': 3.141592653589793}
    """
    point: Point = {}
    for item in split_top_level(text):
        if not item.strip():
            continue
        name, eq, value = item.partition("=")
        name = normalize_name(name.strip())
        if not eq or not name or not value.strip():
            raise InputError(
                f"expected name=value in --at, got {item.strip()!r} (e.g. --at w=1,x=2)"
            )
        if name in point:
            raise InputError(f"'{name}' is given twice in --at")
        try:
            point[name] = constant_value(value)
        except ParseError as err:
            raise InputError(
                f"the value of {name} in --at is not a number: {err.message}"
            ) from None
    if not point:
        raise InputError("--at needs values, e.g. --at w=1,x=2")
    return point


def point_values(expr: sp.Expr, at: Mapping[str, float] | str) -> dict[sp.Symbol, float]:
    """Bind each variable of ``expr`` to its value in ``at``; a missing or unknown name is an
    error naming it."""
    point = (
        parse_point(at)
        if isinstance(at, str)
        else {normalize_name(k): float(v) for k, v in at.items()}
    )
    have = variables(expr)
    names = {s.name for s in have}
    unknown = [n for n in point if n not in names]
    if unknown:
        listed = ", ".join(s.name for s in have) or "none"
        raise VariableError(f"'{unknown[0]}' is not in {expr}; its variables are {listed}")
    missing = [s.name for s in have if s.name not in point]
    if missing:
        which = ", ".join(missing)
        raise VariableError(
            f"no value for {which} in --at: give every variable of {expr} a value "
            f"(e.g. --at {','.join(f'{s.name}=1' for s in have)})"
        )
    return {s: point[s.name] for s in have}


def finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------- domains


@dataclass(frozen=True)
class Condition:
    """Where a function of the expression is real and finite: ``subject relation``."""

    subject: sp.Expr
    relation: str  # "> 0", ">= 0", "!= 0", "in [-1, 1]", "in (-1, 1)", ">= 1"
    origin: sp.Expr

    def text(self) -> str:
        from symgrad.render import expr_text

        s = expr_text(self.subject)
        if self.relation == "in [-1, 1]":
            return f"-1 <= {s} <= 1"
        if self.relation == "in (-1, 1)":
            return f"-1 < {s} < 1"
        return f"{s} {self.relation}"

    def holds(self, value: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if self.relation == "> 0":
                return value > 0
            if self.relation == ">= 0":
                return value >= 0
            if self.relation == "!= 0":
                return value != 0
            if self.relation == ">= 1":
                return value >= 1
            if self.relation == "in [-1, 1]":
                return np.abs(value) <= 1
            if self.relation == "in (-1, 1)":
                return np.abs(value) < 1
        raise ValueError(self.relation)

    def always(self) -> bool:
        """True where sympy's assumptions show the condition holds for every real input."""
        s = self.subject
        if sp.count_ops(s) > 30:
            return False
        if self.relation == "> 0":
            return bool(s.is_positive)
        if self.relation == ">= 0":
            return bool(s.is_nonnegative)
        if self.relation == "!= 0":
            return bool(s.is_nonzero)
        return False


def _conditions_of(node: sp.Expr) -> list[Condition]:
    if isinstance(node, sp.log):
        return [Condition(node.args[0], "> 0", node)]
    if node.is_Pow:
        base, exp = node.args
        if exp.is_Integer:
            return [Condition(base, "!= 0", node)] if exp.is_negative else []
        if exp.is_Number:
            return [Condition(base, "> 0" if exp.is_negative else ">= 0", node)]
        if base.free_symbols:
            return [Condition(base, "> 0", node)]
        return []
    if isinstance(node, (sp.asin, sp.acos)):
        return [Condition(node.args[0], "in [-1, 1]", node)]
    if isinstance(node, sp.atanh):
        return [Condition(node.args[0], "in (-1, 1)", node)]
    if isinstance(node, sp.acosh):
        return [Condition(node.args[0], ">= 1", node)]
    if isinstance(node, (sp.tan, sp.sec)):
        return [Condition(sp.cos(node.args[0]), "!= 0", node)]
    if isinstance(node, (sp.cot, sp.csc)):
        return [Condition(sp.sin(node.args[0]), "!= 0", node)]
    return []


def nodes(expr: sp.Expr, seen: set) -> Iterator[sp.Expr]:
    """Every subexpression of ``expr`` not in ``seen`` (which it fills): the partials of a
    large expression share most of their tree, and each shared part is visited once."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(node.args)


def _raw_conditions(expr: sp.Expr, memo: dict | None = None) -> dict[tuple, Condition]:
    """The conditions of every node of ``expr``; ``memo`` (node -> its own conditions) is
    shared between calls so that a subtree common to many partials is examined once."""
    memo = {} if memo is None else memo
    found: dict[tuple, Condition] = {}
    for node in nodes(expr, set()):
        if node not in memo:
            memo[node] = [c for c in _conditions_of(node) if c.subject.free_symbols]
        for cond in memo[node]:
            found.setdefault((cond.subject, cond.relation), cond)
    return found


def _pruned(found: dict[tuple, Condition]) -> tuple[Condition, ...]:
    # b + w*x > 0 makes "b + w*x != 0" and "b + w*x >= 0" redundant
    strong = {c.subject for c in found.values() if c.relation == "> 0"}
    return tuple(
        c
        for c in found.values()
        if not (c.relation in (">= 0", "!= 0") and c.subject in strong) and not c.always()
    )


def domain_conditions(*exprs: sp.Expr) -> tuple[Condition, ...]:
    """The conditions under which every expression in ``exprs`` is real and finite (cheap,
    not complete: one per logarithm, root, negative power and inverse function)."""
    found: dict[tuple, Condition] = {}
    for expr in exprs:
        for key, cond in _raw_conditions(expr).items():
            found.setdefault(key, cond)
    return _pruned(found)


def violated(conditions: Sequence[Condition], symbols: Sequence[sp.Symbol], point) -> list[str]:
    """A sentence for each condition that fails at ``point`` (values aligned with ``symbols``)."""
    if not conditions:
        return []
    subjects = compile_exprs([c.subject for c in conditions], list(symbols))(*point)
    notes = []
    for cond, value in zip(conditions, subjects):
        value = float(value)
        if not (math.isfinite(value) and bool(cond.holds(np.asarray(value)))):
            from symgrad.render import expr_text

            notes.append(
                f"outside the domain: {expr_text(cond.origin)} needs {cond.text()}, "
                f"but {expr_text(cond.subject)} = {fmt_number(value)} here"
            )
    return notes


def domain_notes(grad: Gradient) -> tuple[str, ...]:
    """One ``df/dw defined where b + w*x > 0`` note per partial that has a condition; one
    note for the whole gradient when every partial has the same."""
    memo: dict = {}
    of_f = _raw_conditions(grad.expression, memo)
    texts = []
    for partial in grad.partials:
        found = dict(of_f)
        for key, cond in _raw_conditions(partial, memo).items():
            found.setdefault(key, cond)
        texts.append(" and ".join(c.text() for c in _pruned(found)))
    if len(texts) > 1 and len(set(texts)) == 1:
        return (f"every partial is defined where {texts[0]}",) if texts[0] else ()
    return tuple(
        f"df/d{var.name} defined where {text}" for var, text in zip(grad.wrt, texts) if text
    )


# ---------------------------------------------------------------- kinks


@dataclass(frozen=True)
class Kink:
    """A place where the expression's derivative (``step=False``) or value (``step=True``) jumps."""

    subject: sp.Expr
    origin: sp.Expr
    step: bool


def kinks(expr: sp.Expr, partials: Sequence[sp.Expr] = ()) -> tuple[Kink, ...]:
    """The kinks of ``expr`` (abs, relu, max, min) and the jumps of ``expr`` and its partials."""
    found: dict[sp.Expr, Kink] = {}
    seen: set = set()
    for source, is_expr in [(expr, True), *((p, False) for p in partials)]:
        for node in nodes(source, seen):
            for table, step in ((KINKS, False), (STEPS, True)):
                rule = table.get(type(node))
                if rule is None or len(node.args) < 1:
                    continue
                if type(node) in (sp.Max, sp.Min) and len(node.args) != 2:
                    continue
                subject = rule(node)
                if subject.could_extract_minus_sign():
                    subject = -subject  # x - y = 0 and y - x = 0 are one kink
                if subject.free_symbols and subject not in found:
                    # a step in a partial is only the derivative of a kink of f
                    found[subject] = Kink(subject, node, step and is_expr)
    return tuple(found.values())


# ---------------------------------------------------------------- the gradient at a point


def evaluate_gradient(
    expr: ExprLike, at: Mapping[str, float] | str, wrt: WrtLike = None
) -> GradientAt:
    """The value of ``expr`` and of each partial at the point ``at``.

    A value that is not real and finite is None, with a note saying why (outside the domain,
    at a kink) and ``exit_code`` 4.

    >>> r = evaluate_gradient("y*log(w*x+b)", "w=1,x=2,y=3,b=0.5", "w,b")
    >>> r.value, r.gradient_value
    (2.7488721956224653, (2.4, 1.2))
    """
    grad = gradient(as_expr(expr), wrt)
    return gradient_at(grad, at)


def gradient_at(grad: Gradient, at: Mapping[str, float] | str) -> GradientAt:
    """``evaluate_gradient`` for a gradient already computed."""
    values = point_values(grad.expression, at)
    symbols = list(values)
    point = [values[s] for s in symbols]
    fn = compile_exprs([grad.expression, *grad.partials], symbols)
    raw = fn(*point)
    value = finite_or_none(raw[0])
    partial_values = [finite_or_none(v) for v in raw[1:]]
    notes: list[str] = []
    kink_notes, undefined = kink_report(grad, values)
    for i in undefined:
        partial_values[i] = None
    if value is None or any(v is None for v in partial_values) and not kink_notes:
        # name the expression's own condition before a partial's stronger one
        notes += (
            violated(domain_conditions(grad.expression), symbols, point)
            or violated(domain_conditions(grad.expression, *grad.partials), symbols, point)
            or ["the value is not a finite real number here"]
        )
    notes += kink_notes
    notes += domain_notes(grad)
    bad = value is None or any(v is None for v in partial_values) or bool(kink_notes)
    return GradientAt(
        gradient=grad,
        at={s.name: values[s] for s in symbols},
        value=value,
        gradient_value=tuple(partial_values),
        notes=tuple(dict.fromkeys(notes)),
        exit_code=4 if bad else 0,
    )


def kink_report(grad: Gradient, values: Mapping[sp.Symbol, float]) -> tuple[list[str], list[int]]:
    """Notes about the kinks the point sits on, and the partials that are not defined there.

    A partial is undefined where its left and right derivatives differ; those are computed as
    the derivative just beside the point, where it is smooth.
    """
    found = kinks(grad.expression, grad.partials)
    if not found:
        return [], []
    symbols = list(values)
    point = np.array([values[s] for s in symbols])
    subjects = compile_exprs([k.subject for k in found], symbols)(*point)
    scale = max(1.0, float(np.max(np.abs(point)))) if len(point) else 1.0
    on = [k for k, u in zip(found, subjects) if abs(float(u)) <= 1e-12 * scale]
    if not on:
        return [], []
    from symgrad.render import expr_text

    notes, undefined = [], []
    for k in on:
        if k.step:
            notes.append(
                f"f jumps where {expr_text(k.subject)} = 0 ({expr_text(k.origin)}); "
                "it has no derivative there"
            )
    fn = compile_exprs(list(grad.partials), symbols)
    for i, var in enumerate(grad.wrt):
        near = [k for k in on if var in k.subject.free_symbols]
        if not near:
            continue
        if any(k.step for k in near):
            undefined.append(i)  # f itself jumps along this variable
            continue
        j = symbols.index(var)
        delta = 1e-7 * max(1.0, abs(point[j]))
        sides = []
        for sign in (-1, 1):
            moved = point.copy()
            moved[j] += sign * delta
            sides.append(float(fn(*moved)[i]))
        left, right = sides
        tol = 1e-5 * max(1.0, abs(left), abs(right))
        if abs(left - right) <= tol and math.isfinite(left):
            continue
        if not math.isfinite(float(fn(*point)[i])):
            continue  # a cusp (sqrt(abs(x))): the domain conditions say why, not the kink
        undefined.append(i)
        where = " and ".join(f"{expr_text(k.subject)} = 0" for k in near)
        sympy_value = fmt_number(finite_or_none(fn(*point)[i]))
        torch_value = fmt_number(finite_or_none(fn(*point, h0=0.0)[i]))
        lo, hi = sorted((round_sig(left), round_sig(right)))
        notes.append(
            f"df/d{var.name} is not defined at this kink ({where}): left derivative "
            f"{fmt_number(round_sig(left))}, right derivative {fmt_number(round_sig(right))}, "
            f"subgradients [{fmt_number(lo)}, {fmt_number(hi)}]; "
            + _conventions(near, sympy_value, torch_value)
        )
    if not notes:
        return [], []
    return notes, undefined


def _conventions(near: Sequence[Kink], sympy_value: str, torch_value: str) -> str:
    """What the tools that pick a value at the kink pick."""
    kinds = {type(k.origin) for k in near}
    if relu in kinds:
        return (
            f"sympy gives {sympy_value} (Heaviside(0) = 1/2), PyTorch {torch_value} (relu'(0) = 0)"
        )
    if kinds <= {sp.Abs, Abs} and sympy_value == torch_value:
        return f"sympy and PyTorch give {sympy_value} (sign(0) = 0)"
    return f"sympy gives {sympy_value} (Heaviside(0) = 1/2)"


def round_sig(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits (one-sided derivatives are that accurate)."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")
