"""Graphviz source: the computation graph of ``explain --at`` with values and gradients on the
nodes and local derivatives on the edges (``symgrad explain ... --format dot | dot -Tsvg``)."""

from __future__ import annotations

from symgrad.errors import InputError
from symgrad.results import Explanation

# result type -> its renderer, defined below
TABLE = {
    Explanation: "explanation",
}


def render(result, *, source=None, width=80) -> list[str]:
    if type(result) not in TABLE:
        raise InputError("--format dot draws the graph of symgrad explain --at")
    return globals()[TABLE[type(result)]](result)


def explanation(result: Explanation) -> list[str]:
    from symgrad.printing.learn import explanation_dot

    return explanation_dot(result)
