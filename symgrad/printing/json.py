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
    Gradient,
    GradientAt,
    Hessian,
    Jacobian,
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
    return record


def matrix(result: Hessian | Jacobian, source: str | None) -> dict:
    record = head(result, source)
    text = entry_text(result)
    key = "hessian" if isinstance(result, Hessian) else "jacobian"
    record[key] = [[text(e) for e in row] for row in result.matrix]
    if result.cse is not None:
        record["cse"] = cse_pairs(result.cse)
    return record


def derivative(result: Derivative, source: str | None) -> dict:
    record = head(result, source)
    record["order"] = result.order
    record["derivative"] = expr_text(result.derivative)
    return record


def gradient_at(result: GradientAt, source: str | None) -> dict:
    record = gradient(result.gradient, source)
    record["at"] = dict(result.at)
    record["value"] = result.value
    record["gradient_value"] = list(result.gradient_value)
    record["notes"] = list(result.notes)
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
    record["notes"] = list(result.notes)
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
    record["notes"] = list(result.notes)
    return record


def code(result: Code, source: str | None) -> dict:
    record = head(result, source)
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
