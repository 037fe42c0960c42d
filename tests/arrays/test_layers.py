"""verify_layer: CS231n-style forward/backward pairs, right and with the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import verify_layer

INPUTS = {"x": np.linspace(-1, 1, 12).reshape(4, 3), "w": np.linspace(0.5, -0.5, 6).reshape(3, 2),
          "b": np.array([0.1, -0.2])}


def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def test_a_right_affine_backward_passes() -> None:
    report = verify_layer(affine_forward, affine_backward, INPUTS)
    assert report.passed and [g.name for g in report.inputs] == ["x", "w", "b"]


@pytest.mark.parametrize(("backward", "wrong", "words"), [
    (lambda d, c: (d @ c[1].T, d.T @ c[0], d.sum(axis=0)), "w", "transposed"),
    (lambda d, c: (d @ c[1].T, c[0].T @ d, d.mean(axis=0)), "b", "0.25 times"),
    (lambda d, c: (np.ones_like(d) @ c[1].T, c[0].T @ d, d.sum(axis=0)), "x", "upstream gradient"),
    (lambda d, c: (d @ c[1].T, 2 * c[0].T @ d, d.sum(axis=0)), "w", "2 times"),
])
def test_a_wrong_gradient_is_named_with_where_and_why(backward, wrong: str, words: str) -> None:
    report = verify_layer(affine_forward, backward, INPUTS)
    assert not report.passed
    bad = [g for g in report.inputs if not g.passed]
    assert [g.name for g in bad] == [wrong]
    assert words in bad[0].feedback


def test_float32_code_passes_in_float32_mode_and_a_bug_still_fails() -> None:
    def forward32(x, w, b):  # float32 code: computes in float32 whatever it is given
        x, w, b = (a.astype(np.float32) for a in (x, w, b))
        return x @ w + b, (x, w, b)

    assert verify_layer(forward32, affine_backward, INPUTS, dtype="float32").passed
    broken = lambda d, c: (d @ c[1].T, c[0].T @ d * 1.1, d.sum(axis=0))  # noqa: E731
    assert not verify_layer(forward32, broken, INPUTS, dtype="float32").passed
