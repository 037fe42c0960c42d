"""How a verdict was decided (``GradeResult.decision``) shows in text and HTML, not only
in JSON and Python (issue 8, requirement 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradcheck.batch import BatchReport, grade_batch
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.report.grades import RenderOptions, render_answer, render_text
from gradcheck.report.grades_html import render_html
from gradcheck.submissions import Submission
from gradcheck.verdict import Decision, GradeResult

BANK = load_bank([Path(__file__).parents[2] / "problems" / "seeds"])
LR = "linear-regression"
# Chosen by hand, so the renderers cannot copy them from a grading run.
HOW = {"x": Decision("proved", 21), "2*x": Decision("sampled", 29, 8, 30, "a note to show"),
       "-x": None}


def decided_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                  points: int = 20, time_limit: float = 2.0) -> GradeResult:
    decision = HOW[answer]
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if decision else "fail", feedback="...",
                       decision=decision)


@pytest.fixture(scope="module")
def report() -> BatchReport:
    rows = [Submission(i + 1, "ada", LR, "dyhat_dw", answer) for i, answer in enumerate(HOW)]
    return grade_batch(BANK, rows, grader=decided_grade)


def test_one_answer_says_how_it_was_decided() -> None:
    proved = decided_grade(BANK[0], "q", "x")
    text = render_answer(proved)
    assert "decided:       proved" in text and "21 points" in text
    sampled = render_answer(decided_grade(BANK[0], "q", "2*x"), hide=True)
    line = next(x for x in sampled.splitlines() if x.startswith("decided:"))
    assert "sampled" in line and "29 points" in line and "8 of them secret" in line
    assert "30 digits" in line and "a note to show" in line
    assert "decided" not in render_answer(decided_grade(BANK[0], "q", "-x"))


def test_the_class_table_counts_proved_and_sampled_passes(report: BatchReport) -> None:
    lines = render_text(report).splitlines()
    assert lines[-2] == "how the 2 passes were decided: 1 proved, 1 sampled (high precision)"
    verbose = render_text(report, RenderOptions(verbose=True)).splitlines()
    decided = [x.strip() for x in verbose if x.strip().startswith("decided:")]
    assert len(decided) == 2 and decided[0].startswith("decided: proved")
    assert "29 points" in decided[1]


def test_html_shows_the_decision(report: BatchReport) -> None:
    page = render_html(report)
    assert page.count('<span class="decided">(decided: ') == 2
    assert "8 of them secret" in page
