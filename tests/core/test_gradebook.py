"""The gradebook: points per student and question over the whole bank, one policy for attempts.

Expected numbers are worked out by hand from the rows below (see each comment).
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest

from gradcheck.batch import BatchReport, grade_batch
from gradcheck.errors import UsageError
from gradcheck.gradebook import Column, format_points, gradebook
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.report.grades import RenderOptions, render_canvas, render_csv, render_moodle
from gradcheck.report.grades_html import render_html, render_student_pages
from gradcheck.submissions import Submission
from gradcheck.verdict import GradeResult
from tests.helpers import LINEAR

# Two problems: p1 has a (2 points) and b (1 point); p2 has c (0.5 points). Maximum 3.5.
P1 = LINEAR.format(stem="p1") + """
[[questions]]
id = "a"
of = "loss"
wrt = "w"
points = 2
[[questions]]
id = "b"
of = "loss"
wrt = "x"
"""
P2 = LINEAR.format(stem="p2") + """
[[questions]]
id = "c"
of = "loss"
wrt = "y"
points = 0.5
"""

ROWS = [  # (row, student, problem, question, answer): "ok" passes, anything else fails
    Submission(1, "ada", "p2", "c", "ok"),    # p2 first: columns must still be in bank order
    Submission(2, "ada", "p1", "a", "no"),
    Submission(3, "bob", "p1", "a", "ok"),
    Submission(4, "ada", "p1", "a", "ok"),
    Submission(5, "bob", "p9", "z", "ok"),    # outside the bank: an error row, no cell
    Submission(6, "ada", "p1", "a", "no"),
    Submission(7, "", "", "", "x", broken="has 2 fields"),  # unreadable: no student
]


def ok_grader(problem: Problem, question_id: str, answer: str, **_: object) -> GradeResult:
    ok = answer == "ok"
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail", feedback="Right." if ok else "Wrong.")


@pytest.fixture
def report(write_problem) -> BatchReport:
    write_problem(P1, stem="p1")
    bank = load_bank([write_problem(P2, stem="p2").parent])
    return grade_batch(bank, ROWS, grader=ok_grader)


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


HEADER = ["student", "p1/a", "p1/b", "p2/c", "total", "maximum", "percent"]


def test_best_attempt_counts_by_default(report: BatchReport) -> None:
    assert table(render_csv(report)) == [
        HEADER,
        # ada: a passed at row 4 (2 points), b not attempted, c passed (0.5): 2.5 / 3.5
        ["ada", "2", "", "0.5", "2.5", "3.5", "71.43"],
        # bob: a passed (2); his p9 row has no column, but the maximum is still the whole bank
        ["bob", "2", "", "", "2", "3.5", "57.14"],
        # the unreadable line 7 names no one, but is not dropped
        ["(unreadable row 7)", "", "", "", "0", "3.5", "0.00"],
    ]


def test_last_and_first_attempts(report: BatchReport) -> None:
    last = table(render_csv(report, RenderOptions(attempts="last")))
    assert last[1] == ["ada", "0", "", "0.5", "0.5", "3.5", "14.29"]  # row 6 failed a
    first = table(render_csv(report, RenderOptions(attempts="first")))
    assert first[1] == ["ada", "0", "", "0.5", "0.5", "3.5", "14.29"]  # row 2 failed a
    assert first[2] == last[2] == ["bob", "2", "", "", "2", "3.5", "57.14"]


def test_gradebook_cells_record_the_counted_attempt(report: BatchReport) -> None:
    book = gradebook(report.questions, report.results, attempts="best")
    ada = book.students[0].cells[0]
    assert (ada.earned, ada.verdict, ada.attempts, ada.row) == (2, "pass", 3, 4)
    assert book.students[0].cells[1].earned is None  # not attempted
    assert book.maximum == 3.5
    with pytest.raises(UsageError, match="best, last, first"):
        gradebook(report.questions, report.results, attempts="worst")  # type: ignore[arg-type]


def test_a_bank_worth_nothing_has_no_percent() -> None:
    results = [GradeResult("p", "q", "x", "pass", "", student="ada")]
    book = gradebook([Column("p", "q", 0)], results)
    assert book.students[0].percent is None and format_points(book.students[0].total) == "0"


class _Tables(HTMLParser):
    """The cells of the table inside <section id="students">."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.inside = ("id", "students") in attrs
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_students(page: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(page)
    return parser.rows


@pytest.mark.parametrize("attempts", ["best", "last", "first"])
def test_html_students_table_is_the_csv(report: BatchReport, attempts: str) -> None:
    options = RenderOptions(attempts=attempts)  # type: ignore[arg-type]
    assert html_students(render_html(report, options)) == table(render_csv(report, options))


def test_student_pages_hold_one_student_each(report: BatchReport) -> None:
    pages = render_student_pages(report)
    assert sorted(pages) == ["ada.html", "bob.html", "index.html"]
    ada = pages["ada.html"]
    assert html_students(ada) == table(render_csv(report))[:2]
    assert "bob" not in ada and "p9" not in ada
    assert 'href="ada.html"' in pages["index.html"]


def test_canvas_layout(report: BatchReport) -> None:
    assert table(render_canvas(report)) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "p1/a", "p1/b", "p2/c"],
        ["Points Possible", "", "", "", "", "2", "1", "0.5"],
        ["ada", "", "", "ada", "", "2", "", "0.5"],
        ["bob", "", "", "bob", "", "2", "", ""],
    ]


def test_moodle_layout(report: BatchReport) -> None:
    assert table(render_moodle(report)) == [["username", "p1/a", "p1/b", "p2/c"],
                                            ["ada", "2", "", "0.5"], ["bob", "2", "", ""]]
