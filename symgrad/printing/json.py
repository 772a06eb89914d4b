"""JSON-ready dicts: one JSON Lines record per result, keys in snake_case, numbers finite.

Every record starts with ``input`` (when known), ``expression`` and ``wrt``; a stream adds
``line``. ``symgrad/schema.json`` describes every record.
"""

from __future__ import annotations

import json
import math
from typing import Any

from symgrad.errors import SymgradError
from symgrad.notation import expr_text, var_text
from symgrad.printing.common import cse_pairs, entry_text
from symgrad.results import (
    CheckResult,
    ClaimVerdict,
    Code,
    Derivative,
    Descent,
    Explanation,
    FieldData,
    Gradient,
    GradientAt,
    Graph,
    Hessian,
    Jacobian,
    MatrixCheckResult,
    MatrixClaimVerdict,
    MatrixCode,
    MatrixGradient,
    MatrixGradientAt,
    MatrixJacobian,
    MatrixJacobianAt,
    Picture,
    PlotData,
    ValuesAt,
)

# result type -> its renderer, defined below
TABLE = {
    Gradient: "gradient",
    Hessian: "matrix",
    Jacobian: "matrix",
    Derivative: "derivative",
    GradientAt: "gradient_at",
    ValuesAt: "values_at",
    CheckResult: "check",
    Code: "code",
    MatrixGradient: "matrix_gradient",
    MatrixJacobian: "matrix_jacobian",
    MatrixGradientAt: "matrix_gradient_at",
    MatrixJacobianAt: "matrix_jacobian_at",
    MatrixCheckResult: "matrix_check",
    MatrixCode: "matrix_code",
    Explanation: "explanation",
    PlotData: "plot",
    FieldData: "field",
    Descent: "descent",
    Picture: "picture",
}


def render(result, *, source=None, width=80) -> dict[str, Any]:
    return globals()[TABLE[type(result)]](result, source)


def head(result: Any, source: str | None) -> dict[str, Any]:
    """The start every record shares: ``input`` (when known), ``expression``, ``wrt``."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [var_text(v) for v in result.wrt]
    return record


def gradient(result: Gradient, source: str | None) -> dict:
    record = head(result, source)
    text = entry_text(result)
    record["gradient"] = [text(p) for p in result.partials]
    if result.cse is not None:
        record["cse"] = cse_pairs(result.cse)
    return with_notes(record, result.notes)


def with_notes(record: dict, notes) -> dict:
    """``record`` with ``notes`` added to those it has; no key when there is nothing to say."""
    if notes:
        record["notes"] = [*record.get("notes", ()), *notes]
    return record


def matrix(result: Hessian | Jacobian, source: str | None) -> dict:
    record = head(result, source)
    text = entry_text(result)
    key = "hessian" if isinstance(result, Hessian) else "jacobian"
    record[key] = [[text(e) for e in row] for row in result.matrix]
    if result.cse is not None:
        record["cse"] = cse_pairs(result.cse)
    return with_notes(record, result.notes)


def derivative(result: Derivative, source: str | None) -> dict:
    record = head(result, source)
    record["order"] = result.order
    record["derivative"] = expr_text(result.derivative)
    return with_notes(record, result.notes)


def gradient_at(result: GradientAt, source: str | None) -> dict:
    record = gradient(result.gradient, source)
    record["at"] = dict(result.at)
    record["value"] = result.value
    record["gradient_value"] = list(result.gradient_value)
    record["notes"] = [*record.get("notes", ()), *result.notes]
    return record


def values_at(result: ValuesAt, source: str | None) -> dict:
    inner = result.result
    record = render(inner, source=source)
    record["at"] = dict(result.at)
    record["value"] = list(result.value) if isinstance(result.value, tuple) else result.value
    if isinstance(inner, Derivative):
        record["derivative_value"] = result.values
    else:
        key = "hessian_value" if isinstance(inner, Hessian) else "jacobian_value"
        record[key] = [list(row) for row in result.values]
    record["notes"] = [*record.get("notes", ()), *result.notes]
    return record


def claim(verdict: ClaimVerdict) -> dict:
    return {
        "wrt": var_text(verdict.variable),
        "claim": expr_text(verdict.claim),
        "derivative": expr_text(verdict.derivative),
        "status": verdict.status,
        "proof": verdict.proof,
        "points": verdict.points,
        "counterexample": verdict.counterexample,
        "claimed_value": verdict.claimed_value,
        "true_value": verdict.true_value,
        "difference": verdict.difference,
        "finite_difference": verdict.finite_difference,
        "hint": verdict.hint,
    }


def check(result: CheckResult, source: str | None) -> dict:
    record = gradient(result.gradient, source)
    record["ok"] = result.ok
    record["status"] = result.status
    record["gradient_status"] = result.gradient_status
    record["proof"] = result.proof
    record["points"] = result.points
    record["rtol"] = result.rtol
    record["atol"] = result.atol
    record["max_abs_error"] = result.max_abs_error
    record["max_rel_error"] = result.max_rel_error
    record["worst_point"] = result.worst_point
    record["at"] = result.at
    record["claims"] = [claim(c) for c in result.claims]
    record["notes"] = [*record.get("notes", ()), *result.notes]
    return record


def code(result: Code, source: str | None) -> dict:
    record = head(result, source)
    record["target"] = result.target
    record["code"] = result.source
    return record


# ---------------------------------------------------------------- vectors and matrices


def shaped_head(result: Any, source: str | None) -> dict[str, Any]:
    """``input``, ``expression``, ``wrt`` and ``shapes``: each variable's shape (``[]`` a
    scalar, ``["n"]`` a vector, ``["m", "n"]`` a matrix)."""
    from symgrad.parsing.matrix_text import text
    from symgrad.printing.shaped import shape_json

    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = text(result.expression)
    record["wrt"] = list(result.wrt)
    record["shapes"] = {name: shape_json(s) for name, s in result.shapes.items()}
    return record


def _shaped_cse(record: dict, result: Any) -> None:
    from symgrad.parsing.matrix_text import text

    if result.cse is not None:
        record["cse"] = [[name, text(d)] for name, d in result.cse]


def matrix_gradient(result: MatrixGradient, source: str | None) -> dict:
    from symgrad.parsing.matrix_text import text
    from symgrad.printing.shaped import shape_json

    record = shaped_head(result, source)
    record["gradient"] = [text(p) for p in result.partials]
    record["gradient_shapes"] = [shape_json(s) for s in result.partial_shapes]
    _shaped_cse(record, result)
    if result.notes:
        record["notes"] = list(result.notes)
    return record


def matrix_jacobian(result: MatrixJacobian, source: str | None) -> dict:
    from symgrad.parsing.matrix_text import text
    from symgrad.printing.shaped import shape_json

    record = shaped_head(result, source)
    record["jacobian"] = [text(b) for b in result.blocks]
    record["jacobian_shapes"] = [shape_json(s) for s in result.block_shapes]
    _shaped_cse(record, result)
    if result.notes:
        record["notes"] = list(result.notes)
    return record


def _shaped_at(record: dict, result: Any, key: str, values: Any, notes: tuple) -> dict:
    record["at"] = dict(result.at)
    record["dims"] = dict(result.dims)
    record["value"] = result.value
    record[key] = list(values)
    record["notes"] = list(notes)
    return record


def matrix_gradient_at(result: MatrixGradientAt, source: str | None) -> dict:
    record = matrix_gradient(result.gradient, source)
    notes = (*result.gradient.notes, *result.notes)
    return _shaped_at(record, result, "gradient_value", result.gradient_value, notes)


def matrix_jacobian_at(result: MatrixJacobianAt, source: str | None) -> dict:
    record = matrix_jacobian(result.jacobian, source)
    notes = (*result.jacobian.notes, *result.notes)
    return _shaped_at(record, result, "jacobian_value", result.jacobian_value, notes)


def matrix_claim(verdict: MatrixClaimVerdict) -> dict:
    from symgrad.parsing.matrix_text import text

    return {
        "wrt": verdict.variable,
        "claim": text(verdict.claim),
        "derivative": text(verdict.derivative),
        "status": verdict.status,
        "proof": verdict.proof,
        "points": verdict.points,
        "counterexample": verdict.counterexample,
        "entry": None if verdict.entry is None else list(verdict.entry),
        "claimed_value": verdict.claimed_value,
        "true_value": verdict.true_value,
        "difference": verdict.difference,
        "finite_difference": verdict.finite_difference,
        "hint": verdict.hint,
    }


def matrix_check(result: MatrixCheckResult, source: str | None) -> dict:
    record = matrix_gradient(result.gradient, source)
    record.pop("notes", None)
    record["ok"] = result.ok
    record["status"] = result.status
    record["gradient_status"] = result.gradient_status
    record["points"] = result.points
    record["entries"] = result.entries
    record["dims"] = dict(result.dims)
    record["rtol"] = result.rtol
    record["atol"] = result.atol
    record["max_abs_error"] = result.max_abs_error
    record["max_rel_error"] = result.max_rel_error
    worst = result.worst
    record["worst"] = None if worst is None else {"wrt": worst[0], "entry": list(worst[1])}
    record["worst_point"] = result.worst_point
    record["at"] = result.at
    record["claims"] = [matrix_claim(c) for c in result.claims]
    record["notes"] = [*result.gradient.notes, *result.notes]
    return record


def matrix_code(result: MatrixCode, source: str | None) -> dict:
    record = shaped_head(result, source)
    record["target"] = result.target
    record["code"] = result.source
    return record


# ---------------------------------------------------------------- records


def error_record(error: SymgradError, source: str | None) -> dict:
    """The record of an input that failed."""
    return {
        "input": source,
        "error": {"kind": error.kind, "message": error.message, "column": error.column},
    }


def with_line(record: dict, line: int) -> dict:
    """``record`` with ``line`` (its 1-based input line) right after ``input``."""
    out = {"input": record["input"], "line": line} if "input" in record else {"line": line}
    out.update(record)
    return out


_JSON_ESCAPES = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def json_line(data: Any) -> str:
    """One JSON Lines record: UTF-8, and no character that any reader could take for a line
    break (U+2028, U+2029 and NEL are escaped, as JSON already escapes CR and LF)."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN or an infinity: JSON has none, so it is null
        text = json.dumps(_finite(data), ensure_ascii=False)
    return text.translate(_JSON_ESCAPES)


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


# ---------------------------------------------------------------- explain, plot, descend


def explanation(result: Explanation, source: str | None) -> dict[str, Any]:
    """The JSON record: ``names``, ``steps`` (rule, of, wrt, derivative, variable, uses,
    local), ``gradient``; with a point ``at``, ``value``, ``gradient_value``, ``graph``."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["names"] = {n.name: expr_text(d) for n, d in result.names}
    record["steps"] = [
        {
            "rule": s.rule,
            "of": expr_text(s.of),
            "wrt": s.wrt.name,
            "derivative": expr_text(s.derivative),
            "variable": s.variable.name,
            "uses": [i + 1 for i in s.uses],
            "local": s.local,
        }
        for s in result.steps
    ]
    record["gradient"] = [expr_text(p) for p in result.partials]
    if result.graph is not None:
        record["at"] = dict(result.at or {})
        record["value"] = result.value
        record["gradient_value"] = list(result.gradient_value or ())
        record["graph"] = graph_json(result.graph)
    record["notes"] = list(result.notes)
    return record


def graph_json(graph: Graph) -> dict[str, Any]:
    return {
        "output": graph.output,
        "nodes": [
            {
                "id": n.id,
                "op": n.op,
                "expression": expr_text(n.expression),
                "inputs": list(n.inputs),
                "value": n.value,
                "grad": n.grad,
                "leaf": n.leaf,
                "requires_grad": n.requires_grad,
                "local": [
                    {"input": e.input, "derivative": expr_text(e.derivative), "value": e.value}
                    for e in n.local
                ],
            }
            for n in graph.nodes
        ],
    }


def plot(result: PlotData, source: str | None) -> dict[str, Any]:
    """The sampled data: ``x``, ``f``, ``gradient`` (df/dx values), where lines break, kinks."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["at"] = dict(result.at)
    f, d = result.curves
    record["partial"] = expr_text(d.expression)
    record["x"] = list(result.x)
    record["f"] = list(f.values)
    record["gradient"] = [list(d.values)]
    record["breaks"] = {"f": list(f.breaks), "gradient": list(d.breaks)}
    record["kinks"] = [{"x": k.x, "value": k.value, "jump": k.jump} for k in result.kinks]
    record["notes"] = list(result.notes)
    return record


def field(result: FieldData, source: str | None) -> dict[str, Any]:
    """The grid data: ``x``, ``y``, ``f[j][i]`` at ``(x[i], y[j])``, ``gradient`` (two grids)."""
    record: dict[str, Any] = {} if source is None else {"input": source}
    record["expression"] = expr_text(result.expression)
    record["wrt"] = [v.name for v in result.wrt]
    record["at"] = dict(result.at)
    record["partials"] = [expr_text(p) for p in result.partials]
    record["x"] = list(result.x)
    record["y"] = list(result.y)
    record["f"] = [list(row) for row in result.f]
    record["gradient"] = [[list(row) for row in grid] for grid in result.gradient]
    record["notes"] = list(result.notes)
    return record


def descent(result: Descent, source: str | None) -> list[dict[str, Any]]:
    """JSON Lines: one ``step`` record per state of the path, then the ``descent`` record."""
    names = [v.name for v in result.wrt]
    records: list[dict[str, Any]] = [
        {
            "record": "step",
            "step": s.step,
            "point": dict(zip(names, s.point)),
            "value": _num(s.value),
            "gradient": [_num(g) for g in s.gradient],
            "gradient_norm": _num(s.gradient_norm),
        }
        for s in result.path
    ]
    summary: dict[str, Any] = {"record": "descent"}
    if source is not None:
        summary["input"] = source
    last = result.final
    summary.update(
        {
            "expression": expr_text(result.expression),
            "wrt": names,
            "gradient": [expr_text(p) for p in result.partials],
            "optimizer": result.optimizer,
            "lr": result.lr,
            "momentum": result.momentum,
            "max_steps": result.steps,
            "tol": result.tol,
            "from": dict(result.start),
            "verdict": result.verdict,
            "steps": last.step,
            "point": {k: _num(v) for k, v in result.point.items()},
            "value": _num(last.value),
            "gradient_norm": _num(last.gradient_norm),
            "notes": list(result.notes),
        }
    )
    records.append(summary)
    return records


def _num(value: float) -> float | None:
    import math

    return value if math.isfinite(value) else None


def picture(result: Picture, source: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {} if source is None else {"input": source}
    what = result.what
    record["expression"] = expr_text(what.expression)
    record["wrt"] = [v.name for v in what.wrt]
    record["file"] = str(result.path)
    record["picture_format"] = result.format
    return record
