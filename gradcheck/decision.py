"""The decision: does a read answer equal the truth of its question?

A pure function of the Reference (the truth and its points) and the answer's values
there; a wrong answer is handed to ``gradcheck.diagnosis`` with the alternatives of
``gradcheck.candidates``. How the decision is made is described in docs/grading.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy

from gradcheck import diagnosis
from gradcheck.candidates import case
from gradcheck.deadline import Timeout, deadline
from gradcheck.derivation import expand
from gradcheck.points import number
from gradcheck.truth import Reference
from gradcheck.verdict import Evidence, GradeResult

__all__ = ["decide_expression", "decide_value"]

# A numeric pass whose worst relative error is above this is checked symbolically too
# (when both sides are polynomials): float64 roundoff of an equal formula stays far below it.
MARGINAL = 1e-12



def decide_value(ref: Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                  base: dict[str, Any], *, hide: bool = False) -> GradeResult:
    label_ = ref.question.label
    got, truth = float(values[0]), float(ref.truth[0])
    formula = bool(full.free_symbols)
    if not math.isfinite(got):
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {ref.shown[0]}; "
                           f"{label_} is a number there.", **base)
    error = float(ref.tolerance.error(np.array(got), np.array(truth)))
    ok = error <= ref.tolerance.rtol
    evidence = (Evidence(ref.labels[0], truth, got, error, ok),)
    note = " You gave a formula; the question asks for the number." if formula else ""
    if ok:
        return GradeResult(verdict="pass", feedback=f"Correct: {label_} = {number(truth)} at "
                           f"{ref.shown[0]}.{note}", evidence=evidence, **base)
    finding = diagnosis.diagnose(case(ref, extras, values, full, base["answer"]))
    where = f"at {ref.shown[0]} your answer gives {number(got)}{_but(label_, truth, hide)}"
    feedback = f"{finding.feedback} A{where[1:]}" if finding else f"Not right: {where}"
    return GradeResult(verdict="fail", feedback=feedback + note, evidence=evidence,
                       diagnosis=finding.diagnosis if finding else None, **base)


def decide_expression(ref: Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                       base: dict[str, Any], time_limit: float, *,
                       hide: bool = False) -> GradeResult:
    label_ = ref.question.label
    tol = ref.tolerance
    both = np.isfinite(values)
    with np.errstate(all="ignore"):
        error = np.where(both, tol.error(values, ref.truth), np.inf)
    agree = error <= tol.rtol
    rows = zip(ref.labels, ref.truth.tolist(), values.tolist(), error.tolist(), agree.tolist(),
               both.tolist(), strict=True)
    evidence = tuple(Evidence(*row[:5]) for row in rows if row[5])
    base |= {"evidence": evidence}
    if 2 * both.sum() < len(values):
        bad = int(np.flatnonzero(~both)[0])
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {ref.shown[bad]}"
                           f"{_more(int((~both).sum()) - 1, len(values))}, where {label_} is defined.",
                           **base)
    wrong = np.flatnonzero(both & ~agree)
    if wrong.size == 0:
        worst = float(error[both].max())
        differs = _symbolic_difference(ref, full, time_limit) if worst > MARGINAL else None
        if differs is None:
            return GradeResult(verdict="pass", feedback=f"Correct: your answer equals {label_} "
                               f"at {_where(ref, int(both.sum()))}.", **base)
        close = (f"Very close, but not equal to {label_}." if hide else
                 f"Very close, but not equal: your answer minus {label_} is {differs}, not 0.")
        return GradeResult(verdict="fail", feedback=close, **base)
    first = int(wrong[0])
    finding = diagnosis.diagnose(case(ref, extras, values, full, base["answer"]))
    where = (f"at {ref.shown[first]} your answer gives {number(values[first])}"
             f"{_but(label_, ref.truth[first], hide)}")
    if ref.given_used and first > 0 and agree[0]:
        where = f"Right at the given point ({ref.shown[0]}) but not as a function: {where}"
        if not full.free_symbols:
            where += " A formula in the variables is asked, not the value at the given point."
    else:
        where = f"{'At' if finding else 'Not right: at'}{where[2:]}"
    feedback = f"{finding.feedback} {where}" if finding else where
    return GradeResult(verdict="fail", feedback=feedback,
                       diagnosis=finding.diagnosis if finding else None, **base)


def _but(label: str, truth: float, hide: bool) -> str:
    """`` but d loss / d w is -2.`` or, with the truth hidden, ``, which is not d loss / d w.``"""
    return f", which is not {label}." if hide else f" but {label} is {number(truth)}."


def _where(ref: Reference, compared: int) -> str:
    if ref.given_used:
        random = compared - 1
        return (f"the given point and at {_count(random, 'random point')}" if random
                else "the given point")
    return _count(compared, "random point")


def _count(n: int, noun: str) -> str:
    """``1 random point``, ``2 random points``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _more(others: int, total: int) -> str:
    """`` (and at 3 more of the 21 points)``; nothing when there are no others."""
    if others <= 0:
        return ""
    return f" (and at {others} more of the {_count(total, 'point')})"


def _symbolic_difference(ref: Reference, full: sympy.Expr, time_limit: float) -> str | None:
    """For polynomials only: the exact difference when it is not zero, else None."""
    if not ref.truth_poly or ref.truth_full is None:
        return None
    answer = expand(ref.problem, full)
    try:
        with deadline(time_limit):
            if not answer.is_polynomial(*answer.free_symbols):
                return None
            difference = sympy.expand(answer - ref.truth_full)
    except Timeout:
        return None
    return None if difference == 0 else sympy.sstr(difference)
