"""verify_backward without torch: a user's backward that fails is a result, not an exception."""

from __future__ import annotations

import pytest

from gradcheck.backward import verify_backward
from gradcheck.errors import UsageError
from gradcheck.loader import load_problem
from tests.helpers import SEEDS


def _problem():
    return load_problem(SEEDS / "exercise-4-3.toml")


def test_a_backward_that_raises_on_floats_fails_with_nan() -> None:
    def backward(x, y, w):
        if not hasattr(x, "shape"):
            raise ZeroDivisionError("boom")  # only on floats, after the array call also fails
        raise TypeError("no arrays either")

    (result,) = verify_backward(backward, _problem(), "dloss_dw", points=5)
    assert not result.passed
    assert "called per point" in result.comparisons[0].what


def test_question_none_with_a_backward_that_always_raises_is_explained() -> None:
    def backward(x, y, w):
        return {"w": 1 / 0}

    with pytest.raises(UsageError, match="raised at every point tried .*ZeroDivisionError"):
        verify_backward(backward, _problem())


def test_wrong_signature_is_a_usage_error_with_the_symbols() -> None:
    def backward(a, b):
        return {"w": a}

    with pytest.raises(UsageError, match="keyword arguments"):
        verify_backward(backward, _problem())


def test_right_backward_passes_without_torch() -> None:
    def backward(x, y, w):
        s = w * x - y
        return {"s": 2 * s, "y_hat": 2 * s, "w": 2 * s * x}

    results = verify_backward(backward, _problem())
    assert [r.question for r in results] == ["dloss_ds", "dloss_dyhat", "dloss_dw"]
    assert all(r.passed for r in results)
