"""Reports of a graded batch: text, JSON, CSV gradebook and JUnit XML (HTML: grades_html).

Pure functions from a BatchReport to text; deterministic (no timings, no timestamps).
The JSON schema is documented in docs/reports.md.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from gradcheck.batch import BatchReport
from gradcheck.verdict import Evidence, GradeResult

__all__ = ["GRADE_RENDERERS", "SCHEMA", "clip", "gradebook", "render_answer", "render_csv",
           "render_json", "render_junit", "render_text", "unreadable"]

SCHEMA = "gradcheck/grade-report/1"
FEEDBACK_WIDTH = 60
ANSWER_SHOWN = 200  # characters of an answer shown in a table (JSON has the whole text)
UNREADABLE = "(unreadable rows)"  # the group of rows that name no student, problem or question
EVIDENCE_SHOWN = 4  # points spelled out per answer in text and JUnit (JSON has them all)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """One line, with control characters shown as escapes (so no answer can drive a terminal)."""
    text = text.replace("\r\n", "\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def clip(text: str, most: int = ANSWER_SHOWN) -> str:
    """``text`` up to ``most`` characters, then ``… (N characters)`` giving the whole length.

    >>> clip("x" * 300, 5)
    'xxxxx… (300 characters)'
    """
    return text if len(text) <= most else f"{text[:most]}… ({len(text)} characters)"


def unreadable(r: GradeResult) -> bool:
    """A row that names no student, problem or question (a line that could not be read)."""
    return not (r.student or r.problem or r.question)


def summary_line(report: BatchReport) -> str:
    """``12 rows: 8 pass, 2 fail, 1 invalid, 1 error (seed 0, 20 points, time limit 2 s)``."""
    counts = ", ".join(f"{n} {v}" for v, n in report.counts)
    s = report.settings
    return (f"{len(report.results)} rows: {counts} (seed {report.seed}, {s.points} random points "
            f"per answer, time limit {s.time_limit:g} s)")


# ---- text -----------------------------------------------------------------------------


def render_text(report: BatchReport) -> str:
    """A table of row, student, problem, question, verdict, diagnosis and feedback, then a summary."""
    header = ("row", "student", "problem", "question", "verdict", "diagnosis", "feedback")
    rows = [header]
    for r in report.results:
        rows.append((str(r.row if r.row is not None else ""), visible(r.student or ""),
                     visible(r.problem), visible(r.question), r.verdict.upper(),
                     r.diagnosis or "-", _truncate(visible(r.feedback), FEEDBACK_WIDTH)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, "", summary_line(report)]) + "\n"


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def render_answer(r: GradeResult, *, hide: bool = False) -> str:
    """One graded answer in detail: verdict, diagnosis, feedback, reading, evidence.

    ``hide``: for the student's eyes, without the expected formula or value and the evidence.
    """
    verdict = r.verdict.upper() + (f" ({r.diagnosis})" if r.diagnosis else "")
    lines = [f"verdict:       {verdict}", f"feedback:      {visible(r.feedback)}",
             f"answer:        {visible(r.answer)}"]
    if r.understood_as is not None:
        lines.append(f"understood as: {visible(r.understood_as)}")
    if hide:
        return "\n".join(lines) + "\n"
    if r.expected is not None:
        lines.append(f"expected:      {visible(r.expected)}")
    if r.evidence:
        lines.append("evidence:")
        lines += [f"  {line}" for line in _evidence_lines(r.evidence)]
    return "\n".join(lines) + "\n"


def _evidence_lines(evidence: tuple[Evidence, ...], most: int = EVIDENCE_SHOWN) -> list[str]:
    """The first point (the given one, when there is one), then disagreements first."""
    ordered = [*evidence[:1], *sorted(evidence[1:], key=lambda e: e.agrees)]
    lines = [_evidence(e) for e in ordered[:most]]
    if len(ordered) > most:
        more = len(ordered) - most
        lines.append(f"... and {more} more point{'s' if more != 1 else ''} "
                     f"({sum(not e.agrees for e in ordered[most:])} disagree)")
    return lines


def _evidence(e: Evidence) -> str:
    point = ", ".join(f"{name}={value:.6g}" for name, value in e.point)
    agrees = "agrees" if e.agrees else "DISAGREES"
    return (f"at {point or 'the given point'}: got {e.got:.10g}, expected {e.expected:.10g}, "
            f"error {e.error:.3g} ({agrees})")


# ---- JSON -----------------------------------------------------------------------------


def render_json(report: BatchReport) -> str:
    """The schema ``gradcheck/grade-report/1``: same inputs and seed, same bytes."""
    from gradcheck.report.json_report import dumps

    return dumps({
        "schema": SCHEMA,
        "seed": report.seed,
        "settings": report.settings.to_dict(),
        "passed": report.passed,
        "counts": {"rows": len(report.results), **dict(report.counts)},
        "results": [r.to_dict() for r in report.results],
    })


# ---- CSV gradebook ----------------------------------------------------------------------


def gradebook(results: Iterable[GradeResult]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Columns (``problem/question`` in order of first appearance) and, per student, the cells.

    A student's later row for the same question replaces an earlier one. Rows without a
    student, problem or question (unreadable lines name none of them) have no cell to fill
    and are left out.
    """
    columns: dict[str, None] = {}
    cells: dict[str, dict[str, str]] = {}
    for r in results:
        if not (r.student and r.problem and r.question):
            continue
        column = f"{r.problem}/{r.question}"
        columns.setdefault(column)
        cells.setdefault(r.student, {})[column] = r.verdict
    names = list(columns)
    return names, [(s, [row.get(c, "") for c in names]) for s, row in cells.items()]


def render_csv(report: BatchReport) -> str:
    """One row per student, one column per problem/question, cells pass/fail/invalid/error,
    then ``score``: the number of questions passed."""
    columns, students = gradebook(report.results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *(_cell(c) for c in columns), "score"])
    for student, cells in students:
        writer.writerow([_cell(student), *cells, sum(c == "pass" for c in cells)])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = visible(text)
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


# ---- JUnit XML --------------------------------------------------------------------------


def render_junit(report: BatchReport) -> str:
    """A testsuite per problem (in order of first appearance), a testcase per row."""
    by_problem: dict[str, list[GradeResult]] = {}
    for r in report.results:
        by_problem.setdefault(r.problem, []).append(r)
    root = ET.Element("testsuites", name="gradcheck grade", tests=str(len(report.results)),
                      failures=str(_count(report.results, "fail", "invalid")),
                      errors=str(_count(report.results, "error")))
    ET.SubElement(ET.SubElement(root, "properties"), "property", name="seed",
                  value=str(report.seed))
    for problem, results in by_problem.items():
        name = _xml(problem or UNREADABLE)
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(results)),
                              failures=str(_count(results, "fail", "invalid")),
                              errors=str(_count(results, "error")))
        for r in results:
            _testcase(suite, r)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, r: GradeResult) -> None:
    name = f"row {r.row} (unreadable)" if unreadable(r) else \
        f"row {r.row} {r.student or ''} {r.question}"
    case = ET.SubElement(suite, "testcase", classname=_xml(r.problem or UNREADABLE),
                         name=_xml(name))
    if r.verdict != "pass":
        tag = "error" if r.verdict == "error" else "failure"
        node = ET.SubElement(case, tag, message=_xml(r.feedback),
                             type=r.verdict + (f":{r.diagnosis}" if r.diagnosis else ""))
        node.text = _xml(_details(r))


def _details(r: GradeResult) -> str:
    lines = [f"answer: {r.answer}"]
    if r.understood_as is not None:
        lines.append(f"understood as: {r.understood_as}")
    if r.expected is not None:
        lines.append(f"expected: {r.expected}")
    lines += _evidence_lines(r.evidence)
    return "\n".join(lines)


def _xml(text: str) -> str:
    """Text XML 1.0 can hold (ElementTree escapes markup but not control characters)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _count(results: Iterable[GradeResult], *verdicts: str) -> int:
    return sum(r.verdict in verdicts for r in results)


def _html(report: BatchReport) -> str:
    from gradcheck.report.grades_html import render_html

    return render_html(report)


GRADE_RENDERERS: dict[str, Callable[[BatchReport], str]] = {
    "text": render_text, "json": render_json, "csv": render_csv, "junit": render_junit,
    "html": _html,
}
