"""Where a check looks: random points over many scales, and points near every feature.

A claim can be wrong only far from the origin (``relu(x - 10)``), only at a small scale, or
only near the turn of a steep sigmoid (``sigmoid(50*(x - 4))``); a box around 0 sees none of
these. Each coordinate is drawn either from [-3, 3] or with a magnitude between 1e-3 and 1e3
(log-uniform) and either sign, and more points are placed on both sides of each feature of the
expression, its partials and the claims: kinks and switch points (``x - 10 = 0`` for
``relu(x - 10)``), where a function's argument crosses 0 (a sigmoid or tanh turns there), the
edges of domains (``x - 2 = 0`` for ``sqrt(x - 2)``, poles). Points near a feature are found
by Newton's method along one variable, then spread over the scale on which the feature's
subject changes by about 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from symgrad.derive.forward import differentiate
from symgrad.functions import entry_of
from symgrad.numeric.compile import compile_exprs
from symgrad.numeric.domain import domain_conditions, kinks, nodes

BOX = 3.0
MAGNITUDES = (-3.0, 3.0)
"""log10 of the smallest and largest magnitudes drawn."""
SPREAD_MIN = 2000
MAX_FEATURES = 24
MAX_PAIRS = 48
"""(feature, variable) pairs searched: enough for any expression a person writes."""
ROOTS_PER_PAIR = 6
OFFSETS = np.array([0.01, 0.1, 0.3, 0.7, 1.0, 2.0, 5.0, 20.0])
"""Distances from a feature, in units of the distance over which its subject changes by 1."""
NEWTON_STEPS = 6


def scattered(rng: np.random.Generator, k: int, size: int) -> np.ndarray:
    """``size`` points of ``k`` coordinates: each from [-3, 3] or with a magnitude of 1e-3 to
    1e3 and a random sign, half and half."""
    return spread(rng, rng.uniform(-BOX, BOX, size=(k, size)))


def spread(rng: np.random.Generator, box: np.ndarray) -> np.ndarray:
    """Points drawn in [-3, 3] (``box``) with half their coordinates drawn again, each with a
    magnitude of 1e-3 to 1e3 (log-uniform) and a random sign: in the first ``SPREAD_MIN``
    points and a tenth of the others (a million points need no more to see every scale)."""
    count = min(box.shape[1], SPREAD_MIN + box.shape[1] // 10)
    part = box[:, :count]
    magnitude = 10.0 ** rng.uniform(*MAGNITUDES, size=part.shape)
    signed = np.where(rng.random(part.shape) < 0.5, -magnitude, magnitude)
    box[:, :count] = np.where(rng.random(part.shape) < 0.5, part, signed)
    return box


def features(exprs: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Expressions whose zeros are features of ``exprs``: kinks and switch points first, then
    the edges of domains, then the arguments of functions (where a sigmoid turns)."""
    found: dict[sp.Expr, None] = {}
    for kink in kinks(exprs[0], exprs[1:]) if exprs else ():
        found.setdefault(kink.subject)
    for cond in domain_conditions(*exprs):
        for edge in cond.edges():
            found.setdefault(edge)
    seen: set = set()
    for expr in exprs:
        for node in nodes(expr, seen):
            if len(node.args) == 1 and entry_of(node) is not None:
                found.setdefault(node.args[0])
    subjects: dict[sp.Expr, None] = {}
    for subject in found:
        if subject.free_symbols:
            subjects.setdefault(-subject if subject.could_extract_minus_sign() else subject)
    return list(subjects)[:MAX_FEATURES]


def near_features(
    subjects: Sequence[sp.Expr], symbols: Sequence[sp.Symbol], rng: np.random.Generator
) -> np.ndarray:
    """Points on both sides of the zero of each subject, along each of its variables."""
    symbols = list(symbols)
    pairs = [
        (i, symbols.index(v))
        for i, subject in enumerate(subjects)
        for v in sorted(subject.free_symbols & set(symbols), key=lambda s: s.name)
    ][:MAX_PAIRS]
    if not pairs:
        return np.empty((len(symbols), 0))
    slopes = [differentiate(subjects[i], symbols[j]) for i, j in pairs]
    fn = compile_exprs([*subjects, *slopes], symbols)
    m = ROOTS_PER_PAIR
    n = m * len(pairs)
    points = scattered(rng, len(symbols), n)
    row = np.repeat([i for i, _ in pairs], m)
    slope_row = len(subjects) + np.repeat(np.arange(len(pairs)), m)
    col = np.repeat([j for _, j in pairs], m)
    every = np.arange(n)
    slope = np.ones(n)
    with np.errstate(all="ignore"):
        for _ in range(NEWTON_STEPS):
            out = fn(*points)
            u, slope = out[row, every], out[slope_row, every]
            step = np.where(np.isfinite(u / slope), u / slope, 0.0)
            moved = points[col, every] - step
            points[col, every] = np.where(np.isfinite(moved), moved, points[col, every])
        scale = np.where(np.isfinite(slope) & (slope != 0), 1.0 / np.abs(slope), 1.0)
        scale = np.minimum(scale, 1e3 * np.maximum(1.0, np.abs(points[col, every])))
    spread = []
    for side in (-1.0, 1.0):
        offset = rng.choice(OFFSETS, size=n) * rng.uniform(0.7, 1.3, size=n) * side
        moved = points.copy()
        moved[col, every] = points[col, every] + offset * scale
        spread.append(moved)
    return np.concatenate(spread, axis=1)
