"""A grading deadline's alarm that fires inside a GC callback is lost ("Exception ignored
in ..."), so the forked grading processes of a batch drop the GC callbacks they inherit
(a program with a Dask client has one: Dask's GC diagnosis)."""

from __future__ import annotations

import gc
from pathlib import Path

from gradcheck.batch import grade_batch
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.submissions import Submission
from gradcheck.verdict import GradeResult

BANK = load_bank([Path(__file__).parents[2] / "problems"])


def callbacks_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                    points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """How many GC callbacks the process that grades the answer has."""
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass", feedback=str(len(gc.callbacks)), seed=seed)


def test_forked_graders_drop_the_gc_callbacks_they_inherit() -> None:
    def callback(phase: str, info: dict[str, int]) -> None:
        pass

    gc.callbacks.append(callback)
    try:
        rows = [Submission(i, f"s{i}", "linear-regression", "dloss_dw", a)
                for i, a in enumerate(["x", "y", "z"], start=1)]
        report = grade_batch(BANK, rows, grader=callbacks_grade, workers=2)
        assert callback in gc.callbacks  # this process keeps its own
    finally:
        gc.callbacks.remove(callback)
    assert [r.feedback for r in report.results] == ["0", "0", "0"]
