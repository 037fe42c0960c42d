"""Tolerances are data: one default per dtype, overrides merged in with a reason.

The criterion is relative error with an absolute floor near zero::

    error = |got - expected| / max(|expected|, atol / rtol)

and a comparison passes when ``error <= rtol``; that is ``|got - expected| <=
max(rtol * |expected|, atol)``. Every result records the Tolerance it used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """A relative tolerance, the absolute floor below which values count as zero, and why."""

    rtol: float
    atol: float
    reason: str

    def error(self, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """Relative error with the absolute floor; compare the result with ``rtol``."""
        scale = np.maximum(np.abs(expected), self.atol / self.rtol)
        return np.abs(got - expected) / scale

    def to_dict(self) -> dict[str, object]:
        return {"rtol": self.rtol, "atol": self.atol, "reason": self.reason}


# Finite differences (Richardson ~1e-12, complex step ~1e-16 in float64) and exact
# float64 evaluation leave room for 1e-6; float32 follows jax's check_grads (2e-3).
DEFAULTS: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-6, atol=1e-9, reason="default for float64"),
    "float32": Tolerance(rtol=2e-3, atol=1e-4, reason="default for float32"),
}


def tolerance_for(dtype: str, override: Tolerance | None = None) -> Tolerance:
    """The default tolerance for ``dtype``, with a problem's or question's override merged in.

    >>> tolerance_for("float64").rtol
    1e-06
    >>> tolerance_for("float64", Tolerance(1e-3, 1e-9, "noisy")).reason
    'noisy'
    """
    base = DEFAULTS[dtype]
    if override is None:
        return base
    if dtype == "float32":
        # An override written for float64 must never make float32 stricter than its default;
        # where it is stricter, the float32 default (and its reason) stands.
        if override.rtol <= base.rtol and override.atol <= base.atol:
            return base
        return replace(override, rtol=max(override.rtol, base.rtol),
                       atol=max(override.atol, base.atol))
    return override
