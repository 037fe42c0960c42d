"""Tests for gradcheck.diagnosis: each mistake on hand-built numbers, and through grade()."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from gradcheck import diagnosis
from gradcheck.diagnosis import Candidate, Case, diagnose
from gradcheck.grading import grade
from gradcheck.loader import load_problem
from gradcheck.problem import DIAGNOSES
from tests.helpers import SEEDS

# Linear regression at a few points: truth 2x(wx - y).
X = np.array([1.0, 0.5, -1.2, 1.7])
Y = np.array([2.0, -0.3, 0.8, 1.1])
W = np.array([1.0, 1.4, -0.6, 0.2])
S = W * X - Y
TRUTH = 2 * X * S


def case(answer: np.ndarray, **kwargs: object) -> Case:
    base = dict(label="d loss / d w", of="loss", truth=TRUTH, answer=answer, rtol=1e-6,
                atol=1e-9, forward=S**2,
                stages=(Candidate("s", "s", S), Candidate("y_hat", "y_hat", W * X)),
                derivatives=(Candidate("x", "d loss / d x", 2 * W * S),
                             Candidate("y", "d loss / d y", -2 * S)),
                missing=(Candidate("w", "d y_hat / d w = x", X),
                         Candidate("s", "d loss / d s = 2*s", 2 * S)),
                varied=())
    base.update(kwargs)
    return Case(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "answer", "words"), [
    ("sign", -TRUTH, "sign is flipped"),
    ("factor", TRUTH / 2, "1/2"),
    ("factor", 2 * TRUTH / 3, "2/3"),
    ("chain", 2 * S, "d y_hat / d w = x"),
    ("wrt", 2 * W * S, "d loss / d x"),
    ("forward", S**2, "forward value of loss"),
    ("forward", W * X, "forward value of y_hat"),
])
def test_each_mistake_is_named_with_its_feedback(name: str, answer: np.ndarray,
                                                 words: str) -> None:
    finding = diagnose(case(answer))
    assert finding is not None and finding.diagnosis == name and words in finding.feedback


def test_extra_symbol_needs_the_answer_to_move_with_the_symbol() -> None:
    answer = Y + 1.0
    moved = Candidate("y", "y", answer + 0.5)
    finding = diagnose(case(answer, varied=(moved,)))
    assert finding is not None and finding.diagnosis == "extra-symbol"
    still = Candidate("y", "y", answer.copy())
    assert diagnose(case(answer, varied=(still,))) is None


def test_unrelated_answer_has_no_diagnosis() -> None:
    assert diagnose(case(X + Y + W + 7)) is None


def test_undefined_points_are_skipped_but_one_must_compare() -> None:
    answer = -TRUTH.copy()
    answer[1] = np.nan
    assert diagnose(case(answer)).diagnosis == "sign"  # type: ignore[union-attr]
    assert not diagnosis.agrees(np.full(4, np.nan), TRUTH, 1e-6, 1e-9)


def test_a_single_number_is_a_factor_only_for_small_fractions() -> None:
    one = np.array([3.0])
    single = dict(truth=one, forward=None, stages=(), derivatives=(), missing=(),
                  single_point=True)
    assert diagnose(case(np.array([1.5]), **single)).diagnosis == "factor"  # type: ignore
    assert diagnose(case(np.array([2.0]), **single)).diagnosis == "factor"  # type: ignore
    assert diagnose(case(np.array([33.0]), **single)) is None


def test_forgotten_constant_local_gradient_is_named() -> None:
    missing = (Candidate("v", "d J / d v = 3", np.full(4, 3.0)),)
    finding = diagnose(case(TRUTH / 3, missing=missing))
    assert finding is not None and finding.diagnosis == "factor"
    assert "d J / d v = 3" in finding.feedback


def test_table_covers_every_diagnosis_name() -> None:
    assert {name for name, _ in diagnosis.TABLE} == set(DIAGNOSES)


def test_doctests() -> None:
    assert doctest.testmod(diagnosis).failed == 0


# -- through the grader, on the seed problems -------------------------------------------------

CG = load_problem(SEEDS / "computation-graph-j.toml")
LINEAR = load_problem(SEEDS / "linear-regression.toml")


@pytest.mark.parametrize(("problem", "question", "answer", "name", "words"), [
    (LINEAR, "dloss_dw", "-2x(wx - y)", "sign", "sign is flipped"),
    (LINEAR, "dloss_dw", "x(wx - y)", "factor", "the 2 that comes down from a square"),
    (LINEAR, "dloss_dw", "2(wx - y)", "chain", "d y_hat / d w = x"),
    (LINEAR, "dloss_dw", "2w(wx - y)", "wrt", "d loss / d x"),
    (LINEAR, "dloss_dw", "(wx - y)^2", "forward", "forward value of loss"),
    (LINEAR, "ds_dyhat", "w*x", "extra-symbol", "depends on w"),
    (CG, "dJ_db", "3", "chain", "d u / d b = c"),
    (CG, "dJ_db", "c", "factor", "d J / d v = 3"),
    (CG, "dJ_db_value", "9", "wrt", "d J / d c"),
    (CG, "dJ_dv", "33", "forward", "forward value of J"),
])
def test_diagnosis_through_grade(problem, question, answer, name, words) -> None:  # type: ignore[no-untyped-def]
    result = grade(problem, question, answer)
    assert result.verdict == "fail" and result.diagnosis == name
    assert words in result.feedback
