"""The check stage's referee: float64 disagreements re-decided in high precision.

Where two float64 opinions of a derivative disagree (the compiled symbolic derivative
and finite differences, autograd, the numpy compilation, the reference answer), either
one may be a float64 artefact: finite differences of a function that cancels, or a
compiled formula that cancels (``cosh(x) - sinh(x)`` at x = 30). The referee decides
such a point from the exact values, the same rule as grading (``gradcheck.decision``):

- the quantity's truth is its expression evaluated in high precision
  (``gradcheck.precise``); for a finite-difference comparison the symbolic derivative
  must also agree with a high-precision central difference of the function, an
  oracle independent of the derivation;
- every backend number is still judged, never replaced: it must lie within the
  tolerance of its own expression's exact value, widened only by that expression's
  float rounding bound (``precise.rounding_bound``, times ``ULPS``). A wrong backend
  table entry (a ``mul`` or a ``coth`` that computes something else) is far outside
  that bound and still fails.

A point that high precision cannot evaluate keeps its float64 verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from gradcheck import precise
from gradcheck.tolerances import Tolerance

__all__ = ["FD_STEP", "ULPS", "Side", "Referee", "settle"]

ULPS = 16.0  # a backend's library functions may be a few ulps off; the bound is first order
FD_STEP = sympy.Rational(1, 10**12)  # relative step of the high-precision central difference
MAX_POINTS = 64  # points refereed per comparison (a check has ~21)


@dataclass(frozen=True)
class Side:
    """Numbers one backend computed, the expression they are of, and its unit roundoff."""

    values: np.ndarray
    expr: sympy.Expr
    eps: float
    same_quantity: bool = True  # False: the function whose differences were taken


@dataclass(frozen=True)
class Referee:
    """How to re-decide one comparison's disputed points.

    ``truth``: the expression of the quantity compared. ``oracle``: when set, the
    function (expression, variable index) whose high-precision central difference the
    truth must match (the derivation itself is under test). ``sides``: the backend
    numbers judged against their expressions' exact values.
    """

    symbols: tuple[sympy.Symbol, ...]
    program: tuple[tuple[sympy.Symbol, sympy.Expr], ...]
    truth: sympy.Expr
    sides: tuple[Side, ...]
    oracle: tuple[sympy.Expr, int] | None = None


def settle(referee: Referee, pts: np.ndarray, error: np.ndarray, expected: np.ndarray,
           tol: Tolerance) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-decide the points where ``error > tol.rtol`` in high precision.

    Returns the new errors, the expected values (the exact truth where refereed) and how
    many points were refereed.
    """
    error, expected = error.copy(), expected.copy()
    disputed = np.flatnonzero(error > tol.rtol)[:MAX_POINTS]
    refereed = 0
    for i in disputed:
        decided = _decide(referee, pts[i], i, tol)
        if decided is None:
            continue
        error[i], expected[i] = decided
        refereed += 1
    return error, expected, refereed


def _decide(referee: Referee, row: np.ndarray, i: int, tol: Tolerance) -> tuple[float, float] | None:
    point = precise.exact_point(referee.symbols, row)
    program = referee.program
    truth = precise.evaluate(referee.truth, point, program)
    if truth is None:
        return None
    floor = tol.atol / tol.rtol
    worst = 0.0
    if referee.oracle is not None:
        slope = _central(referee.oracle[0], point, referee.symbols[referee.oracle[1]], program)
        if slope is None:
            return None
        # The derivation is under test: its exact value must be the function's slope.
        worst = precise.relative(truth, slope, floor)
        truth_shown = slope if worst > tol.rtol else truth
    else:
        truth_shown = truth
    with mpmath.workdps(precise.START_DPS):
        for side in referee.sides:
            exact = truth if side.expr == referee.truth else precise.evaluate(side.expr, point, program)
            if exact is None:
                return None
            bound = precise.rounding_bound(side.expr, point, program, eps=side.eps)
            if bound is None:
                return None
            got = mpmath.mpf(float(side.values[i]))
            if not mpmath.isfinite(got):
                return float("inf"), precise.to_float(truth)
            gap = max(abs(got - exact) - ULPS * bound, 0)
            # Its float rounding aside, the number must be the exact value of its formula,
            # and (for a formula of the same quantity) that formula's value the truth.
            worst = max(worst, float(gap / max(abs(exact), mpmath.mpf(floor))))
            if side.same_quantity:
                worst = max(worst, precise.relative(exact, truth, floor))
    return worst, precise.to_float(truth_shown)


def _central(function: sympy.Expr, point: dict[sympy.Symbol, sympy.Rational], var: sympy.Symbol,
             program: Sequence[tuple[sympy.Symbol, sympy.Expr]]) -> precise.Value | None:
    """d function / d var at ``point`` by a central difference in high precision."""
    x = point[var]
    h = FD_STEP * max(1, abs(x))
    up = precise.evaluate(function, {**point, var: x + h}, program)
    down = precise.evaluate(function, {**point, var: x - h}, program)
    if up is None or down is None:
        return None
    with mpmath.workdps(precise.START_DPS):
        return (up - down) / (2 * mpmath.mpf(h.p) / h.q)
