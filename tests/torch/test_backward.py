"""verify_backward: Exercise 4.3 done right and done wrong, in numpy and as a torch.autograd.Function."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcheck.backward import as_report, verify_backward
from gradcheck.errors import UsageError
from gradcheck.loader import load_problem
from gradcheck.report import messages
from gradcheck.report.text import render_text
from tests.helpers import LINEAR, SEEDS

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def exercise():
    return load_problem(SEEDS / "exercise-4-3.toml")


def backward(x, y, w):
    """Exercise 4.3 done right: forward pass, then local gradients chained backwards."""
    y_hat = w * x
    s = y_hat - y
    dloss_ds = 2 * s
    dloss_dyhat = dloss_ds * 1.0
    dloss_dw = dloss_dyhat * x
    return {"s": dloss_ds, "y_hat": dloss_dyhat, "w": dloss_dw}


def missing_x(x, y, w):
    return {"w": 2 * (w * x - y)}


def sign_flipped(x, y, w):
    return 2 * x * (y - w * x)


def per_point_only(x, y, w):
    return 2 * x * (w * x - y) if math.isfinite(x) else math.nan


class Loss(torch.autograd.Function):
    """(w*x - y)**2 with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, y, w):
        ctx.save_for_backward(x, y, w)
        return (w * x - y) ** 2

    @staticmethod
    def backward(ctx, grad):
        x, y, w = ctx.saved_tensors
        s = w * x - y
        return grad * 2 * s * w, grad * -2 * s, grad * 2 * s * x


class LossMissingX(Loss):
    @staticmethod
    def backward(ctx, grad):
        x, y, w = ctx.saved_tensors
        s = w * x - y
        return grad * 2 * s * w, grad * -2 * s, grad * 2 * s


def failures(results):
    return [(r.question, c.what) for r in results for c in r.comparisons if not c.passed]


def test_a_correct_backward_passes_every_question_it_answers(exercise) -> None:
    results = verify_backward(backward, exercise)
    assert [r.question for r in results] == ["dloss_ds", "dloss_dyhat", "dloss_dw"]
    assert failures(results) == []
    assert {c.what for r in results for c in r.comparisons} == {
        "backward vs symbolic", "backward vs finite differences"}
    dloss_dw = results[2]
    assert dloss_dw.backend == "backward" and dloss_dw.dtype == "float64"
    assert dloss_dw.value == pytest.approx(-7.84, rel=1e-12)
    assert ("3 of 3 checks passed (seed 0, 20 random points per question, backends: backward)\n"
            in render_text(as_report(results)))


@pytest.mark.parametrize("grad_fn", [missing_x, sign_flipped], ids=["missing-x", "sign-flipped"])
def test_a_wrong_backward_fails_with_point_and_values(exercise, grad_fn) -> None:
    (result,) = verify_backward(grad_fn, exercise, "dloss_dw")
    assert failures([result]) == [("dloss_dw", "backward vs symbolic"),
                                  ("dloss_dw", "backward vs finite differences")]
    comparison = result.comparisons[0]
    assert comparison.failures == comparison.points == 21
    x, y, w = (v for _, v in comparison.worst_point)
    assert comparison.got == pytest.approx(grad_fn(x=x, y=y, w=w)["w"] if grad_fn is missing_x
                                           else grad_fn(x=x, y=y, w=w))
    assert comparison.expected == pytest.approx(2 * x * (w * x - y))
    text = messages.failure(result, comparison)
    assert "exercise-4-3 > dloss_dw > " in text and "worst at x=" in text
    assert f"got      {messages.number(comparison.got)}" in text


def test_missing_x_is_caught_even_where_x_is_1(write_problem) -> None:
    # At the linear-regression point x = 1 the wrong formula gives the right number.
    text = LINEAR.format(stem="lin") + '[[questions]]\nid = "q"\nof = "loss"\nwrt = "w"\n'
    problem = load_problem(write_problem(text, stem="lin"))
    (result,) = verify_backward(missing_x, problem)
    assert not result.passed and result.value == pytest.approx(-2.0)


def test_a_function_that_needs_floats_is_called_per_point_and_says_so(exercise) -> None:
    (result,) = verify_backward(per_point_only, exercise, "dloss_dw")
    assert result.passed
    assert result.comparisons[0].what == (
        "backward vs symbolic (called per point: with arrays it raised TypeError)")


def test_a_scalar_for_arrays_is_called_per_point(exercise) -> None:
    (result,) = verify_backward(lambda x, y, w: 1.0, exercise, "ds_dyhat")
    assert result.passed and "called per point" in result.comparisons[0].what


def test_a_stage_question_is_checked_against_the_adjoint(exercise) -> None:
    (result,) = verify_backward(lambda x, y, w: 2 * (w * x - y), exercise, "dloss_ds")
    assert result.passed and result.comparisons[0].points == 21


def test_autograd_function_right_and_wrong(exercise) -> None:
    (right,) = verify_backward(Loss, exercise)
    assert right.question == "dloss_dw" and right.backend == "Loss.apply" and right.passed
    assert [c.what for c in right.comparisons] == [
        "forward vs symbolic", "backward vs symbolic", "backward vs finite differences"]
    (wrong,) = verify_backward(LossMissingX, exercise, "dloss_dw")
    assert failures([wrong]) == [("dloss_dw", "backward vs symbolic"),
                                 ("dloss_dw", "backward vs finite differences")]


@pytest.mark.parametrize(("grad_fn", "question", "message"), [
    (backward, "dloss_ds_missing", "has no question"),
    (lambda x, y, w: {"x": 1.0}, "dloss_dw", "returned the keys \\['x'\\]"),
    (lambda x, y, w: 1.0, None, "returned a number"),
    (lambda x, y, w: {"b": x}, None, "no first-order question"),
    (lambda a: a, "dloss_dw", "keyword arguments"),
    (lambda x, y, w: np.array([1.0, 2.0]), "dloss_dw", "returned shape \\(2,\\)"),
    (Loss, "dloss_ds", "with respect to the stage 's'"),
], ids=["unknown-question", "missing-key", "number-without-question", "no-matching-question",
        "wrong-signature", "wrong-shape", "function-wrt-stage"])
def test_usage_errors(exercise, grad_fn, question, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        verify_backward(grad_fn, exercise, question)


def test_second_order_questions_are_refused(write_problem) -> None:
    text = LINEAR.format(stem="two") + '[[questions]]\nid = "h"\nof = "loss"\nwrt = ["w", "w"]\n'
    problem = load_problem(write_problem(text, stem="two"))
    with pytest.raises(UsageError, match="order 2"):
        verify_backward(backward, problem, "h")
