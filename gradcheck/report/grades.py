"""Reports of a graded batch: text, JSON, CSV gradebook and JUnit XML (HTML: grades_html).

Pure functions from a BatchReport to text; deterministic (no timings, no timestamps).
The JSON schema is documented in docs/reports.md.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from gradcheck.batch import BatchReport
from gradcheck.gradebook import Attempts, Column, Gradebook, format_percent, format_points, gradebook
from gradcheck.report.grades_json import SCHEMA, render_json, write_json
from gradcheck.verdict import Decision, Evidence, GradeResult

__all__ = ["GRADE_RENDERERS", "GRADE_WRITERS", "SCHEMA", "RenderOptions", "clip", "gradebook_rows",
           "render_answer", "render_canvas", "render_csv", "render_json", "render_junit", "render_moodle",
           "render_text", "report_gradebook", "unreadable", "write_json", "write_junit", "write_text"]

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


TEXT_HEADER = ("row", "student", "problem", "question", "verdict", "diagnosis", "answer",
               "feedback")


def render_text(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """A table of row, student, problem, question, verdict, diagnosis, answer and feedback
    (long answers and feedback wrapped in their columns), then a summary.

    With ``options.verbose``, each row is followed by its evidence points.
    """
    return _rendered(write_text, report, options)


def write_text(report: BatchReport, out: TextIO, options: RenderOptions = DEFAULT_OPTIONS) -> None:
    """``render_text``'s text, written to ``out`` a row at a time.

    Two passes over ``report.results`` (a ``SpooledResults`` reads its file twice): the
    first finds the columns' widths, the second writes the rows. Nothing grows with the
    rows: the wrapped answers and feedback are kept for at most ``TEXT_CELLS`` texts.
    """
    cells = _TextCells()
    widths = [len(h) for h in TEXT_HEADER]
    for r in report.results:
        for i, cell in enumerate(cells.row(r)):
            longest = max(len(line) for line in cell)
            if longest > widths[i]:
                widths[i] = longest
    out.write(_text_lines([[h] for h in TEXT_HEADER], widths))
    out.write("  ".join("-" * w for w in widths) + "\n")
    passes = proved = 0
    for r in report.results:
        out.write(_text_lines(cells.row(r), widths))
        if options.verbose:
            decided = [f"decided: {decision_text(r.decision)}"] if r.decision else []
            out.write("".join(f"     {line}\n" for line in [*decided, *_evidence_lines(r.evidence)]))
        if r.verdict == "pass" and r.decision is not None:
            passes += 1
            proved += r.decision.method == "proved"
    decided_line = decisions_line(passes, proved)
    out.write("\n" + (decided_line + "\n" if decided_line else "") + summary_line(report) + "\n")


def decisions_line(passes: int, proved: int) -> str:
    """``how the 3 passes were decided: 2 proved, 1 sampled (high precision)``; ``""`` when no
    pass records a decision."""
    if not passes:
        return ""
    counted = f"{passes} pass{'es were' if passes != 1 else ' was'}"
    return f"how the {counted} decided: {proved} proved, {passes - proved} sampled (high precision)"


def _text_lines(row: list[list[str]], widths: list[int]) -> str:
    """One table row (as many lines as its tallest cell), each line ending in a newline."""
    lines = []
    for k in range(max(len(cell) for cell in row)):
        parts = [(cell[k] if k < len(cell) else "").ljust(w)
                 for cell, w in zip(row, widths, strict=True)]
        lines.append("  ".join(parts).rstrip() + "\n")
    return "".join(lines)


TEXT_CELLS = 4096  # distinct answers and feedback kept wrapped while writing a text report


class _TextCells:
    """A result's cells in the text table; a repeated answer or feedback is wrapped once."""

    def __init__(self) -> None:
        self.wrapped: dict[tuple[str, int], list[str]] = {}

    def row(self, r: GradeResult) -> list[list[str]]:
        return [[str(r.row if r.row is not None else "")], [visible(r.student or "")],
                [visible(r.problem)], [visible(r.question)], [r.verdict.upper()],
                [r.diagnosis or "-"], self._wrapped(clip(r.answer), ANSWER_WIDTH),
                self._wrapped(r.feedback, FEEDBACK_WIDTH)]

    def _wrapped(self, text: str, width: int) -> list[str]:
        key = (text, width)
        lines = self.wrapped.get(key)
        if lines is None:
            if len(self.wrapped) >= TEXT_CELLS:
                self.wrapped.clear()
            lines = self.wrapped[key] = _wrap(visible(text), width)
        return lines


def _rendered(write: Callable[[BatchReport, TextIO, RenderOptions], None], report: BatchReport,
              options: RenderOptions) -> str:
    """A streaming writer's text as one string (for a small report, or a notebook)."""
    out = io.StringIO()
    write(report, out, options)
    return out.getvalue()


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
    if r.decision is not None:
        lines.append(f"decided:       {decision_text(r.decision)}")
    if hide:
        return "\n".join(lines) + "\n"
    if r.expected is not None:
        lines.append(f"expected:      {visible(r.expected)}")
    if r.evidence:
        lines.append("evidence:")
        lines += [f"  {line}" for line in _evidence_lines(r.evidence)]
    return "\n".join(lines) + "\n"


def decision_text(d: Decision | None) -> str:
    """How a verdict was decided, in words; ``""`` when nothing was (unread, failed at once).

    >>> decision_text(Decision("proved", 21))
    'proved (your answer minus the truth simplifies to 0), after agreeing at 21 points'
    >>> decision_text(Decision("sampled", 29, 8, 30))
    'sampled: equal at 29 points (8 of them secret), in high precision (30 digits)'
    """
    if d is None:
        return ""
    points = f"{d.points} point{'s' if d.points != 1 else ''}"
    if d.method == "proved":
        text = f"proved (your answer minus the truth simplifies to 0), after agreeing at {points}"
    else:
        secret = f" ({d.secret} of them secret)" if d.secret else ""
        digits = f", in high precision ({d.digits} digits)" if d.digits else ", in float64"
        text = f"sampled: equal at {points}{secret}{digits}"
    return f"{text}; {d.note}" if d.note else text


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
    return _rendered(write_junit, report, options)


def write_junit(report: BatchReport, out: TextIO, options: RenderOptions = DEFAULT_OPTIONS) -> None:
    """``render_junit``'s XML, with memory flat in the rows.

    A suite's counts come before its testcases, and a problem's rows are scattered over the
    batch: each testcase is serialised as it is read, and kept (in memory up to
    ``GROUPED_BYTES``, then in a temporary file) with its problem's; the skeleton (suites
    and their counts, indented by ElementTree) is then written with each suite's testcases
    in place of a marker.
    """
    tally: dict[str, list[int]] = {}  # problem -> [tests, failures, errors]
    failures: dict[tuple[object, ...], str] = {}
    with _Grouped() as cases:
        for r in report.results:
            counts = tally.get(r.problem)
            if counts is None:
                counts = tally[r.problem] = [0, 0, 0]
            counts[0] += 1
            if r.verdict != "pass":
                counts[2 if r.verdict == "error" else 1] += 1
            cases.add(r.problem, _testcase(r, failures))
        root = ET.Element("testsuites", name="gradcheck grade", tests=str(len(report.results)),
                          failures=str(sum(c[1] for c in tally.values())),
                          errors=str(sum(c[2] for c in tally.values())))
        ET.SubElement(ET.SubElement(root, "properties"), "property", name="seed",
                      value=str(report.seed))
        for i, (problem, (tests, failed, errors)) in enumerate(tally.items()):
            suite = ET.SubElement(root, "testsuite", name=_xml(problem or UNREADABLE),
                                  tests=str(tests), failures=str(failed), errors=str(errors))
            ET.SubElement(suite, _SLOT, i=str(i))
        ET.indent(root)
        skeleton = ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
        position = 0
        for i, problem in enumerate(tally):
            marker = f'<{_SLOT} i="{i}" />'
            at = skeleton.index(marker, position)
            out.write(skeleton[position:at])
            separator = ""
            for chunk in cases.group(problem):
                out.write(separator + chunk)
                separator = _CASE_SEPARATOR
            position = at + len(marker)
        out.write(skeleton[position:])


_SLOT = "gradcheck-testcases"  # a tag no report text can produce (its < would be escaped)
_CASE_SEPARATOR = "\n    "  # between testcases, as ET.indent places them in a suite
JUNIT_FAILURES = 4096  # distinct failures' XML kept while writing a JUnit report


def _testcase(r: GradeResult, failures: dict[tuple[object, ...], str]) -> str:
    """One testcase's XML, indented as in the whole document (the failure of a repeated
    answer is serialised once)."""
    name = f"row {r.row} (unreadable)" if unreadable(r) else \
        f"row {r.row} {r.student or ''} {r.question}"
    case = ET.tostring(ET.Element("testcase", classname=_xml(r.problem or UNREADABLE),
                                  name=_xml(name)), encoding="unicode")
    if r.verdict == "pass":
        return case
    key = (r.problem, r.question, r.answer, r.verdict, r.feedback, r.diagnosis,
           r.understood_as, r.expected, r.evidence)
    failure = failures.get(key)
    if failure is None:
        if len(failures) >= JUNIT_FAILURES:
            failures.clear()
        tag = "error" if r.verdict == "error" else "failure"
        node = ET.Element(tag, message=_xml(r.feedback),
                          type=r.verdict + (f":{r.diagnosis}" if r.diagnosis else ""))
        node.text = _xml(_details(r))
        failure = failures[key] = ET.tostring(node, encoding="unicode")
    assert case.endswith(" />")
    return f"{case[:-3]}>\n      {failure}\n    </testcase>"


GROUPED_BYTES = 8 << 20  # characters of testcases kept in memory before they go to disk


class _Grouped:
    """Texts added in any order, read back grouped by key (in each group, in the order
    added), with at most about ``GROUPED_BYTES`` characters in memory: the rest is in a
    temporary file, as one segment per group and spill."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = GROUPED_BYTES if budget is None else budget
        self.held: dict[str, list[str]] = {}
        self.size = 0
        self.segments: dict[str, list[tuple[int, int]]] = {}
        self.file: Any = None
        self.end = 0

    def add(self, key: str, text: str) -> None:
        self.held.setdefault(key, []).append(text)
        self.size += len(text)
        if self.size > self.budget:
            self._spill()

    def _spill(self) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile()
        for key, texts in self.held.items():
            data = _CASE_SEPARATOR.join(texts).encode("utf-8", "surrogatepass")
            self.file.write(data)
            self.segments.setdefault(key, []).append((self.end, len(data)))
            self.end += len(data)
        self.file.flush()
        self.held = {}
        self.size = 0

    def group(self, key: str) -> Iterator[str]:
        """The texts of one group, as a few chunks (joined by ``_CASE_SEPARATOR``)."""
        for offset, length in self.segments.get(key, ()):
            self.file.seek(offset)
            yield self.file.read(length).decode("utf-8", "surrogatepass")
        texts = self.held.get(key)
        if texts:
            yield _CASE_SEPARATOR.join(texts)

    def __enter__(self) -> _Grouped:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


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


def _html(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    from gradcheck.report.grades_html import render_html

    return render_html(report, options)


def _write_html(report: BatchReport, out: TextIO, options: RenderOptions = DEFAULT_OPTIONS) -> None:
    from gradcheck.report.grades_html import write_html

    write_html(report, out, options)


GRADE_RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text, "json": render_json, "csv": render_csv, "junit": render_junit,
    "html": _html, "canvas": render_canvas, "moodle": render_moodle,
}
"""Format name -> ``render(report, options=RenderOptions())`` returning the whole report."""

GRADE_WRITERS: dict[str, Callable[..., None]] = {
    "text": write_text, "json": write_json, "junit": write_junit, "html": _write_html,
}
"""Format name -> ``write(report, out, options=RenderOptions())``: the same text as the
renderer's, written to a text stream with memory flat in the rows (two passes over
``report.results`` at most; a ``SpooledResults`` reads its file again). The gradebooks
(csv, canvas, moodle) hold a cell per student and question, not per row: they are
rendered whole."""
