"""The text, JUnit and HTML reports of a batch are written as streams (issue 13).

The oracle is the in-memory rendering as it was before streaming (the functions below,
kept as they were at commit 791d438): for a varied batch, the streamed output must be the
same text, byte for byte, whether the rows are a tuple or kept on disk. Then: while a
report is written, only a handful of rows exist at a time (rows are made afresh at each
read and counted while alive), so memory does not grow with the rows.
"""

from __future__ import annotations

import io
import textwrap
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence

import pytest

from gradcheck.batch import BatchReport, BatchSettings, SpooledResults
from gradcheck.gradebook import Column
from gradcheck.problem import DIAGNOSES
from gradcheck.report import grades, grades_html
from gradcheck.report.charts import bar_chart
from gradcheck.report.grades import (
    ANSWER_WIDTH,
    FEEDBACK_WIDTH,
    GRADE_WRITERS,
    UNREADABLE,
    RenderOptions,
    _details,
    _evidence_lines,
    _xml,
    clip,
    report_gradebook,
    summary_line,
    unreadable,
    visible,
)
from gradcheck.verdict import VERDICTS, Counts, Evidence, GradeResult

# ---- the oracle: the in-memory renderers before streaming ---------------------------------


def old_render_text(report: BatchReport, options: RenderOptions) -> str:
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
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def old_render_junit(report: BatchReport, options: RenderOptions) -> str:
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
            name = f"row {r.row} (unreadable)" if unreadable(r) else \
                f"row {r.row} {r.student or ''} {r.question}"
            case = ET.SubElement(suite, "testcase", classname=_xml(r.problem or UNREADABLE),
                                 name=_xml(name))
            if r.verdict != "pass":
                tag = "error" if r.verdict == "error" else "failure"
                node = ET.SubElement(case, tag, message=_xml(r.feedback),
                                     type=r.verdict + (f":{r.diagnosis}" if r.diagnosis else ""))
                node.text = _xml(_details(r))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _count(results: Sequence[GradeResult], *verdicts: str) -> int:
    return sum(r.verdict in verdicts for r in results)


def old_render_html(report: BatchReport, options: RenderOptions) -> str:
    h = grades_html
    questions = dict.fromkeys(h._question(r) for r in report.results)
    students = dict.fromkeys(h._student(r) for r in report.results)
    filters = ('<form class="filters" onsubmit="return false">'
               + h._select("f-verdict", "verdict", [v for v in VERDICTS if report.counts[v]])
               + h._select("f-question", "question", list(questions))
               + h._select("f-student", "student", list(students))
               + f'<span id="shown">{len(report.results)} rows</span></form>')
    badges = " ".join(f'<span class="badge {v}">{n} {v}</span>' for v, n in report.counts.items())
    summary = ('<header class="summary">' + "<h1>gradcheck grade report</h1>"
               + f'<p class="counts">{len(report.results)} rows {badges}</p>'
               + f'<span class="settings">{h.escape(h._settings(report))}</span>' + filters
               + "</header>")
    names = dict(report.names)
    rows = "\n".join(h._row(r, names.get(r.problem, ())) for r in report.results)
    answers = f'<section id="answers"><h2>Answers</h2>\n{rows}\n</section>'
    return h._page("gradcheck grade report", summary,
                   [h._students_section(report_gradebook(report, options.attempts)),
                    old_questions_section(report), answers], script=True)


def old_questions_section(report: BatchReport) -> str:
    h = grades_html
    groups: dict[str, list[GradeResult]] = {}
    for r in report.results:
        groups.setdefault(h._question(r), []).append(r)
    figures = []
    for key, results in groups.items():
        counts = Counts.of(r.verdict for r in results)
        verdict_bars = bar_chart([(v, counts[v]) for v in VERDICTS], f"verdicts for {key}",
                                 classes=VERDICTS)
        fails = [r for r in results if r.verdict == "fail"]
        diagnoses = [(d, sum(r.diagnosis == d for r in fails)) for d in DIAGNOSES]
        diagnoses.append(("none", sum(r.diagnosis is None for r in fails)))
        shown = [(d, n) for d, n in diagnoses if n]
        diagnosis_bars = (f"<figcaption>diagnoses of the {h._answers(len(fails), 'failing ')}"
                          "</figcaption>"
                          + bar_chart(shown, f"diagnoses of the failing answers to {key}")
                          if shown else "<figcaption>no failing answers</figcaption>")
        passed = f"{100 * counts['pass'] / len(results):.0f}%"
        figures.append(f"<figure><h3>{h._breakable(key)}</h3><figcaption>"
                       f"{h._answers(len(results))}, {passed} passed</figcaption>"
                       f"{verdict_bars}{diagnosis_bars}</figure>")
    return (f'<section id="questions"><h2>Questions</h2><div class="charts">{"".join(figures)}'
            "</div></section>")


OLD = {"text": old_render_text, "junit": old_render_junit, "html": old_render_html}

# ---- a varied batch ---------------------------------------------------------------------

POINT = Evidence((("x", 0.5), ("w", -1.25)), 1.0, 2.0, 1.0, False)
GOOD = Evidence((("x", 0.5),), 1.0, 1.0, 0.0, True)


def results(n: int = 60, students: int = 7) -> Iterator[GradeResult]:
    """Rows over three problems, interleaved, with repeats, every verdict, diagnoses, long and
    hostile text, evidence and unreadable lines: made afresh at each call."""
    long_answer = "2*x*(w*x - y) + " * 30 + "0"
    feedback = ("The sign is flipped: your answer is minus d loss / d w. Check the direction "
                "of the gradient <b>&amp;</b>\x1b[31m at each step of the chain rule.")
    for i in range(n):
        kind = i % 9
        problem = ("p-one", "p&two", "p<three>")[i % 3]
        question = ("dq", "dr")[i % 2]
        student = f"s{i % students}" if i % 11 else f'o"brien\t{i % students}'
        if kind == 8:
            yield GradeResult("", "", f"bad,line,{i}", "error",
                              f"Row {i + 1} of the submissions file could not be read.",
                              student="", row=i + 1)
            continue
        verdict = ("pass", "fail", "fail", "invalid", "error", "pass", "fail", "pass")[kind]
        answer = long_answer if kind == 2 else ("2*x", "-2*x", "", "x +", "x", "2*x", "3*x",
                                                "2x")[kind]
        yield GradeResult(problem, question, answer, verdict,
                          feedback if verdict == "fail" else ("Right." if verdict == "pass"
                                                              else "Cannot read\nit."),
                          diagnosis=("sign" if kind == 1 else "chain" if kind == 6 else None),
                          understood_as=None if verdict in ("invalid", "error") else answer,
                          expected="2*x" if verdict != "error" else None,
                          evidence=(GOOD, POINT, POINT, GOOD, POINT, POINT) if kind == 1
                          else (GOOD,) if kind == 0 else (),
                          student=student, row=i + 1)


def report_of(rows: Sequence[GradeResult], columns: bool = True) -> BatchReport:
    cols = (Column("p-one", "dq", 2), Column("p-one", "dr"), Column("p&two", "dq"),
            Column("p&two", "dr", 0.5), Column("p<three>", "dq")) if columns else ()
    names = (("p-one", ("x", "w", "y")), ("p&two", ("x",)), ("p<three>", ("x",)))
    return BatchReport(seed=7, settings=BatchSettings(points=5, time_limit=1.5, evidence="all"),
                       results=rows, counts=Counts.of(r.verdict for r in rows), names=names,
                       questions=cols)


def written(fmt: str, report: BatchReport, options: RenderOptions) -> str:
    out = io.StringIO()
    GRADE_WRITERS[fmt](report, out, options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", sorted(OLD))
@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("columns", [True, False], ids=["bank", "no-bank"])
def test_streamed_report_is_the_in_memory_one_byte_for_byte(fmt: str, verbose: bool,
                                                             columns: bool) -> None:
    options = RenderOptions(verbose=verbose)
    rows = tuple(results())
    expected = OLD[fmt](report_of(rows, columns), options)
    assert written(fmt, report_of(rows, columns), options) == expected
    with SpooledResults(results()) as spooled:
        assert written(fmt, report_of(spooled, columns), options) == expected
    assert GRADE_WRITERS is grades.GRADE_WRITERS
    assert grades.GRADE_RENDERERS[fmt](report_of(rows, columns), options) == expected


@pytest.mark.parametrize("fmt", sorted(OLD))
def test_an_empty_batch_streams_as_before(fmt: str) -> None:
    assert written(fmt, report_of(()), RenderOptions()) == OLD[fmt](report_of(()), RenderOptions())


def test_junit_testcases_spilled_to_disk_come_back_grouped_in_order(monkeypatch) -> None:
    """With a budget of a few hundred characters, testcases go to the temporary file many
    times over; each suite still holds its rows in input order, under the right counts."""
    monkeypatch.setattr(grades, "GROUPED_BYTES", 300)
    rows = tuple(results(200))
    text = written("junit", report_of(rows), RenderOptions())
    assert text == old_render_junit(report_of(rows), RenderOptions())
    root = ET.fromstring(text.split("\n", 1)[1])
    for suite in root.iter("testsuite"):
        mine = [r for r in rows if _xml(r.problem or UNREADABLE) == suite.get("name")]
        cases = suite.findall("testcase")
        assert [c.get("name").split()[1] for c in cases] == [str(r.row) for r in mine]
        assert suite.get("tests") == str(len(mine))
        assert suite.get("errors") == str(sum(r.verdict == "error" for r in mine))


# ---- memory: rows are not held -------------------------------------------------------------


class Fresh(Sequence[GradeResult]):
    """Rows made afresh at each read (as SpooledResults unpickles them), counted while alive."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.alive = 0
        self.most = 0
        self.passes = 0
        self.read = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        raise NotImplementedError("a renderer iterates; it does not index")

    def __iter__(self) -> Iterator[GradeResult]:
        self.passes += 1
        self.read = 0
        for r in results(self.n, students=3):
            self.read += 1
            self.alive += 1
            self.most = max(self.most, self.alive)
            weakref.finalize(r, self._gone)
            yield r

    def _gone(self) -> None:
        self.alive -= 1


class Watched(io.StringIO):
    """Records, at each write, the pass over the rows and how far it had read."""

    def __init__(self, rows: Fresh) -> None:
        super().__init__()
        self.rows = rows
        self.seen: list[tuple[int, int]] = []

    def write(self, text: str) -> int:
        self.seen.append((self.rows.passes, self.rows.read))
        return super().write(text)


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_rows_are_written_as_they_are_read(fmt: str) -> None:
    """Text, JSON and HTML write each row during their last pass over the rows, not after."""
    rows = Fresh(500)
    report = report_of(rows)
    report = BatchReport(seed=report.seed, settings=report.settings, results=rows,
                         counts=Counts.of(r.verdict for r in results(500, students=3)),
                         names=report.names, questions=report.questions)
    out = Watched(rows)
    GRADE_WRITERS[fmt](report, out, RenderOptions())
    during = {read for passes, read in out.seen if passes == rows.passes and read < rows.n}
    assert len(during) >= rows.n - 10  # a write after nearly every row read


@pytest.mark.parametrize("fmt", sorted(GRADE_WRITERS))
def test_rows_are_not_held_while_a_report_is_written(fmt: str) -> None:
    """3,000 rows, 3 students: whatever the format, at most a few dozen rows are alive at
    any time (the gradebook keeps the attempt that counts per student and question: 15)."""
    rows = Fresh(3000)
    report = report_of(rows)
    report = BatchReport(seed=report.seed, settings=report.settings, results=rows,
                         counts=Counts.of(r.verdict for r in results(3000, students=3)),
                         names=report.names, questions=report.questions)
    text = written(fmt, report, RenderOptions(verbose=True))
    assert rows.most <= 40, rows.most
    assert "row 3000" in text or '"row": 3000' in text or "#3000" in text or "\n3000 " in text
