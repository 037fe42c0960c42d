"""Grade reports: text, JSON (stable, byte-identical), CSV gradebook, JUnit, self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck.batch import BatchReport, grade_batch
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.report.grades import (
    GRADE_RENDERERS,
    SCHEMA,
    RenderOptions,
    render_answer,
    render_csv,
    render_json,
    render_junit,
    render_text,
)
from gradcheck.report.grades_html import math_html, render_html
from gradcheck.submissions import Submission
from gradcheck.verdict import Evidence, GradeResult

BANK = load_bank([Path(__file__).parents[2] / "problems"])
LR = "linear-regression"
HOSTILE = "<script>alert(1)</script>"


def echo_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
               points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Passes "x"; fails anything else, echoing the answer as what it understood."""
    ok = answer == "x"
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail",
                       feedback="Right." if ok else f"Wrong: {answer} " + "is not it " * 10,
                       diagnosis=None if ok else "sign", understood_as=answer, expected="x",
                       evidence=(Evidence((("x", 1.0),), 1.0, float(ok), 1.0 - ok, ok),))


ROWS = [
    Submission(1, "ada", LR, "dyhat_dw", "x"),
    Submission(2, "ada", LR, "dloss_dw", "-x"),
    Submission(3, HOSTILE, LR, "dyhat_dw", HOSTILE),
    Submission(4, "=cmd|'/c calc'!A0", LR, "dyhat_dw", "x"),
    Submission(5, "bob", "nope", "q", "x"),
    Submission(6, "bob", "", "", "", broken="has 2 fields but the header has 4"),
    Submission(7, "ada", LR, "dyhat_dw", "-x"),  # a later answer replaces the earlier one
]


@pytest.fixture(scope="module")
def report() -> BatchReport:
    return grade_batch(BANK, ROWS, seed=3, grader=echo_grade)


def test_text_table_and_summary(report: BatchReport) -> None:
    text = render_text(report)
    lines = text.splitlines()
    assert lines[0].split() == ["row", "student", "problem", "question", "verdict", "diagnosis",
                                "answer", "feedback"]
    row2 = next(line for line in lines if line.startswith("2 "))
    assert "FAIL" in row2 and "sign" in row2 and "  -x  " in row2  # the answer column
    assert all(len(line) < 200 for line in lines)  # long feedback is wrapped ...
    at = lines[0].index("feedback")
    start = lines.index(row2)
    end = next(i for i in range(start + 1, len(lines)) if lines[i][:1].isdigit())
    column = " ".join(line[at:].strip() for line in lines[start:end])
    feedback = report.results[1].feedback
    assert len(feedback) > 100 and column == " ".join(feedback.split())  # ... and not cut
    assert lines[-1] == ("7 rows: 2 pass, 3 fail, 0 invalid, 2 error "
                         "(seed 3, 20 random points per answer, time limit 2 s)")


def test_text_shows_control_characters_as_escapes() -> None:
    rows = [Submission(1, "eve\x1b[2J\r", LR, "dyhat_dw", "x")]
    text = render_text(grade_batch(BANK, rows, grader=echo_grade))
    assert "\x1b" not in text and "\r" not in text and "eve\\x1b[2J\\r" in text


def test_json_schema_and_bytes(report: BatchReport) -> None:
    text = render_json(report)
    data = json.loads(text)
    assert list(data) == ["schema", "seed", "settings", "passed", "counts", "results"]
    assert data["schema"] == SCHEMA and data["seed"] == 3
    assert data["settings"] == {"points": 20, "time_limit": 2.0, "evidence": "all"}
    assert data["counts"] == {"rows": 7, "pass": 2, "fail": 3, "invalid": 0, "error": 2}
    assert [r["row"] for r in data["results"]] == [1, 2, 3, 4, 5, 6, 7]
    assert list(data["results"][0]) == ["row", "student", "problem", "question", "answer",
                                        "verdict", "diagnosis", "feedback", "understood_as",
                                        "expected", "evidence", "evidence_omitted",
                                        "same_evidence_as", "decision"]
    again = grade_batch(BANK, ROWS, seed=3, workers=2, grader=echo_grade)
    assert render_json(again) == text


def bank_columns() -> list[str]:
    """problem/question for every question of the bank, read from the TOML files directly."""
    import tomllib

    keys = []
    for path in sorted((Path(__file__).parents[2] / "problems").rglob("*.toml")):
        data = tomllib.loads(path.read_text())
        keys += [f"{data['id']}/{q['id']}" for q in data["questions"]]
    return keys


def test_csv_gradebook_is_student_by_question(report: BatchReport) -> None:
    table = list(csv.reader(io.StringIO(render_csv(report))))
    keys = bank_columns()
    assert table[0] == ["student", *keys, "total", "maximum", "percent"]
    col = {k: i for i, k in enumerate(table[0])}
    most = str(len(keys))  # every question is worth 1 point in the seed bank
    ada = table[1]
    # best attempt: row 1 passed dyhat_dw, row 7 failed it later: the pass counts
    assert ada[0] == "ada" and ada[col[f"{LR}/dyhat_dw"]] == "1" and ada[col[f"{LR}/dloss_dw"]] == "0"
    assert ada[-3:] == ["1", most, f"{100 / len(keys):.2f}"]
    assert sum(cell != "" for cell in ada[1:-3]) == 2  # not attempted: empty
    assert table[2][0] == HOSTILE and table[2][-3:] == ["0", most, "0.00"]
    assert table[3][0] == "'=cmd|'/c calc'!A0" and table[3][-3] == "1"  # no formula injection
    assert table[4][0] == "bob" and table[4][1:-3] == [""] * len(keys)  # only rows outside the bank
    assert table[5][0] == "(unreadable row 6)" and table[5][1:-2] == [""] * len(keys) + ["0"]
    assert len(table) == 6  # no line of the file is dropped
    last = list(csv.reader(io.StringIO(render_csv(report, RenderOptions(attempts="last")))))
    assert last[1][col[f"{LR}/dyhat_dw"]] == "0" and last[1][-3] == "0"


def test_junit_suite_per_problem_case_per_row(report: BatchReport) -> None:
    root = ET.fromstring(render_junit(report).split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [LR, "nope", "(unreadable rows)"]
    assert [len(s.findall("testcase")) for s in suites] == [5, 1, 1]
    assert root.get("failures") == "3" and root.get("errors") == "2"
    failure = suites[0].findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("type") == "fail:sign"
    assert "answer: -x" in (failure.text or "")
    assert "at x=1: got 0, expected 1" in (failure.text or "")


def test_html_is_one_self_contained_escaped_file(report: BatchReport) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and page.count("<html") == 1
    assert "<style>" in page
    for banned in ("https://", "<link", " src=", "@import", "url(", "fetch(", "xmlhttprequest"):
        assert banned not in page.lower(), banned
    assert page.lower().count("http://") == page.count('xmlns="http://www.w3.org/2000/svg"')
    assert page.count("<script") == 1  # the filters, inline
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<math") >= 6   # answers and expected formulas as MathML
    assert "<mo>-</mo><mi>x</mi>" in page
    for heading in ("<h2>Students</h2>", "<h2>Questions</h2>", "<h2>Answers</h2>"):
        assert heading in page


def test_math_only_from_names_the_problem_declares() -> None:
    assert math_html("2*x", ("x",)).startswith("<math")
    assert math_html("2*z", ("x",)) == "<code>2*z</code>"
    sneaky = "Symbol('<img src=x onerror=alert(1)>')"
    assert "<img" not in math_html(sneaky, ("x",))
    assert math_html(None, ("x",)) == ""


def test_every_format_is_registered(report: BatchReport) -> None:
    assert set(GRADE_RENDERERS) == {"text", "json", "csv", "junit", "html", "canvas", "moodle"}
    for render in GRADE_RENDERERS.values():
        assert render(report).endswith("\n")


def test_one_answer_in_detail(report: BatchReport) -> None:
    text = render_answer(report.results[1])
    assert "verdict:       FAIL (sign)" in text
    assert "understood as: -x" in text and "expected:      x" in text
    assert "at x=1: got 0, expected 1, error 1 (DISAGREES)" in text


# ---- unreadable lines name no one; long answers are cut in tables, whole in JSON ----------

BROKEN_CSV = ("student,problem,question,answer\n"
              f"ada,{LR},dyhat_dw,x\n"
              "bad,line,with,too,many,fields\n"
              'cy,p,q,"unbalanced\n'
              f"bob,{LR},dyhat_dw,-x\n")


@pytest.fixture(scope="module")
def broken_report() -> BatchReport:
    from gradcheck.submissions import parse_submissions

    return grade_batch(BANK, parse_submissions(BROKEN_CSV, "csv"), grader=echo_grade)


def test_unreadable_lines_add_no_column_or_suite_but_a_gradebook_line(broken_report: BatchReport) -> None:
    table = list(csv.reader(io.StringIO(render_csv(broken_report))))
    assert table[0] == ["student", *bank_columns(), "total", "maximum", "percent"]
    assert [row[0] for row in table] == ["student", "ada", "bob", "(unreadable row 2)",
                                         "(unreadable row 3)"]  # never dropped
    root = ET.fromstring(render_junit(broken_report).split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [LR, "(unreadable rows)"]
    cases = suites[1].findall("testcase")
    assert [c.get("name") for c in cases] == ["row 2 (unreadable)", "row 3 (unreadable)"]
    assert "answer: bad,line,with,too,many,fields" in (cases[0].find("error").text or "")


def test_unreadable_lines_keep_row_and_text_in_json_and_html(broken_report: BatchReport) -> None:
    results = json.loads(render_json(broken_report))["results"]
    assert [(r["row"], r["student"], r["problem"], r["question"], r["answer"])
            for r in results[1:3]] == [(2, "", "", "", "bad,line,with,too,many,fields"),
                                       (3, "", "", "", 'cy,p,q,"unbalanced')]
    page = render_html(broken_report)
    students = page.split("<h2>Students</h2>")[1].split("<h2>Questions</h2>")[0]
    questions = page.split("<h2>Questions</h2>")[1].split("<h2>Answers</h2>")[0]
    assert "(unreadable rows)" not in students  # no one to give points to
    assert "<h3>(unreadable rows)</h3><figcaption>2 answers, 0% passed" in questions
    for table in (students, questions):
        assert "bad" not in table and "line/with" not in table and "(unknown)" not in table
    assert "<code>bad,line,with,too,many,fields</code>" in page


def test_long_answer_is_cut_in_html_and_whole_in_json() -> None:
    answer = "x+" * 50_000 + "x"
    report = grade_batch(BANK, [Submission(1, "ada", LR, "dyhat_dw", answer)], grader=echo_grade)
    page = render_html(report)
    assert answer not in page and len(page) < 20_000
    assert f"<code>{answer[:200]}… ({len(answer)} characters)</code>" in page
    assert "overflow-wrap: anywhere" not in page  # it squeezed cells to a letter a line
    assert ".gc .formula { overflow-x: auto; white-space: nowrap;" in page
    assert json.loads(render_json(report))["results"][0]["answer"] == answer


def test_sympy_mathml_does_not_escape_text_so_math_html_checks_it() -> None:
    from sympy import Symbol
    from sympy.printing.mathml import mathml

    from gradcheck.report.grades_html import safe_mathml

    raw = mathml(Symbol("<img src=x onerror=alert(1)>"), printer="presentation")
    assert "<img src=x onerror=alert(1)>" in raw  # SymPy's printer: the hazard (FINDINGS)
    assert not safe_mathml(raw)                   # so its output is checked before use
    assert safe_mathml(mathml(Symbol("x") / 2, printer="presentation"))
    # even a name the problem "declares" never reaches the page unchecked
    assert "<img" not in math_html("x", ("<img src=x onerror=alert(1)>", "x"))


def test_quotes_in_names_cannot_leave_an_attribute() -> None:
    name = 'x" onmouseover="alert(1)'
    rows = [Submission(1, name, LR, "dyhat_dw", "x"), Submission(2, "ada", LR, "dyhat_dw", name)]
    page = render_html(grade_batch(BANK, rows, grader=echo_grade))
    assert 'onmouseover="alert(1)' not in page
    assert 'data-student="x&quot; onmouseover=&quot;alert(1)"' in page
    assert '<option value="x&quot; onmouseover=&quot;alert(1)">' in page
