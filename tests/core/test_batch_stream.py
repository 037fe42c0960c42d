"""The batch as a stream: repeats graded once, bounded read-ahead, evidence policy,
results kept on disk, and the JSON written row by row."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradcheck import batch
from gradcheck.batch import SpooledResults, grade_batch, grade_stream
from gradcheck.errors import UsageError
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.report.grades import render_json, write_json
from gradcheck.submissions import Submission, iter_submissions, parse_submissions
from gradcheck.verdict import Evidence, GradeResult

BANK = load_bank([Path(__file__).parents[2] / "problems"])
LR = "linear-regression"


def counting_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                   points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Passes "x", fails anything else, with one evidence point; logs each student answer
    graded to the file named by ``counting_grade.log`` (appends survive forked workers)."""
    if answer != "0":
        with open(counting_grade.log, "a", encoding="utf-8") as log:  # type: ignore[attr-defined]
            log.write(answer + "\n")
    ok = answer == "x"
    point = Evidence((("x", 1.0),), 1.0, 1.0 if ok else 2.0, 0.0 if ok else 1.0, ok)
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail", feedback="ok" if ok else "no",
                       evidence=(point,), seed=seed)


@pytest.fixture
def graded_log(tmp_path: Path) -> Path:
    log = tmp_path / "graded.txt"
    counting_grade.log = str(log)  # type: ignore[attr-defined]
    return log


def subs(*answers: str, question: str = "dyhat_dw") -> list[Submission]:
    return [Submission(i, f"s{i}", LR, question, a) for i, a in enumerate(answers, start=1)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_repeated_answer_is_graded_once(graded_log: Path, workers: int) -> None:
    answers = ["x", "y", "x", "z", "y", "x"] * 50
    report = grade_batch(BANK, subs(*answers), grader=counting_grade, workers=workers)
    assert [r.answer for r in report.results] == answers
    assert [r.row for r in report.results] == list(range(1, 301))
    assert sorted(graded_log.read_text(encoding="utf-8").split()) == ["x", "y", "z"]


def test_the_same_answer_to_another_question_is_graded_again(graded_log: Path) -> None:
    grade_batch(BANK, [*subs("x"), *subs("x", question="dloss_dw")], grader=counting_grade)
    assert graded_log.read_text(encoding="utf-8").split() == ["x", "x"]


def test_the_stream_reads_a_bounded_window_ahead(graded_log: Path) -> None:
    read = 0

    def endless() -> Iterator[Submission]:
        nonlocal read
        for i in itertools.count(1):
            read += 1
            yield Submission(i, f"s{i}", LR, "dyhat_dw", "xy"[i % 2])

    wanted = 3 * batch.WINDOW
    first = list(itertools.islice(grade_stream(BANK, endless(), grader=counting_grade), wanted))
    assert [r.row for r in first] == list(range(1, wanted + 1))
    assert read <= wanted + batch.WINDOW + 1


@pytest.mark.parametrize(("policy", "kept"), [("all", [1, 1, 0]), ("failing", [0, 1, 0]),
                                              ("none", [0, 0, 0])])
def test_evidence_policy(graded_log: Path, policy: str, kept: list[int]) -> None:
    rows = [*subs("x", "y"), Submission(3, "s3", "nope", "q", "x")]
    report = grade_batch(BANK, rows, grader=counting_grade, evidence=policy)  # type: ignore[arg-type]
    assert [len(r.evidence) for r in report.results] == kept
    assert report.settings.to_dict()["evidence"] == policy


def test_an_unknown_evidence_policy_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown evidence policy 'some'"):
        grade_batch(BANK, subs("x"), grader=counting_grade, evidence="some")  # type: ignore[arg-type]


def test_spooled_results_read_back_equal_and_independently(graded_log: Path) -> None:
    results = grade_batch(BANK, subs("x", "y", "z", "x"), grader=counting_grade).results
    with SpooledResults(iter(results)) as spooled:
        assert len(spooled) == 4 and tuple(spooled) == results
        assert spooled[1] == results[1] and spooled[-1] == results[-1]
        assert [(a.row, b.row) for a, b in zip(spooled, spooled, strict=True)] == [
            (1, 1), (2, 2), (3, 3), (4, 4)]  # two iterations at once do not disturb each other
        assert dict(spooled.counts) == {"pass": 2, "fail": 2, "invalid": 0, "error": 0}


def test_the_streamed_json_holds_the_whole_report(graded_log: Path) -> None:
    report = grade_batch(BANK, [*subs("x", "y\n\"z", "x"), Submission(4, "", "nope", "q", "")],
                         seed=3, grader=counting_grade)
    rows = [r.to_dict() for r in report.results]
    for row, same in zip(rows, [None, None, 0, None], strict=True):
        row["same_evidence_as"] = same  # row 3 repeats row 1's answer: its evidence is there
    rows[2]["evidence"] = []
    whole = {
        "schema": "gradcheck/grade-report/2", "seed": 3, "settings": report.settings.to_dict(),
        "passed": False, "counts": {"rows": 4, "pass": 2, "fail": 1, "invalid": 0, "error": 1},
        "results": rows}
    text = render_json(report)
    assert json.loads(text) == whole
    assert list(json.loads(text)["results"][0])[-4:] == ["evidence", "evidence_omitted",
                                                         "same_evidence_as", "decision"]
    with SpooledResults(report.results) as spooled:
        streamed = batch.batch_report(BANK, spooled, seed=3, counts=spooled.counts)
        out = _Text()
        write_json(streamed, out)
    assert out.text == text


def test_the_json_of_an_empty_batch() -> None:
    data = json.loads(render_json(grade_batch(BANK, [], grader=counting_grade)))
    assert data["results"] == [] and data["counts"]["rows"] == 0


class _Text:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


CSV = ("student,problem,question,answer\n"
       "ada,p,q,x\n"
       'bob,p,q,"max(x,\n0)"\n'
       '"cy,p,q,unbalanced\n'
       "\n"
       "dee,p,q\n"
       "eve,p,q,y\r"
       "fay,p,q,z\r\n")


def test_iter_submissions_reads_the_file_like_parse_submissions(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode() + b"gus,p,q,\xff\n")
    streamed = list(iter_submissions(path))
    assert [(s.row, s.student, s.answer, s.broken is None) for s in streamed] == [
        (1, "ada", "x", True), (2, "bob", "max(x,\n0)", True),
        (4, "", '"cy,p,q,unbalanced', False), (6, "", "dee,p,q", False), (7, "eve", "y", True),
        (8, "fay", "z", True), (9, "", "gus,p,q,\ufffd", False)]
    assert "unbalanced quote" in streamed[2].broken  # type: ignore[operator]
    assert tuple(streamed[:6]) == parse_submissions(CSV, "csv")


def test_an_unbalanced_quote_costs_one_line_however_long_the_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    body = "".join(f"s{i},p,q,x\n" for i in range(3000))
    path.write_text('student,problem,question,answer\n"bad,p,q,x\n' + body, encoding="utf-8")
    rows = list(iter_submissions(path))
    assert len(rows) == 3001 and rows[0].broken and rows[1].student == "s0"
    assert all(r.broken is None for r in rows[1:])


def test_iter_submissions_raises_before_iterating(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("name,answer\nada,x\n", encoding="utf-8")
    with pytest.raises(UsageError, match="lacks student, problem, question"):
        iter_submissions(path)
    with pytest.raises(UsageError, match="cannot read"):
        iter_submissions(tmp_path / "missing.csv")


@pytest.mark.parametrize(("option", "kept"), [([], [0, 2]), (["--evidence", "all"], [21, 21]),
                                              (["--evidence", "none"], [0, 0])])
def test_grade_command_keeps_failing_evidence_by_default(tmp_path: Path, option: list[str],
                                                         kept: list[int],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from gradcheck.cli import main

    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,question,answer\n"
                       f"ada,{LR},dloss_dw,2x(wx-y)\nbob,{LR},dloss_dw,x(wx-y)\n", encoding="utf-8")
    code = main(["grade", "--bank", str(Path(__file__).parents[2] / "problems"), "--submissions",
                 str(answers), "--format", "json", *option])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and [r["verdict"] for r in data["results"]] == ["pass", "fail"]
    # all: the given point and the 20 random points (--points 20) of each answer kept;
    # failing: the given point and the first where x(wx-y) disagrees, 19 left out
    assert [len(r["evidence"]) for r in data["results"]] == kept
    omitted = data["results"][1]["evidence_omitted"]
    assert omitted == ({"points": 19, "disagree": 19} if kept == [0, 2] else None)
    assert data["settings"]["evidence"] == (option[1] if option else "failing")
