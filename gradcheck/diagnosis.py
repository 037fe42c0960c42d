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
from functools import cached_property

import numpy as np

__all__ = ["TABLE", "Candidate", "Case", "Finding", "agrees", "diagnose"]

# For one number with a square in the function, these ratios read as factor before chain.
SQUARE_FACTORS = (0.25, 0.5, 2.0, 4.0)
SIMPLE_FACTORS = tuple(sorted({Fraction(p, q) for p in range(1, 5) for q in range(1, 5)} - {1}))


@dataclass(frozen=True)
class Candidate:
    """Something the student may have written instead, with its values at the points.

    ``name`` is the variable or stage it is about; ``label`` is how feedback names it, and
    ``shows``, when set, what follows the label there (`` = 2*s``): worked out only when
    feedback names the candidate (printing each of a question's partial products is
    costly, and few are ever named); ``named`` is the two together.
    ``constant``: whether it is a constant formula (``d J / d v = 3``), when known; else
    it is judged from the values (impossible at a single point: read as not constant).
    ``kind``, ``text``, ``stage``, ``weak``: for a graph mistake (gradcheck.graph_mistakes),
    its diagnosis, what the student did, whether a product's constant factor is a stage,
    and whether one number agreeing with it proves too little (a power rule slip).
    """

    name: str
    label: str
    values: np.ndarray
    constant: bool | None = None
    kind: str = ""
    text: str = ""
    stage: bool = False
    weak: bool = False
    shows: Callable[[], str] | None = None

    @property
    def named(self) -> str:
        return self.label if self.shows is None else f"{self.label}{self.shows()}"


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
    graph: tuple[Candidate, ...] = ()
    plugged: tuple[Candidate, ...] = ()
    text: str = ""
    given_used: bool = False
    formula: bool = True

    @cached_property
    def graph_matches(self) -> list[bool] | None:
        """For each graph candidate, whether the answer agrees with it (worked out for all
        of them at once, on first use)."""
        return _matches(self, self.graph)


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
    return bool(_agreeing(np.atleast_1d(got), np.atleast_1d(expected), rtol, atol))


def _agreeing(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """``agrees`` for each row at once (``got`` or ``expected`` one row per candidate),
    without a numpy call per row; ``agrees`` is this for one row."""
    close = np.abs(got - expected) <= rtol * np.maximum(np.abs(expected), atol / rtol)
    both = np.isfinite(got) & np.isfinite(expected)
    return np.asarray(both.any(axis=-1) & (close | ~both).all(axis=-1))


# id(candidates) -> (candidates, their values one row each, or None when they differ in
# shape): a question's candidates are shared by all its answers (held, so ids stay).
_ROWS: dict[int, tuple[tuple[Candidate, ...], np.ndarray | None]] = {}
_ROWS_SIZE = 4096


def _rows(cands: tuple[Candidate, ...]) -> np.ndarray | None:
    hit = _ROWS.get(id(cands))
    if hit is not None and hit[0] is cands:
        return hit[1]
    shapes = {np.shape(c.values) for c in cands}
    rows = np.stack([c.values for c in cands]) if len(shapes) == 1 else None
    if len(_ROWS) >= _ROWS_SIZE:
        _ROWS.clear()
    _ROWS[id(cands)] = (cands, rows)
    return rows


def _matches(case: Case, cands: tuple[Candidate, ...]) -> list[bool] | None:
    """For each candidate, whether the answer agrees with its values; None when they
    differ in shape (the caller then compares them one at a time, as far as it needs)."""
    rows = _rows(cands)
    if rows is None:
        return None
    return _agreeing(case.answer, rows, case.rtol, case.atol).tolist()  # type: ignore[no-any-return]


def _first_match(case: Case, cands: tuple[Candidate, ...]) -> Candidate | None:
    """The first candidate the answer agrees with."""
    hits = _matches(case, cands)
    if hits is None:
        return next((c for c in cands if agrees(case.answer, c.values, case.rtol, case.atol)), None)
    return next((c for c, hit in zip(cands, hits, strict=True) if hit), None)


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
    if (case.single_point and not case.square and not _missing_constant(case, ratio)
            and _first_match(case, case.derivatives) is not None):
        return None  # one number, no square, and another derivative: that reading (wrt)
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
        return Finding("factor", f"{head} Did you forget the local gradient {m.named}?")
    if abs(ratio - 0.5) <= case.rtol and case.square:
        hint = "Did you forget the 2 that comes down from a square (d s^2 / d s = 2 s)?"
    elif abs(ratio - 2) <= case.rtol:
        hint = "Is a factor of 2 counted twice?"
    else:
        hint = "Check the constant in each local gradient."
    other = _missing_product(case)
    also = _first_match(case, case.derivatives) if case.single_point else None
    if also is not None:
        # One number that is also another derivative: name that reading too (see wrt).
        hint += f" Or is this {also.named}, the derivative with respect to {also.name}?"
    if other is not None:
        # One number fits both readings (see chain): name the other one too.
        value = float(other.values[np.isfinite(other.values)][0])
        hint += f" Or did you forget the local gradient {other.named}, which is {value:g} here?"
    return Finding("factor", f"{head} {hint}")


def _missing_product(case: Case) -> Candidate | None:
    """The first non-constant partial chain product that the answer lacks."""
    rows = _rows(case.missing)
    hits = (None if rows is None
            else _agreeing(case.answer * rows, case.truth, case.rtol, case.atol).tolist())
    for i, m in enumerate(case.missing):
        if _is_constant(case, m):
            continue  # a constant missing factor is a "factor" mistake
        if (agrees(case.answer * m.values, case.truth, case.rtol, case.atol) if hits is None
                else hits[i]):
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
                f"{constant.named}.)")
    return Finding("chain", f"A chain-rule factor is missing: your answer times the local "
                            f"gradient {m.named} gives {case.label}. On the way back, "
                            f"multiply by every local gradient along the path.{also}")


def extra_gradient(case: Case) -> Finding | None:
    """The truth times a (non-constant) product of local gradients gives the answer.

    The mirror of ``chain``: a local gradient multiplied in once too often (sigmoid's
    a(1 - a) applied again after a cross-entropy gradient that already contains it). Only
    for formulas: one number is a multiple of anything.
    """
    if case.single_point:
        return None
    rows = _rows(case.missing)
    if rows is not None:
        extras = case.truth * rows
        same = _agreeing(extras, case.truth, case.rtol, case.atol).tolist()
        hits = _agreeing(case.answer, extras, case.rtol, case.atol).tolist()
    for i, m in enumerate(case.missing):
        if _is_constant(case, m):
            continue
        if rows is None:
            extra = case.truth * m.values
            same_i = agrees(extra, case.truth, case.rtol, case.atol)
            hit = not same_i and agrees(case.answer, extra, case.rtol, case.atol)
        else:
            same_i, hit = same[i], hits[i]
        if same_i:
            continue
        if hit:
            return Finding("extra-gradient", f"One local gradient too many: your answer is "
                                             f"{case.label} times {m.named}. On the way back "
                                             "each edge's local gradient is multiplied in once; "
                                             "check whether an earlier local gradient already "
                                             "contains this one.")
    return None


def wrt(case: Case) -> Finding | None:
    d = _first_match(case, case.derivatives)
    if d is not None:
        ratio = _ratio(case) if case.single_point else None
        also = (f" (Or is it off by a factor of {fraction_text(ratio)}? One number fits "
                "both.)" if ratio is not None else "")
        return Finding("wrt", f"This is {d.named}, the derivative with respect to {d.name}; "
                              f"the question asks for {case.label}.{also}")
    return None


def extra_symbol(case: Case) -> Finding | None:
    for v in case.varied:
        if not agrees(v.values, case.answer, case.rtol, case.atol):
            return Finding("extra-symbol", f"Your answer depends on {v.name}, but {case.label} "
                                           f"does not: check which variables each local "
                                           "gradient involves.")
    return None


def forward_stage(case: Case) -> Finding | None:
    s = _first_match(case, case.stages)
    if s is None:
        return None
    return Finding("forward", f"This is the forward value of {s.named}, not a derivative: "
                              f"the backward pass computes {case.label}.")


def rounding(case: Case) -> Finding | None:
    """A number given to fewer significant digits than the tolerance asks for."""
    if not case.single_point or not case.text:
        return None
    digits = _significant_digits(case.text)
    truth = float(case.truth[0])
    # A whole number of one digit (-8 for -7.84) may as well come from another point or
    # another mistake: only a number written with at least two digits reads as rounded.
    if digits is None or digits < 2 or not np.isfinite(truth) or truth == 0:
        return None
    if float(f"{truth:.{digits}g}") != float(case.answer[0]) or float(case.answer[0]) == truth:
        return None
    needed = next((k for k in range(digits + 1, 17)
                   if abs(float(f"{truth:.{k}g}") - truth) <= case.rtol * abs(truth)), 17)
    given = _count(digits, "significant digit")
    return Finding("rounding", f"Rounded too early: your answer has {given}, and the tolerance "
                               f"asks for {needed} (a relative error of at most {case.rtol:g}). "
                               "Keep more digits until the end.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _significant_digits(text: str) -> int | None:
    """Significant digits of a plain decimal number (``-7.8`` -> 2), else None."""
    body = text.strip().lstrip("+-").strip()
    mantissa = body.lower().split("e")[0]
    if not mantissa or any(ch not in "0123456789." for ch in mantissa) or mantissa.count(".") > 1:
        return None
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits.rstrip("0") or digits
    return len(digits) or None


def zero(case: Case) -> Finding | None:
    """0 where the truth is not: the variable treated as a constant (data, not an input)."""
    if not agrees(case.answer, np.zeros_like(case.answer), case.rtol, case.atol):
        return None
    return Finding("zero", f"Your answer is 0, as if {case.of} did not depend on the variable, "
                           f"or the variable were a constant. {case.of} does depend on it, so "
                           f"the local gradient {case.label} exists (data such as y still has "
                           "one).")


def value_for_formula(case: Case) -> Finding | None:
    """A formula was asked; the answer is the number the truth takes at the given point."""
    if case.single_point or case.formula or not case.given_used:
        return None
    if not agrees(case.answer[:1], case.truth[:1], case.rtol, case.atol):
        return None
    return Finding("value", f"This is the value of {case.label} at the given point, not the "
                            "formula: the question asks for the local gradient or derivative as "
                            "a formula in the variables.")


def plugged(case: Case) -> Finding | None:
    """The truth with one variable already replaced by its value at the given point."""
    p = _first_match(case, case.plugged)
    if p is None:
        return None
    return Finding("plugged", f"Right, but with {p.named} put in too early: "
                              f"{case.label} as a formula keeps {p.name} a variable. "
                              "Put the numbers in after the backward pass.")


def given_point(case: Case) -> Finding | None:
    """A formula right at the given point only (a coincidence of the example's numbers)."""
    if case.single_point or not case.formula or not case.given_used:
        return None
    if not agrees(case.answer[:1], case.truth[:1], case.rtol, case.atol):
        return None
    return Finding("given-point", "Your formula gives the right number at the given point "
                                  "only, by coincidence of the example's numbers: it is not "
                                  f"{case.label} as a function of the variables.")


@dataclass(frozen=True)
class Rule:
    """One diagnosis: its name, the candidates it compares the answer with, its feedback.

    A data rule (``kind`` set) matches when the answer agrees with one of the case's graph
    candidates of that kind (``stage``: only products whose constant factor is a stage,
    None: any) and says ``feedback`` with the candidate's text. A code rule (``test``)
    decides by itself.
    """

    name: str
    kind: str = ""
    feedback: str = "{text}"
    stage: bool | None = None
    test: Callable[[Case], Finding | None] | None = None

    def __call__(self, case: Case) -> Finding | None:
        if self.test is not None:
            return self.test(case)
        hits = case.graph_matches
        for i, c in enumerate(case.graph):
            if c.kind != self.kind or (self.stage is not None and c.stage != self.stage):
                continue
            # It explains the answer: it agrees, and is neither the truth nor zero there.
            if _distinct(case, c) and (agrees(case.answer, c.values, case.rtol, case.atol)
                                       if hits is None else hits[i]):
                return Finding(self.name, self.feedback.format(text=c.text, label=case.label))
        return None


# (id(candidate), id(truth), rtol, atol, single point) -> (candidate, truth, distinct): a
# question's candidates and truth are built once and shared by all its answers, so whether
# a candidate can explain anything is worked out once (the objects are held, so ids stay).
_DISTINCT: dict[tuple[int, int, float, float, bool], tuple[Candidate, np.ndarray, bool]] = {}
_DISTINCT_SIZE = 4096


def _distinct(case: Case, c: Candidate) -> bool:
    """The candidate is neither the truth nor zero (nor, when weak, a multiple of the truth)."""
    key = (id(c), id(case.truth), case.rtol, case.atol, case.single_point)
    hit = _DISTINCT.get(key)
    if hit is not None and hit[0] is c and hit[1] is case.truth:
        return hit[2]
    with np.errstate(all="ignore"):
        distinct = not (agrees(c.values, case.truth, case.rtol, case.atol)
                        or not np.any(np.abs(c.values[np.isfinite(c.values)]) > case.atol)
                        or (c.weak and (case.single_point
                                        or bool(_constant(c.values / case.truth, case.rtol)))))
    if len(_DISTINCT) >= _DISTINCT_SIZE:
        _DISTINCT.clear()
    _DISTINCT[key] = (c, case.truth, distinct)
    return distinct


Diagnosis = Callable[[Case], Finding | None]

# The graph mistakes (see gradcheck.graph_mistakes): when one of them fits, any other
# reading that fits too is named as well, since they can coincide (a stage treated as a
# constant in a product is also a dropped path through that stage).
GRAPH = frozenset({"path", "term", "product", "activation", "edge", "plugged", "extra-gradient",
                   "stale"})
# One number that is a stage's forward value and a small fraction of the truth fits both.
ONE_NUMBER = frozenset({"forward", "factor"})

# Tried in this order; the first match wins. Forward-of-`of` comes before factor (a forward
# value that is also a multiple of the truth reads as forward), chain before wrt (the
# upstream gradient is also a derivative with respect to a stage). chain comes before
# factor: for a formula they cannot both fit (chain skips constant products), but one
# number is a multiple of anything, so a number that lacks a local gradient's value there
# is chain, not "off by a factor of 3.66"; only 1/4, 1/2, 2 or 4 when the function has a
# square stays factor (its feedback names the chain reading too). For value questions only
# 1/2, 2 and forgotten constant local gradients count as factor before wrt; other small
# fractions come after them. A left-out term of the output comes before a missing path (a
# term is one path or more); a product with a stage held constant comes before a path
# (GELU's x*Phi without x*Phi'), a dropped direct branch after (q*x without the direct x).
# An activation's value comes before the forward value (for d h / d z with h = tanh(z) they
# are one number, and the activation's reading says which derivative belongs there); edge
# slips come after factor and chain: a power rule without its n is "the 2 that comes down
# from a square". A local gradient multiplied in twice comes after wrt, which it can
# coincide with (2 x^2 s is d loss / d w2 when y_hat = w1 x + w2 x^2), and both are named.
TABLE: tuple[Rule, ...] = (
    Rule("sign", test=sign),
    Rule("zero", test=zero),
    Rule("rounding", test=rounding),
    Rule("activation", "activation"),
    Rule("forward", test=forward),
    Rule("term", "term", "A term is missing: {text}"),
    Rule("sign", "term-sign", "The sign of one term is flipped: {text}"),
    Rule("product", "product", "A product-rule term is missing: {text}", stage=True),
    Rule("path", "path", "A path is missing on the backward pass: {text}"),
    Rule("product", "product", "A product-rule term is missing: {text}", stage=False),
    Rule("chain", test=chain),
    Rule("chain", "chain", "A chain-rule factor is missing: {text}"),
    Rule("factor", test=factor),
    Rule("wrt", test=wrt),
    Rule("extra-gradient", test=extra_gradient),
    Rule("extra-symbol", test=extra_symbol),
    Rule("edge", "edge"),
    Rule("value", test=value_for_formula),
    Rule("plugged", "plugged", "Right, but with a number put in too early: {text}"),
    Rule("plugged", test=plugged),
    Rule("forward", test=forward_stage),
    Rule("stale", "stale", "Stale weights: {text}"),
    Rule("factor", test=other_factor),
    Rule("given-point", test=given_point),
)


def diagnose(case: Case) -> Finding | None:
    """The first mistake in ``TABLE`` that explains the answer, or None.

    When it or another fitting reading is a graph mistake, the other reading is named too.
    """
    found: list[Finding] = []
    with np.errstate(all="ignore"):
        for rule in TABLE:
            if any(f.diagnosis == rule.name for f in found):
                continue
            finding = rule(case)
            if finding is not None:
                found.append(finding)
    if not found:
        return None
    first = found[0]
    others = [f for f in found[1:] if GRAPH & {f.diagnosis, first.diagnosis}
              or (case.single_point and {f.diagnosis, first.diagnosis} == ONE_NUMBER)]
    if not others:
        return first
    return Finding(first.diagnosis, f"{first.feedback} Another reading fits too: "
                                    f"{others[0].feedback}")
