"""Where an expression is real and finite (domains), and where it has kinks or jumps.

Both come from the function table (each entry's ``domain``, ``kink`` and ``step``) plus the
powers of the expression: cheap, not complete, and enough to say why a value is undefined.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symgrad.functions import entry_of
from symgrad.notation import expr_text, fmt_number
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.points import finite_or_none
from symgrad.numeric.precise import sign_at
from symgrad.numeric.stable import stable
from symgrad.results import Gradient


@dataclass(frozen=True)
class Condition:
    """Where a function of the expression is real and finite: ``subject relation``."""

    subject: sp.Expr
    relation: str  # "> 0", ">= 0", "!= 0", "in [-1, 1]", "in (-1, 1)", ">= 1"
    origin: sp.Expr

    def text(self) -> str:
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
        """True where sympy's assumptions show the condition holds for every real input
        (of the subject or of its stable form: ``1 - sigmoid(u)`` is ``sigmoid(-u)``)."""
        s = self.subject
        if sp.count_ops(s) > 30:
            return False
        for form in (s, stable(s)):
            if self.relation == "> 0" and form.is_positive:
                return True
            if self.relation == ">= 0" and form.is_nonnegative:
                return True
            if self.relation == "!= 0" and form.is_nonzero:
                return True
        return False

    def edges(self) -> tuple[sp.Expr, ...]:
        """Expressions that are 0 on the edge of the condition (``u - 1`` and ``u + 1`` for
        ``-1 <= u <= 1``)."""
        s = self.subject
        if self.relation == ">= 1":
            return (s - 1,)
        if self.relation in ("in [-1, 1]", "in (-1, 1)"):
            return (s - 1, s + 1)
        return (s,)


def _conditions_of(node: sp.Expr) -> list[Condition]:
    if node.is_Pow:
        base, exp = node.args
        if exp.is_Integer:
            return [Condition(base, "!= 0", node)] if exp.is_negative else []
        if exp.is_Number:
            return [Condition(base, "> 0" if exp.is_negative else ">= 0", node)]
        if base.free_symbols:
            return [Condition(base, "> 0", node)]
        return []
    entry = entry_of(node)
    if entry is None or entry.domain is None:
        return []
    return [Condition(subject, relation, node) for subject, relation in entry.domain(node.args)]


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


def violated(
    conditions: Sequence[Condition],
    symbols: Sequence[sp.Symbol],
    point,
    exact: Mapping[sp.Symbol, sp.Expr] | None = None,
) -> list[str]:
    """A sentence for each condition that fails at ``point`` (values aligned with ``symbols``).

    A float close to the edge, or not finite, does not decide: ``1 - sigmoid(40)`` rounds to
    0 but is positive. Such a condition is decided at the point given exactly (``exact``,
    symbol -> the value as typed), or at the float point with high precision.
    """
    if not conditions:
        return []
    subjects = compile_exprs([c.subject for c in conditions], list(symbols))(*point)
    scale = max([1.0, *(abs(float(v)) for v in point)])
    if exact is None:
        exact = {s: sp.Float(float(v)) for s, v in zip(symbols, point)}
    notes = []
    for cond, value in zip(conditions, subjects):
        value = float(value)
        holds = math.isfinite(value) and bool(cond.holds(np.asarray(value)))
        if not math.isfinite(value) or any(
            abs(value - edge) <= 1e-6 * scale for edge in _EDGE_VALUES[cond.relation]
        ):
            holds, value = _decided(cond, exact, value)
        if not holds:
            shown = "undefined" if value is None else fmt_number(value)
            where = "a pole" if cond.relation == "!= 0" else "outside the domain"
            notes.append(
                f"{where}: {expr_text(cond.origin)} needs {cond.text()}, "
                f"but {expr_text(cond.subject)} = {shown} here"
            )
    return notes


_EDGE_VALUES = {
    "> 0": (0.0,),
    ">= 0": (0.0,),
    "!= 0": (0.0,),
    ">= 1": (1.0,),
    "in [-1, 1]": (-1.0, 1.0),
    "in (-1, 1)": (-1.0, 1.0),
}


def _decided(cond: Condition, exact: Mapping[sp.Symbol, sp.Expr], value: float):
    """Whether ``cond`` holds at the exact point, and the subject's value (None: undefined)."""
    signs = [sign_at(edge, exact) for edge in cond.edges()]
    if any(s is None for s in signs):
        return False, None
    r = cond.relation
    if r == "> 0":
        holds = signs[0] > 0
    elif r == ">= 0":
        holds = signs[0] >= 0
    elif r == "!= 0":
        holds = signs[0] != 0
    elif r == ">= 1":
        holds = signs[0] >= 0
    elif r == "in [-1, 1]":
        holds = signs[0] <= 0 <= signs[1]
    else:
        holds = signs[0] < 0 < signs[1]
    if not holds and signs[0] == 0 and r in ("> 0", "!= 0"):
        value = 0.0  # exactly on the edge, whatever the float said
    return holds, value if math.isfinite(value) else None


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
    """The kinks of ``expr`` (abs, relu, max, min) and the jumps of ``expr`` and its partials,
    as the function table says where each function has them."""
    found: dict[sp.Expr, Kink] = {}
    seen: set = set()
    for source, is_expr in [(expr, True), *((p, False) for p in partials)]:
        for node in nodes(source, seen):
            entry = entry_of(node)
            if entry is None:
                continue
            for rule, step in ((entry.kink, False), (entry.step, True)):
                for subject in rule(node.args) if rule is not None else ():
                    if subject.could_extract_minus_sign():
                        subject = -subject  # x - y = 0 and y - x = 0 are one kink
                    if subject.free_symbols and subject not in found:
                        # a step in a partial is only the derivative of a kink of f
                        found[subject] = Kink(subject, node, step and is_expr)
    return tuple(found.values())


def kink_report(
    grad: Gradient,
    values: Mapping[sp.Symbol, float],
    exact: Mapping[sp.Symbol, sp.Expr] | None = None,
) -> tuple[list[str], list[int]]:
    """Notes about the kinks the point sits on, and the partials that are not defined there.

    A point is on a kink where the kink's subject is exactly 0: at the point as typed
    (``exact``: ``x=pi/4`` for ``abs(4*x - pi)``), else at the float point; 1e-300 is not 0.
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
    if exact is None:
        exact = {s: sp.Float(float(values[s])) for s in symbols}
    on = [
        k
        for k, u in zip(found, subjects)
        if abs(float(u)) <= 1e-9 * scale and sign_at(k.subject, exact) == 0
    ]
    if not on:
        return [], []
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
        delta = 1e-7 * max(1.0, abs(point[j]))  # beside the kink, not on it
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
    kinds = {entry_of(k.origin).name for k in near}
    if "relu" in kinds:
        return (
            f"sympy gives {sympy_value} (Heaviside(0) = 1/2), PyTorch {torch_value} (relu'(0) = 0)"
        )
    if kinds == {"abs"} and sympy_value == torch_value:
        return f"sympy and PyTorch give {sympy_value} (sign(0) = 0)"
    return f"sympy gives {sympy_value} (Heaviside(0) = 1/2)"


def round_sig(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits (one-sided derivatives are that accurate)."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")
