"""The tolerance table and how overrides merge into it."""

from __future__ import annotations

import numpy as np

from gradcheck.tolerances import DEFAULTS, Tolerance, tolerance_for


def test_error_is_relative_with_an_absolute_floor() -> None:
    tol = Tolerance(rtol=1e-6, atol=1e-9, reason="r")
    error = tol.error(np.array([2.0, -2.0, 1e-12]), np.array([-2.0, -2.0, 0.0]))
    assert list(error) == [2.0, 0.0, 1e-12 / 1e-3]


def test_float32_keeps_its_default_when_an_override_is_stricter() -> None:
    strict = Tolerance(rtol=1e-6, atol=1e-9, reason="rounded values")
    assert tolerance_for("float32", strict) == DEFAULTS["float32"]
    assert tolerance_for("float64", strict) == strict


def test_float32_takes_a_looser_override_with_its_reason() -> None:
    loose = Tolerance(rtol=1e-2, atol=1e-9, reason="noisy")
    merged = tolerance_for("float32", loose)
    assert (merged.rtol, merged.atol, merged.reason) == (1e-2, DEFAULTS["float32"].atol, "noisy")
