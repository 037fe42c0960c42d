"""The JSON report of a graded batch (schema ``gradcheck/grade-report/2``, docs/reports.md).

Written as a stream, one row at a time, so memory does not grow with the rows; the same
inputs and seed give the same bytes. Three things keep a class's report small when many
rows fail, without losing what shows a failure:

- the evidence policy (``gradcheck.executor.keep_evidence``) keeps a few telling points
  of a failing answer and counts the rest (``evidence_omitted``);
- each evidence point is one line, its numbers written with the digits that matter
  (``POINT_DIGITS`` for coordinates and values, ``ERROR_DIGITS`` for the relative error:
  ``agrees`` holds the decision made on the full values);
- rows with the same problem, question and answer text have the same evidence: the first
  of them carries it, later ones name it with ``same_evidence_as`` (its index in
  ``results``) and an empty ``evidence``.
"""

from __future__ import annotations

import io
import json
import math
from typing import TYPE_CHECKING, Any, TextIO

from gradcheck.verdict import Evidence, GradeResult

if TYPE_CHECKING:
    from gradcheck.batch import BatchReport

__all__ = ["ERROR_DIGITS", "POINT_DIGITS", "SCHEMA", "render_json", "row_dict", "write_json"]

SCHEMA = "gradcheck/grade-report/2"
POINT_DIGITS = 12  # significant digits of a point's coordinates and of got / expected
ERROR_DIGITS = 3   # significant digits of the relative error (as the text report shows it)
JSON_BODIES = 4096  # distinct rows' JSON kept while writing a report
SHARED = 65536      # distinct answers whose evidence later rows may point back to

_INDENT = "      "  # a row's members, inside "results": [ { ... } ]
_HEAD_KEYS = ("row", "student")


def render_json(report: BatchReport, options: Any = None) -> str:
    """The schema ``gradcheck/grade-report/2``: same inputs and seed, same bytes."""
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


def write_json(report: BatchReport, out: TextIO, options: Any = None) -> None:
    """``render_json``'s text, written to ``out`` one row at a time (memory does not grow
    with the rows: pair it with ``SpooledResults``).

    A class repeats answers, and a repeat differs from the first only in its row and
    student: the rest of a row's JSON is made once per distinct result and reused.
    """
    from gradcheck.report.json_report import dumps

    head = dumps({
        "schema": SCHEMA,
        "seed": report.seed,
        "settings": report.settings.to_dict(),
        "passed": report.passed,
        "counts": {"rows": len(report.results), **dict(report.counts)},
        "results": [],
    })
    if not report.results:
        out.write(head)
        return
    empty = "[]\n}\n"
    assert head.endswith(empty)
    out.write(head[:-len(empty)] + "[\n")
    bodies: dict[tuple[object, ...], str] = {}
    first: dict[tuple[str, str, str], tuple[int, int]] = {}
    separator = ""
    for index, r in enumerate(report.results):
        same = _same_as(first, index, r)
        key = (r.problem, r.question, r.answer, r.verdict, r.feedback, r.diagnosis,
               r.understood_as, r.expected, r.evidence, r.omitted, r.decision, same)
        body = bodies.get(key)
        if body is None:
            if len(bodies) >= JSON_BODIES:
                bodies.clear()
            body = bodies[key] = _body(r, same)
        row = json.dumps(r.row, ensure_ascii=False)
        student = json.dumps(r.student, ensure_ascii=False)
        out.write(f'{separator}    {{\n{_INDENT}"row": {row},\n{_INDENT}"student": {student},\n'
                  f'{body}\n    }}')
        separator = ",\n"
    out.write("\n  ]\n}\n")


def _same_as(first: dict[tuple[str, str, str], tuple[int, int]], index: int,
             r: GradeResult) -> int | None:
    """The index of an earlier row with this answer and this evidence, or None (then this
    row carries its evidence, and later repeats may point to it).

    The same answer is graded to the same result, so the evidence's hash only guards
    against a caller's hand-made results (it keeps memory small: no evidence is held).
    """
    if not r.evidence:
        return None
    answer = (r.problem, r.question, r.answer)
    digest = hash((r.evidence, r.omitted))
    seen = first.get(answer)
    if seen is not None and seen[1] == digest:
        return seen[0]
    if len(first) >= SHARED:  # forget them all: a later repeat carries its evidence again
        first.clear()
    first[answer] = (index, digest)
    return None


def row_dict(r: GradeResult, same: int | None = None) -> dict[str, object]:
    """A row of the report as data: ``r.to_dict()`` with its evidence points' numbers
    written with the digits that matter, and ``same_evidence_as`` (when it is not None,
    the index of the row that carries this row's evidence; ``evidence`` is then empty).
    The JSON API of ``gradcheck serve`` returns the same fields."""
    row: dict[str, object] = {}
    for name, value in r.to_dict().items():
        if name == "evidence":
            value = [] if same is not None else [_point(e) for e in r.evidence]
        row[name] = value
        if name == "evidence_omitted":
            row["same_evidence_as"] = same
    return row


def _body(r: GradeResult, same: int | None) -> str:
    """A row's members after ``row`` and ``student``, each on its own line(s); each
    evidence point, and the counts of those left out, on one line."""
    members = []
    for name, value in row_dict(r, same).items():
        if name in _HEAD_KEYS:
            continue
        if name == "evidence":
            text = _evidence(value)  # type: ignore[arg-type]
        elif name == "evidence_omitted":
            text = _line(value)
        else:
            text = _value(value)
        members.append(f"{_INDENT}{json.dumps(name)}: {text}")
    return ",\n".join(members)


def _value(value: Any) -> str:
    """``value`` as ``json.dumps(indent=2)`` would place it at a row member's depth."""
    from gradcheck.report.json_report import jsonable

    text = json.dumps(jsonable(value), indent=2, ensure_ascii=False, allow_nan=False)
    return text.replace("\n", "\n" + _INDENT)


def _line(value: Any) -> str:
    from gradcheck.report.json_report import jsonable

    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False)


def _evidence(points: list[dict[str, object]]) -> str:
    if not points:
        return "[]"
    lines = ",\n".join(f"{_INDENT}  {_line(p)}" for p in points)
    return f"[\n{lines}\n{_INDENT}]"


def _point(e: Evidence) -> dict[str, object]:
    return {"point": {name: _digits(v, POINT_DIGITS) for name, v in e.point},
            "expected": _digits(e.expected, POINT_DIGITS), "got": _digits(e.got, POINT_DIGITS),
            "error": _digits(e.error, ERROR_DIGITS), "agrees": e.agrees}


def _digits(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (written by JSON as its shortest
    form: ``1.62957897533``, ``2.0``); a non-finite value as it is."""
    value = float(value)
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value
