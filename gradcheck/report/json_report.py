"""The JSON report: a stable, documented schema (docs/json-schema.md); same input, same bytes."""

from __future__ import annotations

import json
import math
from typing import Any

from gradcheck.checks import CheckReport, Comparison, QuestionResult

SCHEMA = "gradcheck/check-report/1"


def jsonable(value: Any) -> Any:
    """Floats that JSON can hold: non-finite numbers become the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def dumps(data: dict[str, Any]) -> str:
    """Serialise deterministically: fixed key order, no timings, a final newline."""
    return json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def comparison_dict(c: Comparison) -> dict[str, Any]:
    return {
        "what": c.what, "got_by": c.got_by, "expected_by": c.expected_by,
        "variable": c.variable, "passed": c.passed, "points": c.points,
        "failures": c.failures, "worst_error": c.worst_error,
        "worst_point": dict(c.worst_point), "got": c.got, "expected": c.expected,
        "tolerance": c.tolerance.to_dict(), "method": c.method, "step": c.step,
        "refereed": c.refereed,
    }


def result_dict(r: QuestionResult) -> dict[str, Any]:
    return {
        "problem": r.problem, "question": r.question, "label": r.label,
        "backend": r.backend, "dtype": r.dtype, "verdict": r.verdict, "points": r.points,
        "value_at_given_point": r.value, "worst_error": r.worst_error,
        "comparisons": [comparison_dict(c) for c in r.comparisons],
        "set_aside": [s.to_dict() for s in r.set_aside],
    }


def render_json(report: CheckReport) -> str:
    """The whole report as JSON text."""
    return dumps({
        "schema": SCHEMA,
        "seed": report.seed,
        "points": report.points,
        "dtype": report.dtype,
        "backends": list(report.backends),
        "passed": report.passed,
        "summary": {
            "checks": len(report.results),
            "passed": sum(r.passed for r in report.results),
            "failed": sum(not r.passed for r in report.results),
        },
        "results": [result_dict(r) for r in report.results],
    })
