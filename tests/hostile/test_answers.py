"""Every hostile answer, through the Python API and the CLI: nothing runs, nothing is lost.

The corpus (tests/hostile/corpus.py) is graded against d loss / d w of the seed problem
linear-regression: once through ``grade_batch`` (two workers, each answer timed where it
is graded), once through ``gradcheck grade --submissions`` in a subprocess (one run for
the whole corpus), and a sample through ``verify``. After each run: no canary file, no
traceback, every row back in order, every answer within its time limit plus a small
overhead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradcheck import batch
from gradcheck.cli import main
from gradcheck.errors import GradcheckError
from gradcheck.executor import KILL_GRACE
from gradcheck.grading import grade
from gradcheck.loader import load_problem
from gradcheck.output import write_output
from gradcheck.report.grades import GRADE_RENDERERS
from gradcheck.submissions import Submission, read_submissions
from gradcheck.verdict import VERDICTS, GradeResult
from gradcheck.verification import verify
from tests.helpers import ROOT, SEEDS
from tests.hostile.corpus import GENERATED, STORED, corpus

LR = "linear-regression"
QUESTION = "dloss_dw"
TIME_LIMIT = 1.0
OVERHEAD = 1.5  # seconds over the limit an answer may take (a loaded 2-core CI machine)


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("canary")


@pytest.fixture(scope="module")
def answers(canary: Path) -> list[tuple[str, str]]:
    return corpus(canary)


def assert_nothing_ran(canary: Path) -> None:
    assert sorted(p.name for p in canary.iterdir()) == []


def test_the_corpus_has_every_family_and_500_answers() -> None:
    items = corpus()
    families = {family for family, _ in items}
    assert families == {*STORED, *GENERATED}
    assert len(items) >= 500
    assert all(sum(f == family for f, _ in items) >= 50 for family in families)
    assert corpus() == items  # generated from a fixed seed
    assert sum("{canary}" in a for _, a in items) >= 30  # payloads that would leave a file


# ---- the Python API -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_run(answers: list[tuple[str, str]], tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[batch.BatchReport, list[float]]:
    """grade_batch over the corpus; each answer timed inside the worker that grades it."""
    times = tmp_path_factory.mktemp("times")

    def timed(problem, question_id, answer, **kwargs):  # type: ignore[no-untyped-def]
        start = time.monotonic()
        result = grade(problem, question_id, answer, **kwargs)
        with open(times / f"{os.getpid()}.txt", "a", encoding="ascii") as log:
            log.write(f"{time.monotonic() - start}\n")
        return result

    problem = load_problem(SEEDS / f"{LR}.toml")
    rows = [Submission(i + 1, f"s{i + 1}", LR, QUESTION, a) for i, (_, a) in enumerate(answers)]
    report = batch.grade_batch([problem], rows, time_limit=TIME_LIMIT, workers=2, grader=timed)
    elapsed = [float(line) for log in sorted(times.iterdir())
               for line in log.read_text(encoding="ascii").splitlines()]
    return report, elapsed


def test_api_every_row_back_in_order(api_run: tuple[batch.BatchReport, list[float]],
                                     answers: list[tuple[str, str]], canary: Path) -> None:
    report, _ = api_run
    assert_nothing_ran(canary)
    assert len(report.results) == len(answers)
    for i, ((_, answer), r) in enumerate(zip(answers, report.results, strict=True)):
        assert (r.row, r.student, r.answer) == (i + 1, f"s{i + 1}", answer)
        assert r.verdict in VERDICTS
        assert r.diagnosis != batch.INTERNAL_ERROR, (answer[:80], r.feedback)
    # the corpus is hostile, but not only unreadable: each verdict but error occurs
    assert {r.verdict for r in report.results} >= {"pass", "fail", "invalid"}


def test_api_every_answer_within_its_limit(api_run: tuple[batch.BatchReport, list[float]],
                                           answers: list[tuple[str, str]]) -> None:
    report, elapsed = api_run
    stopped = [r for r in report.results if "took longer than" in r.feedback]
    distinct = len({a for _, a in answers})  # the batch grades a repeated answer once
    assert len(elapsed) + len(stopped) >= distinct  # rows graded again after a kill count twice
    slowest = max(elapsed)
    assert slowest <= TIME_LIMIT + OVERHEAD, f"an answer took {slowest:.2f} s"
    assert len(stopped) <= len(answers) // 20  # a few bombs, not the corpus


@pytest.mark.parametrize("fmt", sorted(GRADE_RENDERERS))
def test_api_every_report_renders_and_is_written(api_run: tuple[batch.BatchReport, list[float]],
                                                 fmt: str, tmp_path: Path) -> None:
    report, _ = api_run
    target = tmp_path / f"report.{fmt}"
    write_output(GRADE_RENDERERS[fmt](report), str(target))
    data = target.read_bytes()
    assert data and data.decode("utf-8")  # whole, valid UTF-8 (lone surrogates escaped)
    if fmt == "json":
        assert len(json.loads(data)["results"]) == len(report.results)


def test_api_verify_a_sample(answers: list[tuple[str, str]], canary: Path) -> None:
    for _, answer in answers[::25]:
        start = time.monotonic()
        result: GradeResult = verify("(w*x - y)^2", "w", answer, time_limit=TIME_LIMIT)
        assert result.verdict in ("pass", "fail", "invalid")
        assert time.monotonic() - start <= 2 * TIME_LIMIT + OVERHEAD
    for _, answer in answers[3::50]:  # hostile text as the function: an error, never a crash
        try:
            verify(answer[:2000], "x", "1", time_limit=TIME_LIMIT)
        except GradcheckError as exc:
            assert exc.exit_code == 2 and "Traceback" not in str(exc)
    assert_nothing_ran(canary)


# ---- the CLI: the whole corpus in one batch run -------------------------------------------


def test_cli_batch_of_the_whole_corpus(answers: list[tuple[str, str]], canary: Path,
                                       tmp_path: Path) -> None:
    submissions = tmp_path / "answers.jsonl"
    with open(submissions, "w", encoding="utf-8") as out:
        for i, (_, answer) in enumerate(answers):
            out.write(json.dumps({"student": f"s{i + 1}", "problem": LR, "question": QUESTION,
                                  "answer": answer}) + "\n")
    report = tmp_path / "out.json"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gradcheck", "grade", "--bank", str(SEEDS / f"{LR}.toml"),
         "--submissions", str(submissions), "--format", "json", "--output", str(report),
         "--workers", "2", "--time-limit", str(TIME_LIMIT)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    wall = time.monotonic() - start
    assert done.returncode == 1, done.stderr[-2000:]  # some answers fail: nothing else
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert_nothing_ran(canary)
    rows = json.loads(report.read_bytes().decode("utf-8"))["results"]
    assert [r["row"] for r in rows] == list(range(1, len(answers) + 1))
    readable = {s.row for s in read_submissions(submissions) if s.broken is None}
    for (_, answer), r in zip(answers, rows, strict=True):
        if r["row"] in readable:
            assert (r["student"], r["answer"]) == (f"s{r['row']}", answer)
        else:  # a lone low surrogate or a NUL byte: an error row that keeps its number
            assert r["verdict"] == "error" and "could not be read" in r["feedback"]
        assert r["diagnosis"] != batch.INTERNAL_ERROR
    stopped = sum("took longer than" in r["feedback"] for r in rows)
    assert wall <= 30 + stopped * (TIME_LIMIT + KILL_GRACE)


def test_cli_one_answer_with_a_byte_that_is_not_utf8() -> None:
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"gradcheck", b"grade", str(SEEDS / f"{LR}.toml").encode(),
         b"--question", QUESTION.encode(), b"--answer", b"2x(wx-y)\xff\xed\xa0\x80"],
        capture_output=True, cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 2, done.stderr[-2000:]  # unreadable answer
    assert b"Traceback" not in done.stderr and b"INVALID" in done.stdout
    assert b"\\udcff" in done.stdout  # the byte shown as an escape, not a crash


@pytest.mark.parametrize("fmt", ["json", "html", "junit", "csv"])
def test_cli_one_hostile_answer_in_every_file_format(fmt: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / f"r.{fmt}"
    answer = os.fsdecode(b"2x(wx-y)\xff") + "\ud800\x00\x1b[2J"
    code = main(["grade", str(SEEDS / f"{LR}.toml"), "--question", QUESTION, "--answer", answer,
                 "--format", fmt, "--output", str(report)])
    assert code == 2 and "Traceback" not in capsys.readouterr().err
    assert report.stat().st_size > 0 and report.read_bytes().decode("utf-8")
