"""verify_backward with upstream gradients (seeded random cotangents) and in float32, numpy side.

Oracles: the seed notes' backward pass for exercise 4.3 (dloss/dw = 2x(wx - y)) and a
hand-written backward pass through time for the deep RNN problem; every "wrong" function
below is one bug away from a right one.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.backward import as_report, cotangents, verify_backward
from gradcheck.loader import load_problem
from tests.helpers import PROBLEMS, SEEDS

EXERCISE = load_problem(SEEDS / "exercise-4-3.toml")
RNN = load_problem(PROBLEMS / "deep" / "rnn-10-steps.toml")
XS = (1.0, -0.5, 0.3, 0.8, -1.2, 0.6, 0.1, -0.4, 0.9, -0.7)


def with_upstream(x, y, w, grad_output):  # type: ignore[no-untyped-def]
    """Exercise 4.3 done right, seeded with the gradient from above."""
    s = w * x - y
    dloss_ds = grad_output * 2 * s
    return {"s": dloss_ds, "y_hat": dloss_ds, "w": dloss_ds * x}


def ignores_upstream(x, y, w, grad_output):  # type: ignore[no-untyped-def]
    """Takes grad_output, but starts the chain from 1: right only when upstream is 1."""
    s = w * x - y
    return {"s": 2 * s, "y_hat": 2 * s, "w": 2 * s * x}


def without_upstream(x, y, w):  # type: ignore[no-untyped-def]
    """The existing convention (no grad_output): the gradient itself, upstream 1."""
    return {"w": 2 * x * (w * x - y)}


def failed(results) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(r.question, c.what) for r in results for c in r.comparisons if not c.passed]


def test_cotangents_are_seeded_and_never_near_one() -> None:
    v = cotangents(0, "p", "q", 5000)
    assert np.array_equal(v, cotangents(0, "p", "q", 5000))
    assert not np.array_equal(v, cotangents(1, "p", "q", 5000))
    assert np.all(np.abs(np.log2(np.abs(v))) >= 0.5) and np.all(np.abs(v) <= 4)
    assert 0.4 < np.mean(v > 0) < 0.6


def test_a_backward_that_uses_grad_output_passes() -> None:
    results = verify_backward(with_upstream, EXERCISE)
    assert [r.question for r in results] == ["dloss_ds", "dloss_dyhat", "dloss_dw"]
    assert failed(results) == []
    assert all("seeded random cotangents" in c.got_by for r in results for c in r.comparisons)
    # The value at the given point is the notes' -7.84, whatever the cotangent was there.
    assert results[2].value == pytest.approx(-7.84, rel=1e-12)


def test_a_backward_that_ignores_grad_output_fails_everywhere() -> None:
    results = verify_backward(ignores_upstream, EXERCISE)
    assert failed(results) == [(q, w) for q in ("dloss_ds", "dloss_dyhat", "dloss_dw")
                               for w in ("backward vs symbolic", "backward vs finite differences")]
    comparison = results[2].comparisons[0]
    assert comparison.failures == comparison.points == 21
    # What it returned is the gradient divided by the cotangent it was handed.
    assert comparison.worst_error >= 1 - 2 ** -0.5


def test_a_backward_without_grad_output_is_checked_as_before() -> None:
    (result,) = verify_backward(without_upstream, EXERCISE)
    assert result.passed
    assert not any("cotangents" in c.got_by for c in result.comparisons)


def test_per_point_calls_get_their_own_cotangent() -> None:
    def scalar_only(x, y, w, grad_output):  # type: ignore[no-untyped-def]
        return grad_output * 2 * x * (w * x - y) if isinstance(x, float) else None

    def scalar_ignoring(x, y, w, grad_output):  # type: ignore[no-untyped-def]
        return 2 * x * (w * x - y) if isinstance(x, float) else None

    (right,) = verify_backward(scalar_only, EXERCISE, "dloss_dw")
    (wrong,) = verify_backward(scalar_ignoring, EXERCISE, "dloss_dw")
    assert right.passed and "called per point" in right.comparisons[0].what
    assert not wrong.passed


# -- float32 -----------------------------------------------------------------------------------

def rnn_bptt(w, u, b, y, grad_output, *, steps=10):  # type: ignore[no-untyped-def]
    """The RNN's backward pass through time in the dtype of its inputs (numpy arrays).

    ``steps`` < 10 truncates it (a classic bug): only the last ``steps`` steps count.
    """
    hs = [np.zeros_like(w)]
    for x in XS:
        hs.append(np.tanh(w * hs[-1] + u * x + b))
    dh = grad_output * 2 * (hs[-1] - y)
    grads = {"w": np.zeros_like(w), "u": np.zeros_like(w), "b": np.zeros_like(w)}
    for t in range(10, 10 - steps, -1):
        delta = dh * (1 - hs[t] ** 2)
        grads["w"] = grads["w"] + delta * hs[t - 1]
        grads["u"] = grads["u"] + delta * XS[t - 1]
        grads["b"] = grads["b"] + delta
        dh = delta * w
    assert all(g.dtype == w.dtype for g in grads.values())
    return grads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correct_float32_code_passes_in_float32_mode(seed: int) -> None:
    questions = ["dloss_dw_value", "dloss_du_value", "dloss_db_value"]
    for q in questions:
        (result,) = verify_backward(rnn_bptt, RNN, q, dtype="float32", seed=seed, points=50)
        assert result.passed and result.dtype == "float32", failed([result])
        assert result.comparisons[0].tolerance.rtol == 2e-3
    (linear,) = verify_backward(with_upstream, EXERCISE, "dloss_dw", dtype="float32",
                                seed=seed, points=200)
    assert linear.passed


def test_float32_code_is_flagged_by_the_float64_tolerance_but_not_by_float32() -> None:
    # The same float32 arithmetic: rounding of 1e-7 relative fails rtol 1e-6 somewhere,
    # which is why float32 code needs the float32 mode.
    def in_float32(w, u, b, y, grad_output):  # type: ignore[no-untyped-def]
        args = [np.asarray(a, dtype=np.float32) for a in (w, u, b, y, grad_output)]
        return {k: v.astype(np.float64) for k, v in rnn_bptt(*args).items()}

    (strict,) = verify_backward(in_float32, RNN, "dloss_db_value", points=200)
    (relaxed,) = verify_backward(in_float32, RNN, "dloss_db_value", points=200, dtype="float32")
    assert not strict.passed and relaxed.passed


@pytest.mark.parametrize("bug", ["truncated", "ignores-upstream", "sign", "half-percent"])
def test_wrong_float32_code_still_fails(bug: str) -> None:
    def wrong(w, u, b, y, grad_output):  # type: ignore[no-untyped-def]
        if bug == "truncated":
            return rnn_bptt(w, u, b, y, grad_output, steps=1)
        if bug == "ignores-upstream":
            return rnn_bptt(w, u, b, y, np.ones_like(grad_output))
        grads = rnn_bptt(w, u, b, y, grad_output)
        factor = -1 if bug == "sign" else np.float32(1.005)
        return {k: v * factor for k, v in grads.items()}

    (result,) = verify_backward(wrong, RNN, "dloss_dw_value", dtype="float32", points=50)
    assert not result.passed
    assert result.comparisons[0].failures >= result.comparisons[0].points // 2


def test_float32_report_says_float32() -> None:
    results = verify_backward(with_upstream, EXERCISE, "dloss_dw", dtype="float32")
    assert as_report(results).dtype == "float32"
    from gradcheck.errors import UsageError
    with pytest.raises(UsageError, match="float64 or float32"):
        verify_backward(with_upstream, EXERCISE, "dloss_dw", dtype="float16")


def test_float32_mode_compares_at_the_points_the_code_saw() -> None:
    # The truth is taken at the float32-rounded points, so input rounding is never an error.
    seen: list[np.ndarray] = []

    def recording(x, y, w, grad_output):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(w))
        return with_upstream(x, y, w, grad_output)

    (result,) = verify_backward(recording, EXERCISE, "dloss_dw", dtype="float32")
    assert all(a.dtype == np.float32 for a in seen)
    for comparison in result.comparisons:
        assert all(float(np.float32(v)) == v for _, v in comparison.worst_point)
