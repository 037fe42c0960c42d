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
    assert {rule.name for rule in diagnosis.TABLE} == set(DIAGNOSES)


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


def test_a_label_s_formula_is_printed_only_for_the_candidate_feedback_names() -> None:
    # 2 s lacks d y_hat / d w (chain): its formula is asked for; the other product's is not.
    def never() -> str:
        raise AssertionError("printed a formula no feedback names")

    missing = (Candidate("w", "d y_hat / d w", X, shows=lambda: " = x"),
               Candidate("s", "d loss / d s", 2 * S, shows=never))
    finding = diagnose(case(2 * S, missing=missing))
    assert finding is not None and finding.diagnosis == "chain"
    assert "the local gradient d y_hat / d w = x gives d loss / d w" in finding.feedback


# -- value questions: a number that lacks a local gradient's value is chain ---------------------

EX43 = load_problem(SEEDS / "exercise-4-3.toml")
TRAINING = load_problem(SEEDS / "training-step.toml")


def test_single_point_missing_product_is_chain_unless_it_is_a_constant() -> None:
    single = dict(truth=np.array([-7.84]), forward=None, stages=(), derivatives=())
    varying = (Candidate("w", "d y_hat / d w = x", np.array([4.0]), constant=False),)
    finding = diagnose(case(np.array([-1.96]), missing=varying, single_point=True, **single))  # type: ignore[arg-type]
    assert finding is not None and finding.diagnosis == "chain"
    fixed = (Candidate("v", "d J / d v = 4", np.array([4.0]), constant=True),)
    finding = diagnose(case(np.array([-1.96]), missing=fixed, single_point=True, **single))  # type: ignore[arg-type]
    assert finding is not None and finding.diagnosis == "factor" and "d J / d v = 4" in finding.feedback


def test_value_missing_a_non_constant_local_gradient_is_chain_not_a_factor() -> None:
    # -5.4096 = 2 s: the x = 3 of d y_hat / d w is missing (once "Off by a factor of 1/3").
    result = grade(TRAINING, "dloss_dw_value", "-5.4096")
    assert result.diagnosis == "chain" and "d y_hat / d w = x" in result.feedback
    assert "Off by a factor" not in result.feedback


def test_value_half_with_a_square_stays_factor_and_names_both_readings() -> None:
    # -3.92 is both 2 s (x = 2 forgotten) and s x (the 2 of the square forgotten): the bank
    # reads it as factor; the feedback names the chain reading too.
    result = grade(EX43, "dloss_dw_value", "-3.92")
    assert result.diagnosis == "factor"
    assert "comes down from a square" in result.feedback
    assert "d y_hat / d w = x, which is 2 here" in result.feedback


def test_value_chain_also_names_a_constant_that_fits() -> None:
    result = grade(CG, "dJ_dc_value", "3")  # b forgotten, or the 3 of J = 3v: both are 3
    assert result.diagnosis == "chain" and "d u / d c = b" in result.feedback
    assert "constant local gradient, d J / d v = 3" in result.feedback


# -- a missing activation derivative ----------------------------------------------------------

TANH_NET = '''
id = "tanh-net"
[symbols.x]
value = 0.5
[symbols.y]
value = 1.0
[symbols.w1]
value = 0.8
[symbols.w2]
value = 1.5
[graph]
h = "tanh(w1*x)"
y_hat = "w2*h"
s = "y_hat - y"
loss = "s**2"
[[questions]]
id = "dloss_dw1"
of = "loss"
wrt = "w1"
[[questions]]
id = "dloss_dw1_value"
of = "loss"
wrt = "w1"
kind = "value"
[[questions]]
id = "dloss_dw2_value"
of = "loss"
wrt = "w2"
kind = "value"
'''


def test_tanh_network_right_answers_pass(write_problem) -> None:  # type: ignore[no-untyped-def]
    problem = load_problem(write_problem(TANH_NET, stem="tanh-net"))
    assert grade(problem, "dloss_dw1", "2(w2 h - y) w2 (1 - h^2) x").verdict == "pass"
    assert grade(problem, "dloss_dw1_value", "2(w2 h - y) w2 (1 - h^2) x").verdict == "pass"


@pytest.mark.parametrize(("question", "answer", "words"), [
    ("dloss_dw1", "2(w2 h - y) w2 x", "d h / d (w1*x) = 1 - tanh(w1*x)**2"),
    ("dloss_dw1", "2(w2 h - y) w2 (1 - h^2)", "d (w1*x) / d w1 = x"),
    ("dloss_dw1", "2(w2 h - y) x (1 - h^2)", "d y_hat / d h = w2"),
    ("dloss_dw1_value", "2(w2 h - y) w2 x", "d h / d (w1*x)"),
    ("dloss_dw2_value", "2(w2 tanh(w1 x) - y)", "d y_hat / d w2 = h"),
])
def test_missing_activation_derivative_is_chain(write_problem, question: str, answer: str,  # type: ignore[no-untyped-def]
                                                words: str) -> None:
    problem = load_problem(write_problem(TANH_NET, stem="tanh-net"))
    result = grade(problem, question, answer)
    assert result.verdict == "fail" and result.diagnosis == "chain", result.feedback
    assert words in result.feedback and "Off by a factor" not in result.feedback


def test_all_candidates_at_once_agree_with_one_at_a_time() -> None:
    # The rows version of agrees decides each row as agrees does, infinities and nans too.
    rng = np.random.default_rng(5)
    answer = rng.normal(size=6)
    answer[2] = np.nan
    rows = answer * (1 + rng.choice([0.0, 1e-9, 1e-3], size=(40, 6)))
    rows[rng.random((40, 6)) < 0.1] = np.inf
    rows[rng.random((40, 6)) < 0.1] = np.nan
    rows[7] = np.nan
    with np.errstate(all="ignore"):
        each = [diagnosis.agrees(answer, r, 1e-6, 1e-9) for r in rows]
        assert diagnosis._agreeing(answer, rows, 1e-6, 1e-9).tolist() == each
        assert diagnosis._agreeing(rows, answer, 1e-6, 1e-9).tolist() == [
            diagnosis.agrees(r, answer, 1e-6, 1e-9) for r in rows]
    assert True in each and False in each


def test_candidates_of_unequal_lengths_are_compared_one_by_one() -> None:
    # As far as needed only: the first that agrees is found before the odd one is reached.
    odd = (Candidate("y_hat", "y_hat", W * X), Candidate("s", "s", S[:2]))
    finding = diagnose(case(W * X, stages=odd))
    assert finding is not None and "forward value of y_hat" in finding.feedback
