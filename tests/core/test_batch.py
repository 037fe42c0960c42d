"""grade_batch: input order, error rows, killed rows, determinism across workers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gradcheck import batch
from gradcheck.batch import BatchReport, grade_batch
from gradcheck.errors import UsageError
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.submissions import Submission, parse_submissions
from gradcheck.verdict import GradeResult

BANK = load_bank([Path(__file__).parents[2] / "problems"])
LR = "linear-regression"


def fake_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
               points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Passes "x"; sleeps, crashes or raises on request; fails anything else."""
    if answer == "slow":
        time.sleep(10)
    if answer == "crash":
        os._exit(7)
    if answer == "boom":
        raise RuntimeError("grader bug")
    ok = answer == "x"
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail", feedback="right" if ok else "wrong",
                       diagnosis=None if ok else "sign", understood_as=answer, expected="x",
                       seed=seed)


def subs(*answers: str, problem: str = LR, question: str = "dyhat_dw") -> list[Submission]:
    return [Submission(i, f"s{i}", problem, question, a) for i, a in enumerate(answers, start=1)]


def verdicts(report: BatchReport) -> list[str]:
    return [r.verdict for r in report.results]


def test_results_keep_input_order_and_identity() -> None:
    report = grade_batch(BANK, subs("x", "y", "x"), seed=5, grader=fake_grade)
    assert verdicts(report) == ["pass", "fail", "pass"]
    assert [(r.row, r.student, r.seed) for r in report.results] == [
        (1, "s1", 5), (2, "s2", 5), (3, "s3", 5)]
    assert dict(report.counts) == {"pass": 2, "fail": 1, "invalid": 0, "error": 0}
    assert report.counts["pass"] == 2 and list(report.counts) == ["pass", "fail", "invalid", "error"]
    assert report.seed == 5 and not report.passed


def test_unknown_problem_and_question_are_error_rows_with_help() -> None:
    rows = [*subs("x"), *subs("x", problem="nope"), *subs("x", question="dloss_dww"),
            *subs("x")]
    report = grade_batch(BANK, rows, grader=fake_grade)
    assert verdicts(report) == ["pass", "error", "error", "pass"]
    assert report.results[1].feedback.startswith("unknown problem 'nope'; known problems: ")
    assert LR in report.results[1].feedback
    question = report.results[2].feedback
    assert question.startswith(f"problem {LR} has no question 'dloss_dww'")
    assert "did you mean 'dloss_dw'?" in question and "its questions are dloss_ds" in question


def test_broken_lines_become_error_rows_and_the_rest_are_graded() -> None:
    text = ("student,problem,question,answer\n"
            f"ada,{LR},dyhat_dw,x\nbob,{LR}\ncy,{LR},dyhat_dw,y\n")
    report = grade_batch(BANK, parse_submissions(text, "csv"), grader=fake_grade)
    assert verdicts(report) == ["pass", "error", "fail"]
    broken = report.results[1]
    assert broken.row == 2 and broken.answer == f"bob,{LR}"   # its line, as read
    assert (broken.student, broken.problem, broken.question) == ("", "", "")  # no one's row
    assert "could not be read: has 2 fields" in broken.feedback


def test_a_broken_submission_names_no_one_however_it_was_built() -> None:
    rows = [Submission(1, "bad", "line", "with", "too", broken="has 6 fields but the header has 4")]
    result = grade_batch(BANK, rows, grader=fake_grade).results[0]
    assert result.verdict == "error" and result.row == 1 and result.answer == "too"
    assert (result.student, result.problem, result.question) == ("", "", "")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stuck_row_is_killed_and_the_rest_graded(workers: int) -> None:
    start = time.monotonic()
    report = grade_batch(BANK, subs("x", "slow", "y", "x"), time_limit=0.5, workers=workers,
                         grader=fake_grade)
    assert time.monotonic() - start < 5
    assert verdicts(report) == ["pass", "error", "fail", "pass"]
    assert "exceeded the time limit: it took longer than 0.5 s" in report.results[1].feedback


def nap_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
              points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Like fake_grade, but any answer starting with "slow" hangs (so several can)."""
    return fake_grade(problem, question_id, "slow" if answer.startswith("slow") else answer,
                      seed=seed, points=points, time_limit=time_limit)


def test_killed_rows_are_error_rows_and_no_row_is_lost() -> None:
    """Two hanging answers in one chunk, one of them repeated, among 40 rows on 2 workers:
    each hanging row comes back an ``error`` saying it exceeded the time limit, in its place;
    the answers queued behind a killed one in its chunk are graded by the new worker."""
    answers = ["x", "y"] * 10 + ["slow1"] + ["x", "y"] * 4 + ["slow2", "z", "slow1"] + ["x"] * 9
    report = grade_batch(BANK, subs(*answers), time_limit=0.3, workers=2, grader=nap_grade)
    assert [r.row for r in report.results] == list(range(1, len(answers) + 1))
    assert [r.answer for r in report.results] == answers
    expected = ["error" if a.startswith("slow") else "pass" if a == "x" else "fail"
                for a in answers]
    assert verdicts(report) == expected
    for r in report.results:
        if r.verdict == "error":
            assert "exceeded the time limit: it took longer than 0.3 s" in r.feedback
    assert report.counts["error"] == 3 and report.counts["invalid"] == 0


def test_a_stuck_row_is_stopped_in_process_where_fork_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(batch, "_can_fork", lambda: False)
    start = time.monotonic()
    report = grade_batch(BANK, subs("x", "slow", "x"), time_limit=0.5, grader=fake_grade)
    assert time.monotonic() - start < 5
    assert verdicts(report) == ["pass", "error", "pass"]
    assert "exceeded the time limit" in report.results[1].feedback


def test_a_crashing_or_raising_grader_costs_one_row() -> None:
    report = grade_batch(BANK, subs("x", "crash", "boom", "x"), grader=fake_grade)
    assert verdicts(report) == ["pass", "error", "error", "pass"]
    assert "grading process died" in report.results[1].feedback
    assert "RuntimeError: grader bug" in report.results[2].feedback


def test_same_results_whatever_the_number_of_workers() -> None:
    rows = subs(*["x", "y", "z", "x"] * 30)
    one = grade_batch(BANK, rows, workers=1, grader=fake_grade)
    two = grade_batch(BANK, rows, workers=2, grader=fake_grade)
    assert one == two


def test_progress_counts_every_row() -> None:
    seen: list[tuple[int, int]] = []
    grade_batch(BANK, [*subs("x", "y"), *subs("x", problem="nope")], grader=fake_grade,
                progress=lambda done, total: seen.append((done, total)))
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


def test_empty_batch() -> None:
    report = grade_batch(BANK, [], grader=fake_grade)
    assert report.results == () and report.passed


@pytest.mark.parametrize("option", [{"workers": 0}, {"points": 0}, {"time_limit": 0}],
                         ids=["workers", "points", "time_limit"])
def test_bad_options_are_usage_errors(option: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        grade_batch(BANK, subs("x"), grader=fake_grade, **option)  # type: ignore[arg-type]


# ---- with the real grader ------------------------------------------------------------

HOSTILE = ["__import__('os').system('echo hi')", "x.__class__", "lambda: 1", "9**9**9**9",
           "factorial(10**9)", "(" * 5000 + "x" + ")" * 5000, "x" * 1_000_000]


def test_real_grader_accepts_rejects_and_survives_hostile_answers() -> None:
    pytest.importorskip("gradcheck.grading")
    rows = [*subs("2x(wx-y)", "2*(w*x - y)", *HOSTILE, "2*x*(w*x - y)", question="dloss_dw"),
            *subs("-2", question="dloss_dw_value")]
    start = time.monotonic()
    report = grade_batch(BANK, rows, time_limit=2.0)
    assert time.monotonic() - start < 30
    assert verdicts(report) == ["pass", "fail", *["invalid"] * len(HOSTILE), "pass", "pass"]
    assert report.results[1].diagnosis == "chain"


def test_real_grader_same_results_with_one_or_two_workers() -> None:
    pytest.importorskip("gradcheck.grading")
    rows = subs("2x(wx-y)", "x(wx-y)", "-2x(wx-y)", "2w(wx-y)", "(wx-y)^2", question="dloss_dw")
    assert grade_batch(BANK, rows, workers=1) == grade_batch(BANK, rows, workers=2)


# ---- questions prepared by the workers ---------------------------------------------------

def preparing_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                    points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """fake_grade, but the trusted answer "0" (a question's preparation) takes 0.8 s and is
    logged with the process that did it to the file ``preparing_grade.log``."""
    if answer == "0":
        time.sleep(0.8)
        with open(preparing_grade.log, "a", encoding="utf-8") as log:  # type: ignore[attr-defined]
            log.write(f"{os.getpid()} {problem.id}/{question_id}\n")
    return fake_grade(problem, question_id, answer, seed=seed, points=points,
                      time_limit=time_limit)


def test_workers_share_the_questions_preparation_on_its_own_budget(tmp_path: Path) -> None:
    """Two problems of two questions each, two workers: each question is prepared once, and
    each problem by its own worker (its questions share derivations cached per process); a
    preparation longer than the time limit (0.8 s against 0.3 s) is not killed: it is the
    question's work, not the answer's."""
    preparing_grade.log = tmp_path / "prepared.log"  # type: ignore[attr-defined]
    problems = [p for p in BANK if len(p.questions) >= 2][:2]
    asked = [(p.id, q.id) for p in problems for q in p.questions[:2]]
    rows = [sub for i in range(5) for p, q in asked
            for sub in subs("x", f"y{i}", problem=p, question=q)]
    assert len({p for p, _ in asked}) == 2
    report = grade_batch(BANK, rows, time_limit=0.3, workers=2, grader=preparing_grade)
    assert verdicts(report) == ["pass" if r.answer == "x" else "fail" for r in rows]
    prepared = [line.split() for line in preparing_grade.log.read_text().splitlines()]
    assert sorted(q for _, q in prepared) == sorted(f"{p}/{q}" for p, q in asked)
    by_problem = {p.id: {pid for pid, q in prepared if q.startswith(p.id + "/")}
                  for p in problems}
    assert all(len(pids) == 1 for pids in by_problem.values())
    assert len({pid for pid, _ in prepared}) == 2
    assert str(os.getpid()) not in {pid for pid, _ in prepared}  # not before forking


def logging_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                  points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """fake_grade, logging each student answer with the process that graded it."""
    if answer != "0":
        with open(logging_grade.log, "a", encoding="utf-8") as log:  # type: ignore[attr-defined]
            log.write(f"{os.getpid()}\n")
    return fake_grade(problem, question_id, answer, seed=seed, points=points,
                      time_limit=time_limit)


def test_one_popular_question_is_shared_by_the_workers(tmp_path: Path) -> None:
    """A class answering one question (200 distinct answers): the worker that does not own
    it takes a share of its answers instead of idling."""
    logging_grade.log = tmp_path / "graded.log"  # type: ignore[attr-defined]
    rows = subs(*[f"y{i}" for i in range(200)])
    report = grade_batch(BANK, rows, workers=2, grader=logging_grade)
    assert verdicts(report) == ["fail"] * 200
    pids = logging_grade.log.read_text().split()
    assert len(pids) == 200
    assert min(pids.count(pid) for pid in set(pids)) >= 20 and len(set(pids)) == 2
