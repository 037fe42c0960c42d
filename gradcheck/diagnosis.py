"""Diagnose a wrong answer: which known backprop mistake explains it.

Every diagnosis is a pure function of numbers: the answer and the truth at the
grading points, and the values there of the alternatives a student may have given
instead (the forward value, derivatives with respect to other variables, partial
chain-rule products). ``diagnose`` tries them in the order of ``TABLE`` and
returns the first that explains the answer at every comparable point. The order
settles answers that fit two mistakes (see docs/grading.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["TABLE", "Candidate", "Case", "Finding", "agrees", "diagnose"]

# For one number with a square in the function, these ratios read as factor before chain.
SQUARE_FACTORS = (0.25, 0.5, 2.0, 4.0)
SIMPLE_FACTORS = tuple(sorted({Fraction(p, q) for p in range(1, 5) for q in range(1, 5)} - {1}))


@dataclass(frozen=True)
class Candidate:
    """Something the student may have written instead, with its values at the points.

    ``name`` is the variable or stage it is about; ``label`` is how feedback names it.
    ``constant``: whether it is a constant formula (``d J / d v = 3``), when known; else
    it is judged from the values (impossible at a single point: read as not constant).
    """

    name: str
    label: str
    values: np.ndarray
    constant: bool | None = None


@dataclass(frozen=True)
class Case:
    """A wrong answer and what to compare it with, all at the same points.

    ``single_point``: a value question (one number), so a "constant factor" must be a
    small fraction to count. ``varied``: the answer re-evaluated with one symbol the
    truth does not use moved to other values. ``square``: the question's function squares
    something that depends on the variable, so a factor of 1/2 or 2 may be the 2 that comes
    down from the square.
    """

    label: str
    of: str
    truth: np.ndarray
    answer: np.ndarray
    rtol: float
    atol: float
    single_point: bool = False
    forward: np.ndarray | None = None
    stages: tuple[Candidate, ...] = ()
    derivatives: tuple[Candidate, ...] = ()
    missing: tuple[Candidate, ...] = ()
    varied: tuple[Candidate, ...] = ()
    square: bool = False


@dataclass(frozen=True)
class Finding:
    """A diagnosis name (one of problem.DIAGNOSES) and its feedback sentence."""

    diagnosis: str
    feedback: str


def agrees(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """True when ``got`` matches ``expected`` at every point where both are finite (and one is).

    Call it under ``np.errstate(all="ignore")`` when the values may hold infinities.

    >>> agrees(np.array([1.0, np.nan]), np.array([1.0 + 1e-9, 2.0]), 1e-6, 1e-9)
    True
    """
    close = np.abs(got - expected) <= rtol * np.maximum(np.abs(expected), atol / rtol)
    both = np.isfinite(got) & np.isfinite(expected)
    return bool(both.any() and (close | ~both).all())


def _constant(values: np.ndarray, rtol: float) -> float | None:
    """The common value when every finite entry is the same (relatively), else None."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    first = float(finite[0])
    if np.all(np.abs(finite - first) <= rtol * max(abs(first), 1e-300)):
        return first
    return None


def fraction_text(value: float) -> str:
    """``1/2`` for 0.5, ``2/3`` for 0.666..., else the number with 6 significant digits."""
    frac = Fraction(value).limit_denominator(12)
    if abs(float(frac) - value) <= 1e-9 * abs(value):
        return str(frac)
    return f"{value:.6g}"


def sign(case: Case) -> Finding | None:
    if not agrees(case.answer, -case.truth, case.rtol, case.atol):
        return None
    return Finding("sign", f"The sign is flipped: your answer is minus {case.label}. Check the "
                           "sign of each local gradient (d (a - b) / d b = -1).")


def forward(case: Case) -> Finding | None:
    if case.forward is None or not agrees(case.answer, case.forward, case.rtol, case.atol):
        return None
    return Finding("forward", f"This is the forward value of {case.of}, not its derivative: the "
                              f"forward pass computes {case.of}, the backward pass {case.label}.")


def _ratio(case: Case) -> float | None:
    floor = case.atol / case.rtol
    usable = np.isfinite(case.answer) & np.isfinite(case.truth) & (np.abs(case.truth) > floor)
    if not usable.any():
        return None
    ratio = _constant(case.answer[usable] / case.truth[usable], case.rtol)
    if ratio is None or abs(ratio) <= case.rtol or abs(ratio - 1) <= case.rtol:
        return None
    if not agrees(case.answer, ratio * case.truth, case.rtol, case.atol):
        return None
    return ratio


def _near(ratio: float, choices: tuple[float, ...], rtol: float) -> bool:
    return any(abs(ratio - c) <= rtol * c for c in choices)


def factor(case: Case) -> Finding | None:
    """A constant ratio; for one number only 1/2, 2 or a forgotten constant local gradient."""
    ratio = _ratio(case)
    if ratio is None:
        return None
    if case.single_point and not (_near(ratio, (0.5, 2.0), case.rtol)
                                  or _missing_constant(case, ratio)):
        return None
    return _factor_finding(case, ratio)


def other_factor(case: Case) -> Finding | None:
    """For one number, the other small fractions (2/3, 3/4, ...), tried after wrt and chain."""
    ratio = _ratio(case) if case.single_point else None
    if ratio is None or not _near(ratio, tuple(map(float, SIMPLE_FACTORS)), case.rtol):
        return None
    return _factor_finding(case, ratio)


def _is_constant(case: Case, m: Candidate) -> bool:
    if m.constant is not None:
        return m.constant
    return not case.single_point and _constant(m.values, case.rtol) is not None


def _missing_constant(case: Case, ratio: float) -> Candidate | None:
    for m in case.missing:
        if not _is_constant(case, m):
            continue
        value = _constant(m.values, case.rtol)
        if value is not None and abs(value * ratio - 1) <= case.rtol:
            return m
    return None


def _factor_finding(case: Case, ratio: float) -> Finding:
    text = fraction_text(ratio)
    head = f"Off by a factor of {text}: your answer is {text} times {case.label}."
    m = _missing_constant(case, ratio)
    if m is not None:
        return Finding("factor", f"{head} Did you forget the local gradient {m.label}?")
    if abs(ratio - 0.5) <= case.rtol:
        hint = "Did you forget the 2 that comes down from a square (d s^2 / d s = 2 s)?"
    elif abs(ratio - 2) <= case.rtol:
        hint = "Is a factor of 2 counted twice?"
    else:
        hint = "Check the constant in each local gradient."
    other = _missing_product(case)
    if other is not None:
        # One number fits both readings (see chain): name the other one too.
        value = float(other.values[np.isfinite(other.values)][0])
        hint += f" Or did you forget the local gradient {other.label}, which is {value:g} here?"
    return Finding("factor", f"{head} {hint}")


def _missing_product(case: Case) -> Candidate | None:
    """The first non-constant partial chain product that the answer lacks."""
    for m in case.missing:
        if _is_constant(case, m):
            continue  # a constant missing factor is a "factor" mistake
        if agrees(case.answer * m.values, case.truth, case.rtol, case.atol):
            return m
    return None


def chain(case: Case) -> Finding | None:
    """The answer times a (non-constant) product of local gradients gives the truth.

    For one number, a ratio of 1/4, 1/2, 2 or 4 when the function squares something is
    left to ``factor`` (the 2 from the square, maybe with another 2; its feedback names
    this reading too).
    """
    if case.single_point and case.square:
        ratio = _ratio(case)
        if ratio is not None and _near(ratio, SQUARE_FACTORS, case.rtol):
            return None
    m = _missing_product(case)
    if m is None:
        return None
    also = ""
    ratio = _ratio(case) if case.single_point else None
    constant = _missing_constant(case, ratio) if ratio is not None else None
    if constant is not None:
        # One number fits both: the constant reading is named too.
        also = (" (At a single point this also fits a forgotten constant local gradient, "
                f"{constant.label}.)")
    return Finding("chain", f"A chain-rule factor is missing: your answer times the local "
                            f"gradient {m.label} gives {case.label}. On the way back, "
                            f"multiply by every local gradient along the path.{also}")


def wrt(case: Case) -> Finding | None:
    for d in case.derivatives:
        if agrees(case.answer, d.values, case.rtol, case.atol):
            return Finding("wrt", f"This is {d.label}, the derivative with respect to {d.name}; "
                                  f"the question asks for {case.label}.")
    return None


def extra_symbol(case: Case) -> Finding | None:
    for v in case.varied:
        if not agrees(v.values, case.answer, case.rtol, case.atol):
            return Finding("extra-symbol", f"Your answer depends on {v.name}, but {case.label} "
                                           f"does not: check which variables each local "
                                           "gradient involves.")
    return None


def forward_stage(case: Case) -> Finding | None:
    for s in case.stages:
        if agrees(case.answer, s.values, case.rtol, case.atol):
            return Finding("forward", f"This is the forward value of {s.label}, not a derivative: "
                                      f"the backward pass computes {case.label}.")
    return None


Diagnosis = Callable[[Case], Finding | None]

# Tried in this order; the first match wins. Forward-of-`of` comes before factor (a forward
# value that is also a multiple of the truth reads as forward), chain before wrt (the
# upstream gradient is also a derivative with respect to a stage). chain comes before
# factor: for a formula they cannot both fit (chain skips constant products), but one
# number is a multiple of anything, so a number that lacks a local gradient's value there
# is chain, not "off by a factor of 3.66"; only 1/4, 1/2, 2 or 4 when the function has a
# square stays factor (its feedback names the chain reading too). For value questions only
# 1/2, 2 and forgotten constant local gradients count as factor before wrt; other small
# fractions come after them.
TABLE: tuple[tuple[str, Diagnosis], ...] = (
    ("sign", sign),
    ("forward", forward),
    ("chain", chain),
    ("factor", factor),
    ("wrt", wrt),
    ("extra-symbol", extra_symbol),
    ("factor", other_factor),
    ("forward", forward_stage),
)


def diagnose(case: Case) -> Finding | None:
    """The first mistake in ``TABLE`` that explains the answer, or None."""
    with np.errstate(all="ignore"):
        for _, test in TABLE:
            finding = test(case)
            if finding is not None:
                return finding
    return None
