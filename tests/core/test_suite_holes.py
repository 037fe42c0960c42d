"""Holes in the suite that a deliberately broken grader once slipped through (issue 8)."""

from __future__ import annotations

import json

import numpy as np

from gradcheck.batch import grade_batch
from gradcheck.checks import compare
from gradcheck.cli import main
from gradcheck.derivation import derive
from gradcheck.grading import grade
from gradcheck.loader import load_problem
from gradcheck.submissions import Submission
from gradcheck.tolerances import Tolerance, tolerance_for
from tests.helpers import SEEDS

LR_FILE = SEEDS / "linear-regression.toml"
LINEAR = load_problem(LR_FILE)


def test_an_error_exactly_equal_to_rtol_passes_a_check() -> None:
    target = derive(LINEAR).target("dloss_dw")
    tol = Tolerance(rtol=2.0**-20, atol=2.0**-40, reason="exact binary numbers")
    pts = np.zeros((1, len(target.variables)))
    at = compare("w", "a", "b", np.array([1.0 + 2.0**-20]), np.array([1.0]), target, pts, tol)
    over = compare("w", "a", "b", np.array([1.0 + 2.0**-19]), np.array([1.0]), target, pts, tol)
    assert at.worst_error == tol.rtol and at.passed
    assert not over.passed


def test_float32_merge_takes_the_looser_of_each_bound() -> None:
    # A stricter rtol but a looser atol: float32 keeps its rtol, takes the looser atol.
    merged = tolerance_for("float32", Tolerance(rtol=1e-4, atol=1e-2, reason="noisy data"))
    assert (merged.rtol, merged.atol, merged.reason) == (2e-3, 1e-2, "noisy data")


def test_grade_batch_passes_the_seed_through() -> None:
    rows = (Submission(1, "ann", LINEAR.id, "dloss_dw", "2x(wx-y)"),)
    report = grade_batch((LINEAR,), rows, seed=7)
    seven = grade(LINEAR, "dloss_dw", "2x(wx-y)", seed=7).evidence
    assert report.results[0].evidence == seven
    assert seven != grade(LINEAR, "dloss_dw", "2x(wx-y)", seed=0).evidence


def test_the_grade_command_passes_the_seed_through(capsys) -> None:
    code = main(["grade", str(LR_FILE), "--question", "dloss_dw", "--answer", "2x(wx-y)",
                 "--seed", "7", "--format", "json"])
    assert code == 0
    shown = json.loads(capsys.readouterr().out)["results"][0]["evidence"]
    seven = grade(LINEAR, "dloss_dw", "2x(wx-y)", seed=7).evidence
    assert len(shown) == len(seven) == 21
    for s, e in zip(shown, seven, strict=True):  # the JSON writes 12 significant digits
        assert list(s["point"]) == [name for name, _ in e.point]
        assert np.allclose(list(s["point"].values()), [v for _, v in e.point], rtol=1e-11, atol=0)
        assert np.isclose(s["expected"], e.expected, rtol=1e-11, atol=0)


def test_check_json_keeps_file_then_question_order(capsys) -> None:
    files = [SEEDS / "training-step.toml", LR_FILE]  # not in alphabetical order
    assert main(["check", *map(str, files), "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    expected = [(p.id, q.id, "numpy") for p in map(load_problem, files) for q in p.questions]
    assert [(r["problem"], r["question"], r["backend"]) for r in results] == expected
