"""The decision: does a read answer equal the truth of its question?

1. Float64 screens. The answer is evaluated at the Reference's points (and, when it
   switches, inside each of its own pieces too). Points where it is undefined, or differs
   from the truth by more than ``SCREEN`` relative to ``max(|truth|, FLOOR * scale)``,
   are suspects.
2. High precision decides. Each suspect is re-evaluated exactly (``gradcheck.precise``):
   a float64 artefact in either side never decides. A confirmed difference, or an answer
   undefined where the truth is a finite real number, is a ``fail``.
3. A pass is confirmed. With every point agreeing, the answer minus the truth is
   simplified under ``PROOF_BUDGET`` seconds (``proved`` when it gives 0); otherwise both
   sides are compared in high precision at ``SECRET_POINTS`` more points that feedback
   never shows, drawn from a seed that includes the answer text (``sampled``). A proof
   that ran out of time never counts: more secret points are used and the result says so.

Equality means equal to ``EXACT`` relative digits in high precision, unless the question
sets its own tolerance. How and why is in docs/grading.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from gradcheck import diagnosis, precise
from gradcheck.breakpoints import piece_points, switches
from gradcheck.candidates import case
from gradcheck.checks import complete
from gradcheck.deadline import Timeout, deadline
from gradcheck.derivation import expand
from gradcheck.features import feature_points
from gradcheck.points import draw, format_point, label, number, rng_for
from gradcheck.tape import Tape
from gradcheck.truth import BACKEND, Reference
from gradcheck.verdict import Decision, Evidence, GradeResult

__all__ = ["EXACT", "FLOOR", "PROOF_BUDGET", "SCREEN", "SECRET_POINTS", "decide_expression",
           "decide_value"]

EXACT = 1e-20  # relative difference below which two high-precision values are equal
SCREEN = 1e-10  # float64 differences above this are re-evaluated in high precision
FLOOR = 1e-3  # near a zero of the truth, differences are relative to FLOOR * its scale
# Seconds for the symbolic confirmation of a pass: a safety net, not the rule. The proofs
# the bank and a class need take 1-60 ms warm, but the first ones in a fresh process (SymPy's
# caches cold) take up to 170 ms; on a loaded machine that crossed the former 0.25 s, and the
# same class got "proved" on one run and "sampled" on the next. What is too large to try is
# decided without a clock (MAX_EXPANSION).
PROOF_BUDGET = 1.0
SECRET_POINTS = 8  # high-precision points that confirm a pass the proof did not settle
SECRET_POINTS_AFTER_TIMEOUT = 32  # ... when the proof ran out of time
VERY_CLOSE = 1e-3  # a confirmed relative difference below this is called "very close"


def final_rtol(ref: Reference) -> float:
    """The relative tolerance of the decision: the question's own (a teacher who accepts
    rounded constants), the value default for numbers, else exact equality."""
    if ref.question.kind == "value" or ref.question.tolerance is not None:
        return ref.tolerance.rtol
    return EXACT


# -- value questions ----------------------------------------------------------------------

def decide_value(ref: Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                 base: dict[str, Any], exact_answer: sympy.Expr, *,
                 hide: bool = False) -> GradeResult:
    label_ = ref.question.label
    formula = bool(full.free_symbols)
    point = precise.exact_point(ref.symbols, ref.points[0, :len(ref.symbols)])
    got_hp = precise.evaluate(exact_answer, point, ref.program)
    truth_hp = ref.truth_hp[0]
    if got_hp is None:
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {ref.shown[0]}; "
                           f"{label_} is a number there.", **base)
    got, truth = precise.to_float(got_hp), float(ref.truth[0])
    rtol = final_rtol(ref)
    error = precise.relative(got_hp, truth_hp, 0.0) if truth_hp is not None else float("inf")
    ok = error <= rtol
    evidence = (Evidence(ref.labels[0], truth, got, error, ok),)
    note = " You gave a formula; the question asks for the number." if formula else ""
    decision = Decision("sampled", 1, 0, precise.DIGITS)
    if ok:
        return GradeResult(verdict="pass", feedback=f"Correct: {label_} = {number(truth)} at "
                           f"{ref.shown[0]}.{note}", evidence=evidence, decision=decision, **base)
    values = np.array([got])
    finding = diagnosis.diagnose(case(ref, extras, values, full, base["answer"]))
    where = f"at {ref.shown[0]} your answer gives {number(got)}{_but(label_, truth, hide)}"
    feedback = f"{finding.feedback} A{where[1:]}" if finding else f"Not right: {where}"
    return GradeResult(verdict="fail", feedback=feedback + note, evidence=evidence,
                       diagnosis=finding.diagnosis if finding else None, decision=decision,
                       **base)


# -- expression questions -----------------------------------------------------------------

class _Points:
    """The points of one answer: the Reference's, then the answer's own piece points."""

    def __init__(self, ref: Reference, values: np.ndarray) -> None:
        self.pts = ref.points
        self.truth = ref.truth
        self.truth_hp = list(ref.truth_hp)
        self.labels = list(ref.labels)
        self.shown = list(ref.shown)
        self.values = np.array(values, dtype=np.float64)

    def add(self, ref: Reference, rows: np.ndarray, answer_tape: Tape) -> None:
        n_sym = len(ref.symbols)
        keep: list[int] = []
        truth_hp: list[precise.Value] = []
        for i, row in enumerate(rows):
            value = precise.evaluate(ref.exact_truth, precise.exact_point(ref.symbols, row[:n_sym]),
                                     ref.program)
            if value is not None:
                keep.append(i)
                truth_hp.append(value)
        if not keep:
            return
        rows = rows[keep]
        with np.errstate(all="ignore"):
            answer = BACKEND.evaluate(answer_tape, rows)[0]
        self.pts = np.vstack([self.pts, rows])
        self.truth = np.concatenate([self.truth, [precise.to_float(v) for v in truth_hp]])
        self.truth_hp.extend(truth_hp)
        self.labels.extend(label(ref.target.variables, row) for row in rows)
        self.shown.extend(format_point(label(ref.problem.symbol_names, row[:n_sym])) for row in rows)
        self.values = np.concatenate([self.values, answer])


def decide_expression(ref: Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                      base: dict[str, Any], exact_answer: sympy.Expr, answer_tape: Tape,
                      time_limit: float, *, hide: bool = False) -> GradeResult:
    """Decide an expression answer (see the module docstring).

    Raises:
        Timeout: the high-precision work ran past ``time_limit`` seconds.
    """
    with deadline(time_limit):
        at = _Points(ref, values)
        own = [s for s in switches([exact_answer]) if s not in ref.switches]
        if own:
            rows = piece_points([*ref.switches, *own], ref.symbols,
                                [s.domain for s in ref.problem.symbols],
                                ref.points[int(ref.given_used):, :len(ref.symbols)],
                                rng_for(base["seed"], ref.problem.id, ref.question.id, "pieces",
                                        "answer"), ref.program)
            if len(rows):
                at.add(ref, complete(ref.target, ref.problem, rows), answer_tape)
        return _decide(ref, extras, full, base, exact_answer, at, hide)


def _decide(ref: Reference, extras: list[Any], full: sympy.Expr, base: dict[str, Any],
            exact_answer: sympy.Expr, at: _Points, hide: bool) -> GradeResult:
    rtol = final_rtol(ref)
    floor = FLOOR * ref.scale
    values, truth = at.values, at.truth
    finite = np.isfinite(values) & np.isfinite(truth)
    with np.errstate(all="ignore"):
        error = np.abs(values - truth) / np.maximum(np.abs(truth), floor)
        error = np.where(values == truth, 0.0, error)
    error = np.where(finite, error, np.inf)
    error = np.where(np.isnan(error), np.inf, error)
    undefined: list[int] = []
    wrong: list[int] = []
    checked: list[int] = []
    n_sym = len(ref.symbols)
    for i in np.flatnonzero(error > SCREEN):
        is_nan = not np.isfinite(values[i])
        if (undefined if is_nan else wrong):
            continue  # one confirmed point of each kind is enough
        point = precise.exact_point(ref.symbols, at.pts[i, :n_sym])
        got = precise.evaluate(exact_answer, point, ref.program)
        expected = at.truth_hp[i]
        if got is None:
            undefined.append(int(i))
            continue
        checked.append(int(i))
        if expected is None:  # high precision could not evaluate the truth: float64 it is
            wrong_here = error[i] > ref.tolerance.rtol
        else:
            values[i] = precise.to_float(got)
            error[i] = precise.relative(got, expected, floor)
            wrong_here = error[i] > rtol
        if wrong_here:
            wrong.append(int(i))
        if undefined and wrong:
            break
    # Shown as agreeing: within the screen, or confirmed in high precision; a suspect left
    # unchecked (one confirmed difference settles the verdict) by float64's own tolerance.
    agree = error <= max(SCREEN, rtol)
    suspects = error > SCREEN
    agree[suspects] = error[suspects] <= ref.tolerance.rtol
    agree[checked] = error[checked] <= rtol
    agree[wrong] = False
    shown_ok = np.isfinite(values)
    evidence = tuple(Evidence(at.labels[i], float(truth[i]), float(values[i]), float(error[i]),
                              bool(agree[i])) for i in range(len(values)) if shown_ok[i])
    base |= {"evidence": evidence}
    compared = len(values)
    if wrong:
        return _wrong(ref, extras, full, base, at, wrong[0], agree, error[wrong[0]], hide)
    if undefined:
        return _undefined(ref, base, at, exact_answer, undefined[0], int((~shown_ok).sum()))
    return _confirm(ref, base, exact_answer, compared, rtol, floor)


def _wrong(ref: Reference, extras: list[Any], full: sympy.Expr, base: dict[str, Any],
           at: _Points, first: int, agree: np.ndarray, error: float, hide: bool) -> GradeResult:
    label_ = ref.question.label
    values = at.values[:len(ref.points)]
    where = (f"at {at.shown[first]} your answer gives {number(at.values[first])}"
             f"{_but(label_, at.truth[first], hide)}")
    # A difference this small is no known mistake: say how close it is instead.
    close = error < VERY_CLOSE and bool(np.all(np.isfinite(at.values)))
    finding = None if close else diagnosis.diagnose(case(ref, extras, values, full, base["answer"]))
    if close:
        if hide:
            return GradeResult(verdict="fail", feedback=f"Very close, but not equal to {label_}.",
                               **base)
        differs = _symbolic_difference(ref, full)
        text = (f"your answer minus {label_} is {differs}, not 0" if differs
                else f"the relative difference is {error:.1g}")
        return GradeResult(verdict="fail", feedback=f"Very close, but not equal: {text} ({where[:-1]}).",
                           **base)
    if ref.given_used and first > 0 and agree[0]:
        where = f"Right at the given point ({at.shown[0]}) but not as a function: {where}"
        if not full.free_symbols:
            where += " A formula in the variables is asked, not the value at the given point."
    else:
        where = f"{'At' if finding else 'Not right: at'}{where[2:]}"
    feedback = f"{finding.feedback} {where}" if finding else where
    return GradeResult(verdict="fail", feedback=feedback,
                       diagnosis=finding.diagnosis if finding else None, **base)


def _undefined(ref: Reference, base: dict[str, Any], at: _Points, exact_answer: sympy.Expr,
               first: int, count: int) -> GradeResult:
    label_ = ref.question.label
    point = precise.exact_point(ref.symbols, at.pts[first, :len(ref.symbols)])
    truth = sympy.Tuple(ref.truth_full if ref.truth_full is not None else ref.exact_truth,
                        *(e for _, e in ref.program))
    why = why_undefined(exact_answer, point, truth, ref.program)
    more = _more(count - 1, len(at.values))
    return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {at.shown[first]}"
                       f"{more}, where {label_} is defined{why}.", **base)


def why_undefined(answer: sympy.Expr, point: dict[sympy.Symbol, sympy.Rational],
                  truth: sympy.Expr, program: tuple[Any, ...] = ()) -> str:
    """``: log(x) is undefined for x < 0 (log|x| where log(x) is written?)`` or ``""``.

    Names the smallest part of the answer that is not a real number at the point.
    """
    parts = sorted((e for e in sympy.preorder_traversal(answer)
                    if isinstance(e, (sympy.log, sympy.Pow, sympy.asin, sympy.acos, sympy.acosh,
                                      sympy.atanh))), key=sympy.count_ops)
    for part in parts:
        if precise.evaluate(part, point, program) is not None:
            continue
        inner = part.args[0] if not isinstance(part, sympy.Pow) else part.base
        value = precise.evaluate(inner, point, program)
        if value is None:
            continue  # its argument is already undefined: a smaller part says why
        shown = sympy.sstr(part)
        if isinstance(part, sympy.log) and value < 0:
            arg = sympy.sstr(inner)
            hint = ""
            if truth.has(sympy.log(sympy.Abs(inner))) or truth.has(sympy.log(inner**2)):
                hint = f": log({arg}) where log|{arg}| belongs?"
            return f", and {shown} is undefined for {arg} < 0{hint}"
        if isinstance(part, sympy.Pow) and value == 0:
            return f", and {shown} divides by zero there"
        if isinstance(part, sympy.Pow) and value < 0:
            return f", and {shown} is a root of a negative number there"
        return f", and {shown} is not a real number there"
    return ""


def _confirm(ref: Reference, base: dict[str, Any], exact_answer: sympy.Expr, compared: int,
             rtol: float, floor: float) -> GradeResult:
    label_ = ref.question.label
    notes = "".join(f" ({n})" for n in ref.notes)
    correct = f"Correct: your answer equals {label_} at {_where(ref, compared)}{notes}."
    proof = None
    if rtol == EXACT and ref.truth_full is not None:
        proof = _proof(ref, exact_answer)
    if proof is True:
        return GradeResult(verdict="pass", feedback=correct,
                           decision=Decision("proved", compared), **base)
    note = ""
    k = SECRET_POINTS
    if proof == "timeout":
        k = SECRET_POINTS_AFTER_TIMEOUT
        note = (f"the symbolic confirmation did not finish (over {PROOF_BUDGET:g} s, or too "
                f"large to expand): checked at {k} more points in high precision instead")
    # Unproved: look first where the answer's own parts have narrow features (features.py).
    rows = _feature_rows(ref, exact_answer)
    found = _feature_difference(ref, exact_answer, rows, rtol, floor)
    if found is None:
        found = _secret_difference(ref, base, exact_answer, k, rtol, floor)
    k += len(rows)
    decision = Decision("sampled", compared + k, k, precise.DIGITS, note)
    if found is None:
        return GradeResult(verdict="pass", feedback=correct, decision=decision, **base)
    return GradeResult(verdict="fail", feedback=f"Your answer agrees with {label_} at the points "
                       f"shown, but it is not the same function: {found}.", decision=decision,
                       **base)


# (id(reference), answer) -> (reference, proof): a class writes one formula many ways
# (2x(wx - y), 2*x*(w*x - y)) that read as one expression. A proof that ran out of time
# is not kept: it depends on the machine's load, not on the answer.
_PROOFS: dict[tuple[int, sympy.Expr], tuple[Reference, bool | str | None]] = {}
_PROOFS_SIZE = 4096


def _proof(ref: Reference, exact_answer: sympy.Expr) -> bool | str | None:
    """``prove`` for an answer to the reference's question, once per distinct answer."""
    key = (id(ref), exact_answer)
    hit = _PROOFS.get(key)
    if hit is not None and hit[0] is ref:
        return hit[1]
    proof = prove(lambda: expand(ref.problem, exact_answer), precise.exact(ref.truth_full))
    if proof != "timeout":
        if len(_PROOFS) >= _PROOFS_SIZE:
            _PROOFS.clear()
        _PROOFS[key] = (ref, proof)
    return proof


def prove(answer: Callable[[], sympy.Expr], truth: sympy.Expr) -> bool | str | None:
    """True when ``answer - truth`` simplifies to 0 within ``PROOF_BUDGET`` seconds;
    ``"timeout"`` when it ran out of time; None when the rewrite ended but gave no proof
    (an equal pair SymPy cannot cancel, or a different one: sampling decides).

    The rewrite is chosen by measurement (docs/grading.md, section 5): ``expand`` then
    ``cancel`` prove every pass of the bank's answer tests and 81% of random equal
    rewrites, at 1.6 ms on average and 60 ms at most, far inside the budget, so whether a
    pass is proved does not depend on the machine's load. ``simplify`` and ``equals``
    proved all the rewrites but at 14-19 ms on average and up to 0.5 s: near the budget,
    the same answer would be proved on one run and sampled on the next.
    """
    try:
        with deadline(PROOF_BUDGET):
            closed = answer()  # the answer's closed form
            if expansion_size(closed - truth) > MAX_EXPANSION:
                return "timeout"  # deterministic: no clock decides what is too large
            difference = sympy.expand(closed - truth)
            if difference == 0 or sympy.cancel(difference) == 0:
                return True
            return None
    except Timeout:
        return "timeout"
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError,
            sympy.PolynomialError):
        return None


MAX_EXPANSION = 20_000  # terms expand may produce before a proof is not attempted


def expansion_size(expr: sympy.Expr) -> float:
    """An upper estimate of the number of terms ``expand(expr)`` produces: a power of a
    sum with k terms to the n has C(n + k - 1, k - 1) terms, products multiply, sums add."""
    if expr.is_Atom:
        return 1.0
    if isinstance(expr, sympy.Add):
        return float(sum(expansion_size(a) for a in expr.args))
    if isinstance(expr, sympy.Mul):
        size = 1.0
        for a in expr.args:
            size *= expansion_size(a)
        return size
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and int(expr.exp) > 1:
        k = expansion_size(expr.base)
        n = min(int(expr.exp), 10**6)
        return float(math.comb(n + int(min(k, 50)) - 1, int(min(k, 50)) - 1)) if k > 1 else 1.0
    return 1.0


def _secret_difference(ref: Reference, base: dict[str, Any], exact_answer: sympy.Expr, k: int,
                       rtol: float, floor: float) -> str | None:
    """How the answer differs at ``k`` secret points in high precision, or None if it does not.

    The points come from a seed that includes the answer's text: an answer built from
    points it was shown is checked at points it could not know.
    """
    digest = hashlib.sha256(base["answer"].encode("utf-8", "surrogatepass")).hexdigest()
    rng = rng_for(base["seed"], ref.problem.id, ref.question.id, "secret", digest)
    n_sym = len(ref.symbols)
    rows = draw(ref.problem, 4 * k, rng)
    checked = 0
    for row in rows:
        if checked >= k:
            break
        point = precise.exact_point(ref.symbols, row[:n_sym])
        expected = precise.evaluate(ref.exact_truth, point, ref.program)
        if expected is None:
            continue
        checked += 1
        got = precise.evaluate(exact_answer, point, ref.program)
        if got is None:
            return f"it is undefined at some points of the domain where {ref.question.label} is defined"
        error = precise.relative(got, expected, floor)
        if error > rtol:
            return (f"elsewhere in the domain the two differ (relative difference {error:.1g})")
    return None


def _feature_rows(ref: Reference, exact_answer: sympy.Expr) -> np.ndarray:
    """Points (over the symbols) where the answer's parts that the truth lacks have a zero
    or a stationary argument: a narrow bump's peak (``gradcheck.features``)."""
    # The answer as written: expanding its stages can grow exponentially with the depth of
    # the graph (a part over a stage is not searched: its argument is no polynomial in a
    # variable once the other variables are fixed).
    closed = exact_answer
    truth = ref.truth_full if ref.truth_full is not None else ref.exact_truth
    n_sym = len(ref.symbols)
    base = ref.points[int(ref.given_used):, :n_sym]
    if not len(base):
        base = ref.points[:, :n_sym]
    return feature_points(closed, precise.exact(truth), ref.symbols,
                          [s.domain for s in ref.problem.symbols], base)


def _feature_difference(ref: Reference, exact_answer: sympy.Expr, rows: np.ndarray, rtol: float,
                        floor: float) -> str | None:
    """How the answer differs at the feature points, or None. A point where either side is
    undefined is skipped: a feature point may be a pole of the answer's own parts, and an
    answer undefined at one point only (``sin(x)/x`` at 0) is no narrow feature; a pole
    that changes the function shows at the random points."""
    for row in rows:
        point = precise.exact_point(ref.symbols, row)
        expected = precise.evaluate(ref.exact_truth, point, ref.program)
        if expected is None:
            continue
        got = precise.evaluate(exact_answer, point, ref.program)
        if got is None:
            continue
        error = precise.relative(got, expected, floor)
        if error > rtol:
            return f"somewhere in the domain the two differ (relative difference {error:.1g})"
    return None


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


def _symbolic_difference(ref: Reference, full: sympy.Expr) -> str | None:
    """For polynomials only: the exact difference when it is not zero, else None."""
    if not ref.truth_poly or ref.truth_full is None:
        return None
    answer = expand(ref.problem, full)
    if expansion_size(answer - ref.truth_full) > MAX_EXPANSION:
        return None
    try:
        with deadline(PROOF_BUDGET):
            if not answer.is_polynomial(*answer.free_symbols):
                return None
            difference = sympy.expand(answer - ref.truth_full)
    except Timeout:
        return None
    return None if difference == 0 else sympy.sstr(difference)

