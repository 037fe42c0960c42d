"""Reports of a graded batch: text, JSON, CSV gradebook and JUnit XML (HTML: grades_html).

Pure functions from a BatchReport to text; deterministic (no timings, no timestamps).
The JSON schema is documented in docs/reports.md.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gradcheck.batch import BatchReport
from gradcheck.gradebook import Attempts, Column, Gradebook, format_percent, format_points, gradebook
from gradcheck.report.grades_json import SCHEMA, render_json, write_json
from gradcheck.verdict import Evidence, GradeResult

__all__ = ["GRADE_RENDERERS", "SCHEMA", "RenderOptions", "clip", "gradebook_rows", "render_answer",
           "render_canvas", "render_csv", "render_json", "render_junit", "render_moodle",
           "render_text", "report_gradebook", "unreadable", "write_json"]

FEEDBACK_WIDTH = 60  # text columns: wrapped at these widths, never cut
ANSWER_WIDTH = 30
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
    counts = ", ".join(f"{n} {v}" for v, n in report.counts.items())
    s = report.settings
    return (f"{len(report.results)} rows: {counts} (seed {report.seed}, {s.points} random points "
            f"per answer, time limit {s.time_limit:g} s)")


# ---- options ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderOptions:
    """What a grade renderer may be asked besides the report itself."""

    attempts: Attempts = "best"
    """Which attempt counts in a gradebook (``gradcheck.gradebook``)."""
    verbose: bool = False
    """Text: the evidence points under each row."""


DEFAULT_OPTIONS = RenderOptions()


def report_gradebook(report: BatchReport, attempts: Attempts = "best") -> Gradebook:
    """The report's gradebook: the bank's questions (``report.questions``) by students.

    A report built without a bank (by hand) gets a column per question it names, 1 point each.
    """
    cols = report.questions or tuple(dict.fromkeys(
        Column(r.problem, r.question) for r in report.results if r.problem and r.question))
    return gradebook(cols, report.results, attempts)


# ---- text -----------------------------------------------------------------------------


def render_text(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """A table of row, student, problem, question, verdict, diagnosis, answer and feedback
    (long answers and feedback wrapped in their columns), then a summary.

    With ``options.verbose``, each row is followed by its evidence points.
    """
    header = ("row", "student", "problem", "question", "verdict", "diagnosis", "answer",
              "feedback")
    rows = [[[h] for h in header]]
    evidence: list[list[str]] = [[]]
    for r in report.results:
        rows.append([[str(r.row if r.row is not None else "")], [visible(r.student or "")],
                     [visible(r.problem)], [visible(r.question)], [r.verdict.upper()],
                     [r.diagnosis or "-"], _wrap(visible(clip(r.answer)), ANSWER_WIDTH),
                     _wrap(visible(r.feedback), FEEDBACK_WIDTH)])
        evidence.append(_evidence_lines(r.evidence) if options.verbose else [])
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(len(header))]
    lines = []
    for number, (row, points) in enumerate(zip(rows, evidence, strict=True)):
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w)
                     for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
        lines += [f"     {line}" for line in points]
    return "\n".join([*lines, "", summary_line(report)]) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, broken at spaces (a longer word is split)."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


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


# ---- CSV gradebook ----------------------------------------------------------------------


def gradebook_rows(book: Gradebook) -> list[list[str]]:
    """The gradebook as text cells: a header, then one row per student.

    ``student``, one column per question of the bank (in bank order) holding the points
    earned (empty: not attempted), then ``total``, ``maximum`` and ``percent``. The CSV and
    the HTML students table are both written from these cells. A line of the submissions
    file that could not be read names no student: it follows the students as
    ``(unreadable row N)`` with no points, so no line is dropped.
    """
    rows = [["student", *(c.key for c in book.columns), "total", "maximum", "percent"]]
    for s in book.students:
        rows.append([s.student, *(format_points(c.earned) for c in s.cells),
                     format_points(s.total), format_points(s.maximum), format_percent(s.percent)])
    for row in book.unreadable:  # no line is dropped: the teacher can look this one up
        rows.append([f"(unreadable row {row})", *([""] * len(book.columns)), "0",
                     format_points(book.maximum),
                     format_percent(0.0 if book.maximum > 0 else None)])
    return rows


def render_csv(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The gradebook (``gradebook_rows``) as CSV; cells a spreadsheet would run are quoted.

    No line of the submissions file is dropped (see ``gradebook_rows``).
    """
    return _csv([[_cell(cell) for cell in row]
                 for row in gradebook_rows(report_gradebook(report, options.attempts))])


def render_canvas(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The gradebook in the layout of Canvas's gradebook CSV import (see docs/reports.md).

    ``Student, ID, SIS User ID, SIS Login ID, Section``, one column per question, then a
    ``Points Possible`` row; the student id goes in ``Student`` and ``SIS Login ID``.
    """
    book = report_gradebook(report, options.attempts)
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
             *(_cell(c.key) for c in book.columns)],
            ["Points Possible", "", "", "", "", *(format_points(c.points) for c in book.columns)]]
    for s in book.students:
        rows.append([_cell(s.student), "", "", _cell(s.student), "",
                     *(format_points(c.earned) for c in s.cells)])
    return _csv(rows)


def render_moodle(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The gradebook for Moodle's "Import grades: CSV file": ``username``, then one column
    per question (points earned), nothing else to map."""
    book = report_gradebook(report, options.attempts)
    rows = [["username", *(_cell(c.key) for c in book.columns)]]
    rows += [[_cell(s.student), *(format_points(c.earned) for c in s.cells)] for s in book.students]
    return _csv(rows)


def _csv(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = visible(text)
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


# ---- JUnit XML --------------------------------------------------------------------------


def render_junit(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
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


def _html(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    from gradcheck.report.grades_html import render_html

    return render_html(report, options)


GRADE_RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text, "json": render_json, "csv": render_csv, "junit": render_junit,
    "html": _html, "canvas": render_canvas, "moodle": render_moodle,
}
"""Format name -> ``render(report, options=RenderOptions())`` returning the whole report."""
