"""Grade an array answer: read it with numpy semantics, compare shapes, then numbers, then
confirm a pass in high precision; diagnose the mistakes matrix calculus is known for.

The decision: the answer must have the question's exact shape; at the given point and
at seeded random points (general, non-symmetric matrices of the declared sizes) its
relative Frobenius error must be at most 1e-6, where the scale is the truth's own size
(no fixed absolute floor); an answer undefined where the truth is defined disagrees.
A numeric pass is then confirmed at secret points in 40-digit arithmetic (inputs as
exact rationals): an answer equal to about 7 digits but not equal fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays import algebra as A
from gradcheck.arrays.derivation import Points, derivative, draw_points, evaluate, exact, truth
from gradcheck.arrays.model import ArrayModel, ArrayQuestion, entry_symbols
from gradcheck.arrays.reader import TEACHER_LIMITS, read, tokenize
from gradcheck.deadline import Timeout, deadline, paused
from gradcheck.errors import ExpressionError, UnsupportedFunctionError
from gradcheck.points import format_point, label, rng_for
from gradcheck.problem import Problem
from gradcheck.verdict import Evidence, GradeResult

RTOL = 1e-6
VALUE_RTOL = 1e-3
CONFIRM_POINTS = 2
CONFIRM_RTOL = 1e-20
_ANSWERS: dict[tuple[Any, ...], tuple[Problem, GradeResult]] = {}
_PREPARED: dict[tuple[Any, ...], tuple[Problem, _Prepared]] = {}
_ALTERNATIVES: dict[tuple[int, str], tuple[Problem, list[tuple[str, str, Matrix]]]] = {}
QUESTION_BUDGET = 30.0  # seconds to prepare one question's points and alternatives (once)


def shape_text(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


def grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0, points: int = 20,
          time_limit: float = 2.0, hide: bool = False) -> GradeResult:
    """Grade one answer to an array question (see the module doc for the rule).

    ``hide`` keeps the true values out of the feedback (the result's ``expected`` keeps the formula
    for the teacher's report). A class repeats answers: a repeated text gets the kept result.
    """
    key = (id(problem), question_id, seed, points, time_limit, answer, hide)
    hit = _ANSWERS.get(key) if isinstance(answer, str) else None
    if hit is not None and hit[0] is problem:
        return hit[1]
    result = _grade(problem, question_id, answer, seed=seed, points=points, time_limit=time_limit, hide=hide)
    if isinstance(answer, str) and "(limit: time_limit)" not in result.feedback:
        _ANSWERS[key] = (problem, result)
        if len(_ANSWERS) > 20_000:
            _ANSWERS.pop(next(iter(_ANSWERS)))
    return result


def clear_cache() -> None:
    """Forget graded array answers (benchmarks of repeated grading)."""
    _ANSWERS.clear()


def _grade(problem: Problem, question_id: str, answer: str, *, seed: int, points: int,
           time_limit: float, hide: bool) -> GradeResult:
    model: ArrayModel = problem.arrays
    text = answer if isinstance(answer, str) else repr(answer)
    base: dict[str, Any] = {"problem": problem.id, "question": question_id, "answer": text, "seed": seed}
    try:
        q = model.question(question_id)
    except KeyError:
        known = ", ".join(x.id for x in model.questions)
        return GradeResult(verdict="error", feedback=f"Cannot grade: problem {problem.id!r} has no question "
                           f"{question_id!r}; its questions are {known}", **base)
    if not isinstance(answer, str):
        return GradeResult(verdict="invalid", feedback="The answer must be text.", **base)
    try:
        expected_m = truth(problem, q)
    except (ExpressionError, UnsupportedFunctionError, ValueError, TypeError) as exc:
        return GradeResult(verdict="error", feedback="Cannot grade: the derivative could not be derived "
                           f"({exc})", **base)
    label_q = _label(q)
    base["expected"] = q.answer or f"a {shape_text(q.shape)} matrix"
    try:
        with deadline(time_limit):
            reading = read(answer, model.local_names(), student=True)
            got_m = model.compose(reading.value)
    except ExpressionError as exc:
        return GradeResult(verdict="invalid", feedback=f"Cannot read your answer: {exc.message}.", **base)
    except Timeout:
        return GradeResult(verdict="invalid", feedback=f"Reading your answer took longer than the time limit "
                           f"({time_limit:g} s) (limit: time_limit).", **base)
    base["understood_as"] = reading.text
    try:
        with deadline(time_limit * 4):
            if q.kind == "value":
                return _decide_value(problem, q, expected_m, got_m, base, label_q, hide)
            return _decide(problem, q, expected_m, got_m, reading.text, answer, base, seed, points, label_q)
    except Timeout:
        return GradeResult(verdict="invalid", feedback=f"Evaluating your answer took longer than the time "
                           f"limit ({time_limit:g} s) (limit: time_limit).", **base)
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError) as exc:
        return GradeResult(verdict="invalid", feedback=f"Cannot evaluate your answer: {exc}.", **base)


def _label(q: ArrayQuestion) -> str:
    of = q.of if q.of.isidentifier() else f"({q.of})"
    return f"d {of} / d {q.wrt}"


# -- value questions ----------------------------------------------------------------------------

def _decide_value(problem: Problem, q: ArrayQuestion, expected_m: Matrix, got_m: Matrix,
                  base: dict[str, Any], label_q: str, hide: bool = False) -> GradeResult:
    given = problem.given_point or {}
    point = np.array([[given[s.name] for s in problem.symbols]]) if problem.symbols else np.zeros((1, 0))
    want = exact(problem, expected_m, point[0])
    if got_m.shape != expected_m.shape:
        return GradeResult(verdict="fail", feedback=f"{label_q} is {shape_text(expected_m.shape)}; your answer "
                           f"is {shape_text(got_m.shape)}.", **base)
    have = exact(problem, got_m, point[0])
    err = _rel(have, want)
    shown = _show(want)
    if err <= VALUE_RTOL:
        return GradeResult(verdict="pass", feedback=f"Correct: {label_q} = {shown} at the given point.", **base)
    diagnosis, why = None, ""
    if _rel(-have, want) <= VALUE_RTOL:
        diagnosis, why = "sign", "The sign is flipped. "
    elif expected_m.rows == expected_m.cols and _rel(have.T, want) <= VALUE_RTOL:
        diagnosis, why = "transposed", "Your numbers are transposed. "
    truth_text = "" if hide else f" is {shown}"
    return GradeResult(verdict="fail", diagnosis=diagnosis,
                       feedback=f"{why}Not right: {label_q} at the given point{truth_text}; your answer "
                       f"gives {_show(have)}.", **base)


def _show(m: np.ndarray) -> str:
    if m.shape == (1, 1):
        return f"{m[0, 0]:.6g}"
    return "[" + ", ".join("[" + ", ".join(f"{v:.6g}" for v in row) + "]" for row in m) + "]"


def _rel(got: np.ndarray, want: np.ndarray) -> float:
    if not np.all(np.isfinite(got)):
        return float("inf")
    scale = float(np.linalg.norm(want))
    diff = float(np.linalg.norm(got - want))
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


# -- expression questions ----------------------------------------------------------------------

class _Compare:
    """The truth at the question's points, and a way to ask 'does this matrix equal it?'."""

    def __init__(self, problem: Problem, q: ArrayQuestion, expected_m: Matrix, seed: int, n: int) -> None:
        self.problem = problem
        self.exact_want: dict[int, np.ndarray] = {}    # point index -> the truth there in 40 digits
        self.expected_m = expected_m
        raw = draw_points(problem, q.id, seed, 3 * n + 3)
        (values,) = evaluate(problem, [expected_m], raw.values)
        defined = np.isfinite(values).all(axis=(1, 2))
        keep = np.flatnonzero(defined)[: n + (1 if raw.given else 0)]
        self.undefined_share = 1 - defined.mean() if len(defined) else 0.0
        self.pts = Points(values=raw.values[keep], names=raw.names, given=bool(raw.given and defined[0]))
        self.want = values[keep]
        norms = np.linalg.norm(self.want.reshape(len(keep), -1), axis=1) if len(keep) else np.zeros(0)
        # Scale-aware: relative to the truth's own size over the domain, never a fixed absolute floor.
        self.floor = max(float(norms.max(initial=0.0)) * 1e-12, np.finfo(float).tiny)
        self.norms = norms

    def errors(self, got: np.ndarray) -> np.ndarray:
        diff = np.linalg.norm((got - self.want).reshape(len(got), -1), axis=1)
        err = diff / np.maximum(self.norms, self.floor)
        finite = np.isfinite(got).all(axis=(1, 2))
        return np.where(finite, err, np.inf)

    def values(self, m: Matrix) -> np.ndarray:
        (got,) = evaluate(self.problem, [m], self.pts.values)
        return got

    def equal(self, m: Matrix) -> bool:
        if m.shape != self.expected_m.shape:
            return False
        return bool(np.all(self.errors(self.values(m)) <= RTOL))


def _decide(problem: Problem, q: ArrayQuestion, expected_m: Matrix, got_m: Matrix, understood: str,
            answer: str, base: dict[str, Any], seed: int, n: int, label_q: str) -> GradeResult:
    prepared = _prepare(problem, q, expected_m, seed, n)
    cmp = prepared.cmp
    if len(cmp.pts.values) == 0:
        return GradeResult(verdict="error", feedback=f"Cannot grade: {label_q} is undefined at every point "
                           "of the domains; fix the problem's domains.", **base)
    want_shape = expected_m.shape
    if got_m.shape != want_shape:
        return _wrong_shape(problem, q, cmp, got_m, answer, base, label_q)
    got = cmp.values(got_m)
    errors = cmp.errors(got)
    errors = _refine(problem, cmp, expected_m, got_m, errors)
    worst = int(np.argmax(errors))
    evidence = _evidence(cmp, got, errors, worst)
    where = f"{len(cmp.pts.values)} points"
    if np.all(errors <= RTOL):
        near = _confirm(problem, prepared.confirm, got_m)
        if near is None:
            return GradeResult(verdict="pass", feedback=f"Correct: your answer equals {label_q} "
                               f"({shape_text(want_shape)}) at {where}, confirmed in high precision.",
                               evidence=evidence, **base)
        return GradeResult(verdict="fail", feedback=f"Almost: your answer agrees with {label_q} to about "
                           f"{near} digits but is not equal to it (a rounded constant or a tiny extra term?).",
                           evidence=evidence, **base)
    if not np.isfinite(errors[worst]):
        point = format_point(label(cmp.pts.names, cmp.pts.values[worst]), 4)
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined (or not real) at a point where "
                           f"{label_q} is defined, e.g. at {point}.", evidence=evidence, **base)
    diagnosis, feedback = _diagnose(problem, prepared, got_m, got, answer, label_q)
    if feedback is None:
        feedback = (f"Not right: your answer and {label_q} differ at {int(np.sum(errors > RTOL))} of "
                    f"{len(errors)} points (relative error {errors[worst]:.3g}).")
    return GradeResult(verdict="fail", diagnosis=diagnosis, feedback=feedback, evidence=evidence, **base)


def _refine(problem: Problem, cmp: _Compare, expected_m: Matrix, got_m: Matrix,
            errors: np.ndarray) -> np.ndarray:
    """Re-decide in high precision where float64 may lie: near the tolerance or undefined."""
    suspect = np.flatnonzero(((errors > RTOL / 100) & (errors < 1e-2)) | ~np.isfinite(errors))[:4]
    errors = errors.copy()
    for k in suspect:
        want = cmp.exact_want.get(int(k))
        if want is None:
            with paused():  # the truth's numbers belong to the question: kept for the next answer
                want = cmp.exact_want[int(k)] = exact(problem, expected_m, cmp.pts.values[k])
        have = exact(problem, got_m, cmp.pts.values[k])
        if np.all(np.isfinite(want)):
            errors[k] = _rel(have, want) if np.any(want != 0) else float(np.linalg.norm(have))
    return errors


def _confirm(problem: Problem, secret: tuple[tuple[np.ndarray, np.ndarray], ...],
             got_m: Matrix) -> int | None:
    """None when the answer equals the truth at secret points in 40 digits; else the digits it agrees to."""
    for point, want in secret:
        if not np.all(np.isfinite(want)):
            continue
        have = exact(problem, got_m, point)
        err = _rel(have, want) if np.any(want != 0) else float(np.linalg.norm(have))
        if err > CONFIRM_RTOL and err > 1e-15:
            return max(1, int(-np.log10(err))) if err > 0 else None
    return None


def _secret_points(problem: Problem, q: ArrayQuestion, expected_m: Matrix,
                   seed: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The confirmation's secret points and the truth there in 40 digits."""
    rng = rng_for(seed, problem.id, q.id, "confirm")
    lows = np.array([s.domain[0] for s in problem.symbols])
    highs = np.array([s.domain[1] for s in problem.symbols])
    out = []
    for _ in range(CONFIRM_POINTS):
        point = lows + (highs - lows) * rng.random(len(lows))
        out.append((point, exact(problem, expected_m, point)))
    return tuple(out)


@dataclass(frozen=True)
class _Known:
    """A known wrong answer of a question and its values at the comparison points (or the error
    evaluating it raised, raised again when an answer is compared with it, as before)."""

    diagnosis: str
    feedback: str
    shape: tuple[int, int]
    values: np.ndarray | None
    error: Exception | None = None


@dataclass(frozen=True)
class _Prepared:
    """What grading an answer needs of its question, built once per question, seed and points."""

    cmp: _Compare
    confirm: tuple[tuple[np.ndarray, np.ndarray], ...]
    known: tuple[_Known, ...] | Exception   # an Exception: building them raised it


def _prepare(problem: Problem, q: ArrayQuestion, expected_m: Matrix, seed: int, n: int) -> _Prepared:
    """The question's comparison points, secret points and diagnosis alternatives (cached).

    Built with the running answer's timer paused, on the question's own budget: this work
    belongs to the question, not to the answer that happens to come first.
    """
    key = (id(problem), q.id, seed, n)
    hit = _PREPARED.get(key)
    if hit is not None and hit[0] is problem:
        return hit[1]
    with paused():
        with deadline(QUESTION_BUDGET):
            cmp = _Compare(problem, q, expected_m, seed, n)
            confirm = _secret_points(problem, q, expected_m, seed) if len(cmp.pts.values) else ()
        known = _known(problem, q, cmp) if len(cmp.pts.values) else ()
        prepared = _Prepared(cmp=cmp, confirm=confirm, known=known)
    _PREPARED[key] = (problem, prepared)
    if len(_PREPARED) > 256:
        _PREPARED.pop(next(iter(_PREPARED)))
    return prepared


def _evidence(cmp: _Compare, got: np.ndarray, errors: np.ndarray, worst: int) -> tuple[Evidence, ...]:
    rows = [0, worst] if worst != 0 else [0]
    out = []
    for k in rows:
        w, g = cmp.want[k], got[k]
        idx = np.unravel_index(int(np.argmax(np.abs(np.nan_to_num(g - w, nan=np.inf)))), w.shape)
        out.append(Evidence(point=label(cmp.pts.names, cmp.pts.values[k]), expected=float(w[idx]),
                            got=float(g[idx]), error=float(errors[k]), agrees=bool(errors[k] <= RTOL)))
    return tuple(out)


# -- diagnoses ------------------------------------------------------------------------------------

def _wrong_shape(problem: Problem, q: ArrayQuestion, cmp: _Compare, got_m: Matrix, answer: str,
                 base: dict[str, Any], label_q: str) -> GradeResult:
    want, have = cmp.expected_m.shape, got_m.shape
    like = "" if q.jacobian else f" like {q.wrt}"
    head = f"{label_q} is {shape_text(want)}{like}; your answer is {shape_text(have)}"
    if have == want[::-1] and cmp.equal(got_m.T):
        if q.jacobian:
            return GradeResult(verdict="fail", diagnosis="transposed-jacobian", feedback=(
                f"{head}: it is the transposed Jacobian. gradcheck uses the numerator layout (as torch and "
                f"jax): one row per entry of {q.of}, one column per entry of {q.wrt}."), **base)
        return GradeResult(verdict="fail", diagnosis="transposed", feedback=(
            f"{head}: transposed? Your answer is the transpose of {label_q}. A gradient has the shape of "
            f"the variable it is taken with respect to; dimension analysis picks the order of the "
            f"factors."), **base)
    for axis in (0, 1):
        summed = A.total(got_m, axis)
        if summed.shape == want and cmp.equal(summed):
            return GradeResult(verdict="fail", diagnosis="batch-sum", feedback=(
                f"{head}: you forgot to sum over the batch. Summing your answer over axis {axis} gives "
                f"{label_q}: a parameter shared by every sample collects the gradients of all of "
                f"them."), **base)
    diagnosis, feedback = _swapped_products(problem, cmp, answer, label_q)
    if feedback is not None:
        return GradeResult(verdict="fail", diagnosis=diagnosis, feedback=f"{head}. {feedback}", **base)
    return GradeResult(verdict="fail", feedback=f"{head}: expected {shape_text(want)}.", **base)


def _diagnose(problem: Problem, prepared: _Prepared, got_m: Matrix, got: np.ndarray,
              answer: str, label_q: str) -> tuple[str | None, str | None]:
    cmp = prepared.cmp
    rules: list[Callable[[], tuple[str | None, str | None]]] = [
        lambda: _scaled(cmp, got, label_q),
        lambda: _transposed(cmp, got_m, got, label_q),
        lambda: _symmetric_only(problem, cmp, got_m, label_q),
        lambda: _swapped_products(problem, cmp, answer, label_q),
        lambda: _alternative(prepared, got_m, got),
    ]
    for rule in rules:
        diagnosis, feedback = rule()
        if feedback is not None:
            return diagnosis, feedback
    return None, None


def _scaled(cmp: _Compare, got: np.ndarray, label_q: str) -> tuple[str | None, str | None]:
    want = cmp.want.ravel()
    have = got.ravel()
    if not np.all(np.isfinite(have)) or not np.any(want):
        return None, None
    c = float(np.dot(have, want) / np.dot(want, want))
    if c == 0 or not np.all(cmp.errors(got / c) <= RTOL * 10):
        return None, None
    if abs(c + 1) < 1e-9:
        return "sign", f"The sign is flipped: your answer is minus {label_q}."
    ratio = Fraction(c).limit_denominator(1000)
    shown = str(ratio) if abs(float(ratio) - c) <= 1e-9 * abs(c) else f"{c:.6g}"
    return "factor", (f"Off by a factor of {shown}: your answer is {shown} times {label_q}. Check the 2 "
                      f"that comes down from a square, and the 1/n of a mean.")


def _transposed(cmp: _Compare, got_m: Matrix, got: np.ndarray, label_q: str) -> tuple[str | None, str | None]:
    # The transpose's values are the answer's own, transposed (got_m has the truth's shape).
    if got_m.rows == got_m.cols and got_m.rows > 1 and np.all(cmp.errors(got.transpose(0, 2, 1)) <= RTOL):
        return "transposed", (f"Your answer is the transpose of {label_q}: the right entries in the "
                              "wrong places. Check the order of the factors by dimension analysis.")
    return None, None


def _symmetric_only(problem: Problem, cmp: _Compare, got_m: Matrix,
                    label_q: str) -> tuple[str | None, str | None]:
    model: ArrayModel = problem.arrays
    index = {name: k for k, name in enumerate(cmp.pts.names)}
    for s in model.symbols:
        if s.fixed or s.shape[0] != s.shape[1] or s.shape[0] < 2:
            continue
        pts = cmp.pts.values.copy()
        entries = s.entries
        for i in range(s.shape[0]):
            for j in range(i + 1, s.shape[1]):
                pts[:, index[str(entries[j, i])]] = pts[:, index[str(entries[i, j])]]
        want, have = evaluate(problem, [cmp.expected_m, got_m], pts)
        scale = np.maximum(np.linalg.norm(want.reshape(len(pts), -1), axis=1), cmp.floor)
        err = np.linalg.norm((have - want).reshape(len(pts), -1), axis=1) / scale
        if np.all(np.isfinite(err)) and np.all(err <= RTOL):
            return "symmetric-only", (f"Right only when {s.name} is symmetric: your answer equals {label_q} "
                                      f"when {s.name} = {s.name}.T, but not for a general {s.name}. "
                                      f"Did you write 2 {s.name} where ({s.name} + {s.name}.T) belongs?")
    return None, None


def _swapped_products(problem: Problem, cmp: _Compare, answer: str,
                      label_q: str) -> tuple[str | None, str | None]:
    model: ArrayModel = problem.arrays
    try:
        swapped = read(answer, model.local_names(), student=True, swap_products=True)
    except ExpressionError:
        return None, None
    if cmp.equal(model.compose(swapped.value)):
        return "elementwise", (f"Elementwise (*) and matrix (@) products are mixed up: with them swapped, "
                               f"your answer, {swapped.text}, is {label_q}.")
    return None, None


def _alternative(prepared: _Prepared, got_m: Matrix, got: np.ndarray) -> tuple[str | None, str | None]:
    if isinstance(prepared.known, Exception):
        raise prepared.known
    cmp = prepared.cmp
    for known in prepared.known:
        if known.shape != got_m.shape:
            continue
        if known.error is not None:
            raise known.error
        assert known.values is not None
        want = known.values
        scale = np.maximum(np.linalg.norm(want.reshape(len(want), -1), axis=1), cmp.floor)
        err = np.linalg.norm((got - want).reshape(len(want), -1), axis=1) / scale
        if np.all(np.isfinite(err)) and np.all(err <= RTOL):
            return known.diagnosis, known.feedback
    return None, None


def _known(problem: Problem, q: ArrayQuestion, cmp: _Compare) -> tuple[_Known, ...] | Exception:
    """The question's known wrong answers with their values at the comparison points, built on
    their own budget (none when it runs out)."""
    try:
        with deadline(QUESTION_BUDGET):
            out = []
            for diagnosis, feedback, m in _alternatives(problem, q, cmp.expected_m):
                try:
                    (values,) = evaluate(problem, [m], cmp.pts.values)
                    out.append(_Known(diagnosis, feedback, m.shape, values))
                except Exception as exc:  # noqa: BLE001 - raised for the answer that meets it
                    out.append(_Known(diagnosis, feedback, m.shape, None, exc))
            return tuple(out)
    except Timeout:
        return ()
    except Exception as exc:  # noqa: BLE001 - raised for each answer that needs them, as before
        return exc


def _alternatives(problem: Problem, q: ArrayQuestion, expected_m: Matrix) -> list[tuple[str, str, Matrix]]:
    """Known wrong answers of this question: a missing additive term, the wrong variable, the forward value."""
    key = (id(problem), q.id)
    hit = _ALTERNATIVES.get(key)
    if hit is not None and hit[0] is problem:
        return hit[1]
    model: ArrayModel = problem.arrays
    names = model.local_names()
    label_q = _label(q)
    out: list[tuple[str, str, Matrix]] = []
    for sign, term in _terms(model, q.of):
        try:
            g = derivative(model, read(term, names, limits=TEACHER_LIMITS).value, q.wrt)
        except (ExpressionError, ValueError):
            continue
        if g.shape == expected_m.shape and any(v != 0 for v in g) and g != expected_m:
            out.append(("missing-term", f"Your answer is missing the gradient of the term {term} of {q.of}: "
                        f"{label_q} adds up the gradients of every term.", expected_m - sign * g))
    of_value = read(q.of, names, limits=TEACHER_LIMITS).value
    others = [s.name for s in model.symbols if not s.fixed] + [s.name for s in model.stages]
    for other in others:
        if other == q.wrt or model.shape_of(other) != model.shape_of(q.wrt):
            continue
        g = derivative(model, of_value, other)
        out.append(("wrt", f"This is d {q.of} / d {other}, the gradient with respect to {other}; "
                    f"the question asks for {label_q}.", g))
    out += _slipped_locals(model, q, of_value, expected_m, label_q)
    composed = model.compose(of_value)
    if composed.shape == expected_m.shape:
        out.append(("forward", f"This is the forward value of {q.of}, not its derivative.", composed))
    _ALTERNATIVES[key] = (problem, out)
    if len(_ALTERNATIVES) > 256:
        _ALTERNATIVES.pop(next(iter(_ALTERNATIVES)))
    return out


def _slipped_locals(model: ArrayModel, q: ArrayQuestion, of_value: Matrix, expected_m: Matrix,
                    label_q: str) -> list[tuple[str, str, Matrix]]:
    """The derivative with an activation's local gradient slipped the same way in every entry.

    The rows of ``graph_mistakes.MUTATIONS`` (sigmoid's value where sigmoid' belongs, relu'
    taken as 1, tanh' as 1 - tanh ...), applied to the entry-by-entry derivative.
    """
    from gradcheck.graph_mistakes import MUTATIONS

    keep = q.wrt if model.stage(q.wrt) is not None else None
    f = model.compose(of_value, keep=keep)
    variables = list(entry_symbols(q.wrt, model.shape_of(q.wrt)))
    cells = list(f) if f.shape != (1, 1) else [f[0, 0]]
    slipped = [slips for fp in cells for slips in _mutated_row(fp, variables)]
    forward = dict(zip(variables, model.composed[keep], strict=True)) if keep is not None else {}
    out = []
    for k in sorted({k for slips in slipped for k in slips}):
        kind, function = MUTATIONS[k].kind, MUTATIONS[k].function
        # An entry no slip touches is the truth's own entry (d fp / d v, forward values put in).
        entries = [slips[k].xreplace(forward) if k in slips else right
                   for slips, right in zip(slipped, expected_m, strict=True)]
        m = Matrix(expected_m.rows, expected_m.cols, entries)
        if m == expected_m:
            continue
        says = MUTATIONS[k].says.format(u="u")
        if kind == "activation":
            text = (f"The local gradient of {function} uses its value where its derivative belongs: "
                    f"the derivative of {function}(u) was written as {says}. The forward pass "
                    f"computes {function}, the backward pass multiplies by its derivative.")
        else:
            text = (f"The local gradient of {function} is wrong: the derivative of {function}(u) was "
                    f"written as {says}.")
        out.append((kind, text, m))
    return out


def _mutated_row(expr: sympy.Expr, variables: list[sympy.Symbol]) -> list[dict[int, sympy.Expr]]:
    """``graph_mistakes.mutated_derivatives(expr, v)`` for each v, as {row of MUTATIONS: formula}.

    The same chain rule (every site of the function with a known slip replaced by a symbol s,
    d body / d v + sum of d body / d s * wrong * d u / d v), with what does not depend on v
    derived once: d body / d s per set of sites, d body / d v per function, not per mutation.
    """
    from gradcheck.graph_mistakes import MUTATIONS, activation_sites

    bodies: dict[tuple[sympy.Expr, ...], tuple[list[sympy.Dummy], sympy.Expr, list[sympy.Expr]]] = {}
    rows = []
    for v in variables:
        sites = [(e, name, u) for e, name, u in activation_sites(expr, v) if name != "power"]
        found: dict[int, sympy.Expr] = {}
        for function in dict.fromkeys(m.function for m in MUTATIONS):
            mine = [(e, u) for e, name, u in sites if name == function]
            if not mine:
                continue
            key = tuple(e for e, _ in mine)
            if key not in bodies:
                dummies = [sympy.Dummy("s") for _ in mine]
                body = expr.xreplace({e: d for (e, _), d in zip(mine, dummies, strict=True)})
                bodies[key] = (dummies, body, [sympy.diff(body, d) for d in dummies])
            dummies, body, by_site = bodies[key]
            base = sympy.diff(body, v)
            inner = [sympy.diff(u, v) for _, u in mine]
            back = {d: e for (e, _), d in zip(mine, dummies, strict=True)}
            for k, mutation in enumerate(MUTATIONS):
                if mutation.function != function:
                    continue
                mutated = base
                for (e, u), outer, du in zip(mine, by_site, inner, strict=True):
                    mutated += outer * mutation.wrong(u, e) * du
                found[k] = mutated.xreplace(back)
        rows.append(found)
    return rows


def _terms(model: ArrayModel, of: str) -> list[tuple[int, str]]:
    """The additive terms of ``of`` at the top level, a stage name replaced by its definition once."""
    stage = model.stage(of) if of.isidentifier() else None
    text = stage.text if stage is not None else of
    terms = _split_terms(text)
    if len(terms) == 1 and terms[0][1].isidentifier() and model.stage(terms[0][1]) is not None:
        inner_stage = model.stage(terms[0][1])
        assert inner_stage is not None
        inner = _split_terms(inner_stage.text)
        terms = [(terms[0][0] * s, t) for s, t in inner]
    return terms if len(terms) > 1 else []


def _split_terms(text: str) -> list[tuple[int, str]]:
    try:
        tokens = tokenize(text, student=False)
    except ExpressionError:
        return [(1, text)]
    depth, start, sign, out = 0, 0, 1, []
    prev = None
    for tok in tokens:
        if tok.value in ("(", "["):
            depth += 1
        elif tok.value in (")", "]"):
            depth -= 1
        elif (depth == 0 and tok.value in ("+", "-") and prev is not None
              and (prev.kind in ("num", "name") or prev.value in (")", "]", ".T"))):
            out.append((sign, text[start:tok.pos].strip()))
            sign = 1 if tok.value == "+" else -1
            start = tok.pos + 1
        if tok.kind == "end":
            out.append((sign, text[start:].strip()))
        prev = tok
    return [(s, t) for s, t in out if t]
